import type { Edit, Patch } from "../analysis/schema.js";
import { addUsage, type Usage } from "../llm/usage.js";
import type { LanguageModel } from "../llm/port.js";
import type { ProvenanceEntry, SkillFolder, ValidationReport } from "../skill/types.js";
import { InvalidInputError } from "../util/errors.js";
import { applyPatch, type SkippedEdit } from "./apply.js";
import { deterministicMerge } from "./deterministic-merge.js";
import { checkEdits, checkPatch, type GuardOptions, type Violation } from "./guards.js";
import {
  runMergeTree,
  type DroppedEdit,
  type MergeCheckpoints,
  type MergeFn,
  type MergeProgress,
} from "./merge-tree.js";
import { modelMerge } from "./model-merge.js";
import { placeEdits, supportCount, type EditEvidence } from "./placement.js";
import { validateAndRepair } from "./repair.js";

/**
 * Stages 3–4 in one call: merge tree → placement by prevalence → guards → apply →
 * validation and repair. Pure apart from the model and the checkpoint hooks.
 */

export const DEFAULT_FAN_IN = 5;
export const DEFAULT_CONCURRENCY = 4;
const MAX_CHANGELOG_EDIT_LINES = 50;

export type ConsolidateStage = "merging" | "placing" | "guarding" | "applying" | "validating";

export interface ConsolidateProgress {
  stage: ConsolidateStage;
  message: string;
  merge?: MergeProgress;
}

export interface ConsolidateOptions {
  base: { version: number; folder: SkillFolder };
  patches: Patch[];
  /**
   * "agent": every merge was submitted by the calling agent and saved in `checkpoints`
   * (see nextMergeWork / acceptMergeSubmission); a missing one is an error, never guessed.
   */
  merge: "model" | "deterministic" | "agent";
  /** Needed for merge "model"; also used for repair rounds when given. */
  model?: LanguageModel;
  /** For merge "model": who merges a group, when not this process (the worker fleet's merge). */
  modelMergeFn?: MergeFn;
  expectedById: Map<string, string | undefined>;
  totalTrajectories: number;
  outcomes?: Map<string, boolean | null>;
  fanIn?: number;
  minSupport?: number;
  referenceSupport?: number;
  concurrency?: number;
  checkpoints?: MergeCheckpoints;
  protectedFiles?: string[];
  maxSkillLines?: number;
  maxReferenceLines?: number;
  maxRepairRounds?: number;
  onProgress?: (p: ConsolidateProgress) => void;
  signal?: AbortSignal;
}

export interface ConsolidateResult {
  folder: SkillFolder;
  /** The final patch as it went into apply (merged, placed, guarded). */
  patch: Patch;
  applied: Edit[];
  skipped: SkippedEdit[];
  /** Dropped by a merge or for support below the minimum. */
  dropped: DroppedEdit[];
  violations: Violation[];
  provenance: ProvenanceEntry[];
  validation: ValidationReport;
  changelog: string[];
  usage: Usage;
  levels: number;
  evidence: EditEvidence[];
  moved: { edit: Edit; to: string }[];
  removedLinks: string[];
  repairNotes: string[];
  repairRounds: number;
}

function describe(edit: Edit): string {
  const where =
    "section" in edit ? ` § ${edit.section}` : "heading" in edit ? ` § ${edit.heading}` : "anchor" in edit ? " (anchored)" : "";
  return `${edit.op} ${edit.file}${where}`;
}

const agentMergeMissing: MergeFn = async (_group, ctx) => {
  throw new InvalidInputError(
    `Merge ${ctx.level}.${ctx.index} (level ${ctx.level}, group ${ctx.index}) has not been submitted yet; fetch the pending merge work items, submit them, then consolidate again.`,
  );
};

/** Per-merge guards: an edit a merge output must not carry is dropped there, with the reason kept in the checkpoint. */
function guardedMerge(merge: MergeFn, guards: Pick<GuardOptions, "expectedById" | "protectedFiles">): MergeFn {
  return async (group, ctx) => {
    const result = await merge(group, ctx);
    const { kept, violations } = checkEdits(result.patch.edits, guards);
    return {
      ...result,
      patch: { ...result.patch, edits: kept },
      dropped: [...result.dropped, ...violations.map((v) => ({ edit: v.edit, reason: `blocked by the ${v.guard} guard: ${v.message}` }))],
    };
  };
}

export function buildChangelog(r: {
  applied: Edit[];
  dropped: DroppedEdit[];
  violations: Violation[];
  skipped: SkippedEdit[];
  moved: { edit: Edit; to: string }[];
  levels: number;
  patches: number;
}): string[] {
  const trajectories = new Set(r.applied.flatMap((e) => e.support)).size;
  const lines = [
    `Merged ${r.patches} proposed patches in ${r.levels} level(s); applied ${r.applied.length} edits backed by ${trajectories} trajectories.`,
  ];
  for (const edit of r.applied.slice(0, MAX_CHANGELOG_EDIT_LINES)) lines.push(`${describe(edit)} (support ${supportCount(edit)})`);
  if (r.applied.length > MAX_CHANGELOG_EDIT_LINES) lines.push(`… and ${r.applied.length - MAX_CHANGELOG_EDIT_LINES} more edits.`);
  const movedTo = [...new Set(r.moved.map((m) => m.to))];
  if (movedTo.length > 0) lines.push(`Moved ${r.moved.length} less common edits into ${movedTo.join(", ")}.`);
  if (r.dropped.length > 0) lines.push(`Dropped ${r.dropped.length} edits (below minimum support or merged away).`);
  if (r.violations.length > 0) lines.push(`Blocked ${r.violations.length} edits by guards (${[...new Set(r.violations.map((v) => v.guard))].join(", ")}).`);
  if (r.skipped.length > 0) lines.push(`Skipped ${r.skipped.length} edits whose target was not found.`);
  return lines;
}

/**
 * The per-edit guards over the proposed patches, before any merge: offending edits are never
 * sent to a model nor merged into others. Every merge tree (model, deterministic, agent)
 * starts from this output, so agent-mode work items and the final run see the same groups.
 */
export function precheckPatches(
  patches: Patch[],
  guards: Pick<GuardOptions, "expectedById" | "protectedFiles">,
): { patches: Patch[]; violations: Violation[] } {
  const checked = patches.map((p) => {
    const { kept, violations } = checkEdits(p.edits, guards);
    return { patch: { ...p, edits: kept }, violations };
  });
  return { patches: checked.map((c) => c.patch), violations: checked.flatMap((c) => c.violations) };
}

export async function consolidate(opts: ConsolidateOptions): Promise<ConsolidateResult> {
  if (opts.merge === "model" && !opts.model) {
    throw new InvalidInputError('Merging with a model needs a model; configure OPENAI_BASE_URL (or pass merge "deterministic").');
  }
  const base = opts.base.folder;
  const guardOptions: GuardOptions = {
    expectedById: opts.expectedById,
    protectedFiles: opts.protectedFiles,
    maxSkillLines: opts.maxSkillLines,
    maxReferenceLines: opts.maxReferenceLines,
  };
  const progress = (stage: ConsolidateStage, message: string, merge?: MergeProgress) =>
    opts.onProgress?.({ stage, message, merge });

  const preChecked = precheckPatches(opts.patches, guardOptions);
  const violations: Violation[] = preChecked.violations;

  const rawMerge: MergeFn =
    opts.merge === "model"
      ? (opts.modelMergeFn ?? modelMerge(opts.model as LanguageModel, base, { outcomes: opts.outcomes }))
      : opts.merge === "agent"
        ? agentMergeMissing
        : deterministicMerge;
  const tree = await runMergeTree({
    patches: preChecked.patches,
    fanIn: opts.fanIn ?? DEFAULT_FAN_IN,
    concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
    merge: guardedMerge(rawMerge, guardOptions),
    checkpoints: opts.checkpoints,
    signal: opts.signal,
    onProgress: (p) => progress("merging", `merge level ${p.level}/${p.levels}: ${p.done}/${p.total} groups`, p),
  });

  opts.signal?.throwIfAborted();
  progress("placing", "placing edits by support");
  const placed = placeEdits(tree.patch, {
    base,
    totalTrajectories: opts.totalTrajectories,
    minSupport: opts.minSupport,
    referenceSupport: opts.referenceSupport,
    outcomes: opts.outcomes,
  });

  progress("guarding", "checking guards");
  const guarded = checkPatch(placed.patch, base, guardOptions);
  violations.push(...guarded.violations);

  progress("applying", `applying ${guarded.patch.edits.length} edits`);
  const applied = applyPatch(base, guarded.patch);

  progress("validating", "validating the new version");
  const repaired = await validateAndRepair(applied.folder, {
    model: opts.model,
    maxRounds: opts.maxRepairRounds,
    protectedFiles: opts.protectedFiles,
    signal: opts.signal,
  });

  const dropped = [...tree.dropped, ...placed.dropped];
  return {
    folder: repaired.folder,
    patch: guarded.patch,
    applied: applied.applied,
    skipped: applied.skipped,
    dropped,
    violations,
    provenance: applied.provenance,
    validation: repaired.report,
    changelog: buildChangelog({
      applied: applied.applied,
      dropped,
      violations,
      skipped: applied.skipped,
      moved: placed.moved,
      levels: tree.levels,
      patches: opts.patches.length,
    }),
    usage: addUsage(tree.usage, repaired.usage),
    levels: tree.levels,
    evidence: placed.evidence,
    moved: placed.moved,
    removedLinks: repaired.removedLinks,
    repairNotes: repaired.notes,
    repairRounds: repaired.rounds,
  };
}
