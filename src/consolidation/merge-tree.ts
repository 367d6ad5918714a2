import { z } from "zod";
import { EditSchema, PatchSchema, type Edit, type Patch } from "../analysis/schema.js";
import { addUsage, EMPTY_USAGE, UsageSchema, type Usage } from "../llm/usage.js";
import { InvalidInputError } from "../util/errors.js";
import { hashJson } from "../util/hash.js";

/**
 * The hierarchical merge of stage 3: patches are grouped by fan-in B and merged level by
 * level until one remains. Everything here is bookkeeping; the merge itself (model or
 * deterministic) is a function passed in, so the tree is the same for every provider.
 */

export const DroppedEditSchema = z.object({ edit: EditSchema, reason: z.string() });
export type DroppedEdit = z.infer<typeof DroppedEditSchema>;

/** What one merge of a group yields. Dropped edits are kept so the version can list them. */
export const MergeResultSchema = z.object({
  patch: PatchSchema,
  dropped: z.array(DroppedEditSchema).default([]),
  usage: UsageSchema,
});
export type MergeResult = z.infer<typeof MergeResultSchema>;

/** A checkpoint carries the hash of its inputs, so a changed input set is recomputed, not reused. */
export const SavedGroupSchema = z.object({ inputHash: z.string(), result: MergeResultSchema });
export type SavedGroup = z.infer<typeof SavedGroupSchema>;

export const SavedLevelSchema = z.object({ inputHash: z.string(), results: z.array(MergeResultSchema) });
export type SavedLevel = z.infer<typeof SavedLevelSchema>;

export interface MergeContext {
  /** 1-based level of the tree. */
  level: number;
  /** 0-based index of the group within its level. */
  index: number;
  signal?: AbortSignal;
}

export type MergeFn = (group: Patch[], ctx: MergeContext) => Promise<MergeResult>;

/**
 * Where merge results are kept so an interrupted run pays only for what is missing:
 * a group is saved as soon as it is merged (a killed level resumes group by group), and a
 * finished level is also saved whole (one read to skip it on resume, and for inspection).
 */
export interface MergeCheckpoints {
  loadGroup(level: number, index: number): Promise<SavedGroup | null>;
  saveGroup(level: number, index: number, saved: SavedGroup): Promise<void>;
  loadLevel?(level: number): Promise<SavedLevel | null>;
  saveLevel?(level: number, saved: SavedLevel): Promise<void>;
}

export interface MergeProgress {
  level: number;
  levels: number;
  /** Groups of this level finished so far (merged or loaded). */
  done: number;
  total: number;
  /** True when the group just finished came from a checkpoint. */
  fromCheckpoint: boolean;
}

export interface MergeTreeOptions {
  patches: Patch[];
  fanIn: number;
  merge: MergeFn;
  concurrency: number;
  checkpoints?: MergeCheckpoints;
  onProgress?: (p: MergeProgress) => void;
  signal?: AbortSignal;
}

export interface MergeTreeResult {
  patch: Patch;
  /** Edits dropped by any merge of any level (not cited by the merge output). */
  dropped: DroppedEdit[];
  /** Usage of every merge of the tree, checkpointed ones included: the version's full cost. */
  usage: Usage;
  levels: number;
  /** Merges actually run in this call (the rest came from checkpoints or were single-patch groups). */
  mergesRun: number;
}

function checkFanIn(fanIn: number): void {
  if (!Number.isInteger(fanIn) || fanIn < 2) {
    throw new InvalidInputError(`Fan-in must be an integer of at least 2 (got ${fanIn}); the default is 5.`);
  }
}

/**
 * Number of groups at each level: ⌈P/B⌉, then ⌈that/B⌉… down to 1 (⌈log_B P⌉ levels).
 * P = 100, B = 5 → [20, 4, 1]. One patch or none needs no merge: [].
 */
export function planLevels(nPatches: number, fanIn: number): number[] {
  checkFanIn(fanIn);
  const levels: number[] = [];
  let n = nPatches;
  while (n > 1) {
    n = Math.ceil(n / fanIn);
    levels.push(n);
  }
  return levels;
}

/** Consecutive groups of at most `fanIn`; the last one possibly smaller. */
export function groupPatches<T>(items: T[], fanIn: number): T[][] {
  checkFanIn(fanIn);
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += fanIn) groups.push(items.slice(i, i + fanIn));
  return groups;
}

export function groupInputHash(group: Patch[]): string {
  return hashJson(group);
}

/** A group of one has nothing to merge with: it passes through unchanged and costs nothing. */
function passThrough(patch: Patch): MergeResult {
  return { patch, dropped: [], usage: EMPTY_USAGE };
}

async function loadValidGroup(
  checkpoints: MergeCheckpoints | undefined,
  level: number,
  index: number,
  inputHash: string,
): Promise<MergeResult | null> {
  const saved = await checkpoints?.loadGroup(level, index);
  return saved && saved.inputHash === inputHash ? saved.result : null;
}

/**
 * Run `tasks` with at most `limit` in flight; results keep the tasks' order. After the
 * first failure no new task starts, so a failed level stops spending.
 */
async function runLimited<T>(tasks: (() => Promise<T>)[], limit: number, signal?: AbortSignal): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && !failed) {
      signal?.throwIfAborted();
      const i = next++;
      try {
        results[i] = await (tasks[i] as () => Promise<T>)();
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker);
  await Promise.all(workers);
  return results;
}

/** Merge the whole tree and return the single final patch. */
export async function runMergeTree(opts: MergeTreeOptions): Promise<MergeTreeResult> {
  const { fanIn, merge, checkpoints, onProgress, signal } = opts;
  const plan = planLevels(opts.patches.length, fanIn);
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    throw new InvalidInputError(`Concurrency must be a positive integer (got ${opts.concurrency}).`);
  }
  let current = opts.patches;
  let dropped: DroppedEdit[] = [];
  let usage = EMPTY_USAGE;
  let mergesRun = 0;

  for (let li = 0; li < plan.length; li++) {
    const level = li + 1;
    const groups = groupPatches(current, fanIn);
    const levelHash = hashJson(groups.map(groupInputHash));
    const savedLevel = await checkpoints?.loadLevel?.(level);
    let results: MergeResult[];
    if (savedLevel && savedLevel.inputHash === levelHash && savedLevel.results.length === groups.length) {
      results = savedLevel.results;
      onProgress?.({ level, levels: plan.length, done: groups.length, total: groups.length, fromCheckpoint: true });
    } else {
      let done = 0;
      const tasks = groups.map((group, index) => async (): Promise<MergeResult> => {
        const inputHash = groupInputHash(group);
        let result = await loadValidGroup(checkpoints, level, index, inputHash);
        const fromCheckpoint = result !== null;
        if (!result) {
          if (group.length === 1) {
            result = passThrough(group[0] as Patch);
          } else {
            signal?.throwIfAborted();
            result = await merge(group, { level, index, signal });
            mergesRun++;
          }
          await checkpoints?.saveGroup(level, index, { inputHash, result });
        }
        done++;
        onProgress?.({ level, levels: plan.length, done, total: groups.length, fromCheckpoint });
        return result;
      });
      results = await runLimited(tasks, opts.concurrency, signal);
      await checkpoints?.saveLevel?.(level, { inputHash: levelHash, results });
    }
    for (const r of results) {
      dropped = dropped.concat(r.dropped);
      usage = addUsage(usage, r.usage);
    }
    current = results.map((r) => r.patch);
  }

  const patch: Patch = current[0] ?? { edits: [], changelog: [] };
  return { patch, dropped, usage, levels: plan.length, mergesRun };
}

export type NextMergeWork =
  | { done: true; result: MergeTreeResult }
  | { done: false; level: number; levels: number; groups: number; pending: { index: number; group: Patch[] }[] };

/**
 * The merge tree driven from outside (agent mode): walks the levels over the saved groups
 * and returns either the final patch or the groups of the lowest unfinished level that
 * still need a merge. Single-patch groups are passed through and saved here.
 */
export async function nextMergeWork(opts: {
  patches: Patch[];
  fanIn: number;
  checkpoints: MergeCheckpoints;
}): Promise<NextMergeWork> {
  const plan = planLevels(opts.patches.length, opts.fanIn);
  let current = opts.patches;
  let dropped: DroppedEdit[] = [];
  let usage = EMPTY_USAGE;
  for (let li = 0; li < plan.length; li++) {
    const level = li + 1;
    const groups = groupPatches(current, opts.fanIn);
    const results: (MergeResult | null)[] = [];
    const pending: { index: number; group: Patch[] }[] = [];
    for (const [index, group] of groups.entries()) {
      const inputHash = groupInputHash(group);
      let result = await loadValidGroup(opts.checkpoints, level, index, inputHash);
      if (!result && group.length === 1) {
        result = passThrough(group[0] as Patch);
        await opts.checkpoints.saveGroup(level, index, { inputHash, result });
      }
      if (!result) pending.push({ index, group });
      results.push(result);
    }
    if (pending.length > 0) return { done: false, level, levels: plan.length, groups: groups.length, pending };
    const complete = results as MergeResult[];
    for (const r of complete) {
      dropped = dropped.concat(r.dropped);
      usage = addUsage(usage, r.usage);
    }
    current = complete.map((r) => r.patch);
  }
  const patch: Patch = current[0] ?? { edits: [], changelog: [] };
  return { done: true, result: { patch, dropped, usage, levels: plan.length, mergesRun: 0 } };
}

/** Every edit of a group, in order: the numbering the merger sees. */
export function flattenGroup(group: Patch[]): Edit[] {
  return group.flatMap((p) => p.edits);
}
