import type { Patch } from "../analysis/schema.js";
import { DEFAULT_FAN_IN, precheckPatches } from "../consolidation/consolidate.js";
import type { ProviderName } from "../llm/port.js";
import type { Run } from "../store/run.js";
import { withJudgedOutcome } from "../judging/judge.js";
import { effectiveSuccess, type Store } from "../store/store.js";
import type { Trajectory } from "../trajectory/schema.js";
import { InvalidInputError, TrajectoryNotFoundError } from "../util/errors.js";
import type { RuleRetirement } from "../skill/types.js";
import type { BaseVersion } from "./base.js";
import { retirementPatch, weighBaseRules } from "./retirement.js";

/**
 * What every stage reads from the store: the runs a skill is evolved from, the patches
 * proposed against a base, and the ground truth the guards keep out of the skill. Shared by
 * the runs (evolve.ts) and by agent-mode work paging (work-queue.ts), so both see the same
 * inputs in the same order.
 */

export const DEFAULT_MIN_SUPPORT = 2;

/** The failed runs among the given runs (or every run of the skill), from the index: what a held-out share is drawn from. */
export async function failedRunIds(store: Store, skill: string, ids?: string[]): Promise<{ pool: string[]; failed: string[] }> {
  const rows = await store.listTrajectories({ skill });
  if (ids && ids.length > 0) {
    // The ids as given (an unknown one is refused later, with its own message).
    const wanted = new Set(ids);
    return { pool: [...wanted], failed: rows.filter((r) => wanted.has(r.id) && effectiveSuccess(r) === false).map((r) => r.id) };
  }
  const pool = latestPerSession(rows);
  return { pool: pool.map((r) => r.id), failed: pool.filter((r) => effectiveSuccess(r) === false).map((r) => r.id) };
}

/**
 * The given runs, or every run of the skill (one per hooked session), as evolution sees them:
 * a judge's decided verdict stands in for an outcome nobody recorded.
 */
export async function trajectoriesFor(store: Store, skill: string, ids?: string[]): Promise<Trajectory[]> {
  return (await storedTrajectoriesFor(store, skill, ids)).map(withJudgedOutcome);
}

/** How many runs an evolve works on, from the index alone; every one may become analysable (unlabelled runs are judged first). */
export async function countRunsFor(store: Store, skill: string, ids?: string[]): Promise<number> {
  if (ids && ids.length > 0) return new Set(ids).size;
  return latestPerSession(await store.listTrajectories({ skill })).length;
}

/** The same runs as stored (submitted outcomes only): what the judges read. */
export async function storedTrajectoriesFor(store: Store, skill: string, ids?: string[]): Promise<Trajectory[]> {
  if (ids && ids.length > 0) {
    const unique = [...new Set(ids)];
    const found = await Promise.all(unique.map((id) => store.getTrajectory(id)));
    return found.map((t, i) => {
      if (!t) throw new TrajectoryNotFoundError(unique[i] as string);
      if (t.skill !== skill) {
        throw new InvalidInputError(`Run ${t.id} is evidence for skill "${t.skill ?? "none"}", not "${skill}"; list only runs of ${skill}.`);
      }
      return t;
    });
  }
  const rows = latestPerSession(await store.listTrajectories({ skill }));
  const all = await Promise.all(rows.map((r) => store.getTrajectory(r.id)));
  return all.filter((t): t is Trajectory => t !== null);
}

/**
 * A Claude Code Stop hook fires after every answer, so one session arrives as a series of
 * growing snapshots tagged `session:<id>`. They are all kept (nothing submitted is lost), but
 * only the most complete snapshot of a session counts as evidence.
 */
export function latestPerSession<T extends { tags: string[]; steps: number; createdAt: string }>(rows: T[]): T[] {
  const best = new Map<string, T>();
  const rest: T[] = [];
  for (const row of rows) {
    const session = row.tags.find((t) => t.startsWith("session:"));
    if (!session) {
      rest.push(row);
      continue;
    }
    const current = best.get(session);
    if (!current || row.steps > current.steps || (row.steps === current.steps && row.createdAt > current.createdAt)) best.set(session, row);
  }
  return [...rest, ...best.values()];
}

/** Which analyses a merge starts from: those of these runs, by this provider. */
export interface PatchScope {
  /** The runs of the evolve run (default: every run of the skill, one per session). */
  trajectoryIds?: string[];
  provider: ProviderName;
  /** Support a rule's retirement needs (runs it misled); default DEFAULT_MIN_SUPPORT. */
  minSupport?: number;
}

/** What a merge starts from: the analysts' patches, then the proposed retirements of learned rules. */
export interface Proposals {
  patches: Patch[];
  /** The base's learned rules that the analysed runs gave verdicts on (retirement.ts). */
  rules: RuleRetirement[];
}

/**
 * The proposed patches against a base, for one run: one analysis per run of its scope (the
 * provider's own when there is one, else the newest), or, for the heuristic, its newest
 * analysis of the whole pool. Analyses of other runs, or made earlier by another provider
 * for the same run, never join a merge twice. The retirement of learned rules that later runs
 * outweigh comes last, as one more patch (retirement.ts).
 */
export async function proposalsFor(store: Store, skill: string, base: BaseVersion, scope: PatchScope): Promise<Proposals> {
  const analyses = await store.listAnalyses({ skill, baseHash: base.hash });
  const newestFirst = [...analyses].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  if (scope.provider === "heuristic") {
    const newest = newestFirst.find((a) => a.provider === "heuristic");
    return { patches: newest && newest.patch.edits.length > 0 ? [newest.patch] : [], rules: [] };
  }
  const runs = new Set((await storedTrajectoriesFor(store, skill, scope.trajectoryIds)).map((t) => t.id));
  const perRun = new Map<string, (typeof analyses)[number]>();
  for (const a of newestFirst) {
    const [only] = a.trajectoryIds;
    if (a.provider === "heuristic" || a.trajectoryIds.length !== 1 || !only || !runs.has(only)) continue;
    const chosen = perRun.get(only);
    if (!chosen || (chosen.provider !== scope.provider && a.provider === scope.provider)) perRun.set(only, a);
  }
  const chosen = [...perRun.values()].sort((a, b) => a.id.localeCompare(b.id));
  const rules = await weighBaseRules(store, skill, base, chosen, scope.minSupport ?? DEFAULT_MIN_SUPPORT);
  const retirement = retirementPatch(base.folder, rules);
  const patches = chosen.map((a) => a.patch).filter((p) => p.edits.length > 0);
  return { patches: retirement ? [...patches, retirement] : patches, rules };
}

export async function patchesFor(store: Store, skill: string, base: BaseVersion, scope: PatchScope): Promise<Patch[]> {
  return (await proposalsFor(store, skill, base, scope)).patches;
}

/** Ground truth of every run that backs an edit: the guards keep its literals out of the skill. */
export async function expectedFor(store: Store, patches: Patch[]): Promise<Map<string, string | undefined>> {
  const expected = new Map<string, string | undefined>();
  const supporting = new Set(patches.flatMap((p) => p.edits.flatMap((e) => e.support)));
  for (const id of supporting) expected.set(id, (await store.getTrajectory(id))?.outcome.expected);
  return expected;
}

/** The patches the merge tree starts from: proposed, then cleared of edits the guards refuse. */
export async function guardedPatchesFor(store: Store, skill: string, base: BaseVersion, scope: PatchScope): Promise<Patch[]> {
  const patches = await patchesFor(store, skill, base, scope);
  return precheckPatches(patches, { expectedById: await expectedFor(store, patches) }).patches;
}

/** Outcome of every run of a skill, for mergers to weigh an edit's support. */
export async function outcomesOf(store: Store, skill: string): Promise<Map<string, boolean | null>> {
  const outcomes = new Map<string, boolean | null>();
  for (const row of await store.listTrajectories({ skill })) outcomes.set(row.id, effectiveSuccess(row));
  return outcomes;
}

export interface RunConfig {
  baseVersion?: number;
  fanIn: number;
  minSupport: number;
  provider?: ProviderName;
  trajectoryIds?: string[];
  /** Failed runs kept out of the analyses, to check the draft on (evolve runs). */
  heldOut?: string[];
}

/** A run's stored config, read defensively (older runs may lack fields). */
export function runConfig(run: Run): RunConfig {
  const c = run.config as Partial<RunConfig>;
  return {
    baseVersion: typeof c.baseVersion === "number" ? c.baseVersion : undefined,
    fanIn: typeof c.fanIn === "number" ? c.fanIn : DEFAULT_FAN_IN,
    minSupport: typeof c.minSupport === "number" ? c.minSupport : DEFAULT_MIN_SUPPORT,
    provider: typeof c.provider === "string" ? (c.provider as ProviderName) : undefined,
    trajectoryIds: Array.isArray(c.trajectoryIds) ? c.trajectoryIds.filter((id): id is string => typeof id === "string") : undefined,
    heldOut: Array.isArray(c.heldOut) ? c.heldOut.filter((id): id is string => typeof id === "string") : undefined,
  };
}
