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

export function findRegression(
  skill: string,
  versions: readonly SkillVersionMeta[],
  rows: readonly Pick<TrajectoryRow, "success" | "skillVersion">[],
): Regression | null {
  const active = versions.find((v) => v.status === "active");
  if (!active || active.parent === null) return null;
  const count = (version: number) => {
    const used = rows.filter((r) => r.skillVersion === version && r.success !== null);
    return { n: used.length, ok: used.filter((r) => r.success === true).length };
  };
  const mine = count(active.version);
  const theirs = count(active.parent);
  if (mine.n < MIN_RUNS_FOR_GUARD || theirs.n < MIN_RUNS_FOR_GUARD) return null;
  const a = wilson(mine.ok, mine.n);
  const b = wilson(theirs.ok, theirs.n);
  if (!a || !b || a.high >= b.low) return null;
  return { skill, version: active.version, parent: active.parent, successRate: mine.ok / mine.n, parentRate: theirs.ok / theirs.n, runs: mine.n, parentRuns: theirs.n };
}

export function describeRegression(r: Regression): string {
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  return (
    `${r.skill} v${r.version} does worse than v${r.parent}: ${pct(r.successRate)} of ${r.runs} runs succeeded against ${pct(r.parentRate)} of ${r.parentRuns}, ` +
    `beyond the 95% intervals. Roll back with rollback_skill (CLI: trace2skill rollback ${r.skill}).`
  );
}
