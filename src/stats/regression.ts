import type { SkillVersionMeta } from "../skill/types.js";
import type { TrajectoryRow } from "../store/store.js";
import { wilson } from "./version-stats.js";

/**
 * The regression guard (issue 12, item 3): the active version is flagged when the runs that
 * used it succeed less often than its parent's, beyond the 95 % intervals (they do not overlap).
 * Only submitted outcomes count; a version needs runs of its own before it can be judged.
 */

export interface Regression {
  skill: string;
  version: number;
  parent: number;
  successRate: number;
  parentRate: number;
  runs: number;
  parentRuns: number;
}

/** Runs a version needs before the guard compares it (fewer say nothing either way). */
export const MIN_RUNS_FOR_GUARD = 5;

/** One version against its parent: worse beyond the intervals, with enough runs on both sides, or null. */
export function versionRegression(
  skill: string,
  version: Pick<SkillVersionMeta, "version" | "parent">,
  rows: readonly Pick<TrajectoryRow, "success" | "skillVersion">[],
): Regression | null {
  if (version.parent === null) return null;
  const count = (v: number) => {
    const used = rows.filter((r) => r.skillVersion === v && r.success !== null);
    return { n: used.length, ok: used.filter((r) => r.success === true).length };
  };
  const mine = count(version.version);
  const theirs = count(version.parent);
  if (mine.n < MIN_RUNS_FOR_GUARD || theirs.n < MIN_RUNS_FOR_GUARD) return null;
  const a = wilson(mine.ok, mine.n);
  const b = wilson(theirs.ok, theirs.n);
  if (!a || !b || a.high >= b.low) return null;
  return { skill, version: version.version, parent: version.parent, successRate: mine.ok / mine.n, parentRate: theirs.ok / theirs.n, runs: mine.n, parentRuns: theirs.n };
}

/** The guard: the active version, if its runs show it worse than its parent's. */
export function findRegression(
  skill: string,
  versions: readonly SkillVersionMeta[],
  rows: readonly Pick<TrajectoryRow, "success" | "skillVersion">[],
): Regression | null {
  const active = versions.find((v) => v.status === "active");
  return active ? versionRegression(skill, active, rows) : null;
}

/** A flagged version and what became of it (its status now: retired after a rollback, or still active). */
export type Flag = Regression & { status: SkillVersionMeta["status"] };

/** Every version, active or not, that its runs show worse than its parent: the flag history of the skill. */
export function flaggedVersions(
  skill: string,
  versions: readonly SkillVersionMeta[],
  rows: readonly Pick<TrajectoryRow, "success" | "skillVersion">[],
): Flag[] {
  return versions.flatMap((v) => {
    const r = versionRegression(skill, v, rows);
    return r ? [{ ...r, status: v.status }] : [];
  });
}

/** A flag in a line: the comparison, and what became of the version. */
export function describeFlag(f: Flag): string {
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const now = f.status === "active" ? "still active" : f.status === "retired" ? "retired (rolled back or replaced)" : f.status;
  return `v${f.version} did worse than v${f.parent}: ${pct(f.successRate)} of ${f.runs} runs against ${pct(f.parentRate)} of ${f.parentRuns}; ${now}.`;
}

/** The flag in words; `advice` (default) adds how to roll back, left out where the guard does it. */
export function describeRegression(r: Regression, advice = true): string {
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  return (
    `${r.skill} v${r.version} does worse than v${r.parent}: ${pct(r.successRate)} of ${r.runs} runs succeeded against ${pct(r.parentRate)} of ${r.parentRuns}, ` +
    `beyond the 95% intervals.${advice ? ` Roll back with rollback_skill (CLI: trace2skill rollback ${r.skill}).` : ""}`
  );
}
