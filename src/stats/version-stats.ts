import type { SkillVersionMeta } from "../skill/types.js";
import type { Trajectory } from "../trajectory/schema.js";

/**
 * Whether a version helps (issue 12, item 2): per version of a skill, the runs that used it,
 * their success rate with a Wilson 95 % interval, mean score, steps and tokens, and the
 * comparison with the parent version. Rates are over submitted outcomes; verdicts of judges
 * (runs nobody labelled) are counted apart, so a judge's guess never moves the figures a user
 * reported. Runs that do not say which version they used are their own row (version null).
 */

export interface Interval {
  low: number;
  high: number;
}

export interface VersionStats {
  version: number | null;
  parent: number | null;
  status: string | null;
  runs: number;
  successes: number;
  failures: number;
  /** Runs with no submitted outcome (judged or not). */
  unknown: number;
  successRate: number | null;
  interval: Interval | null;
  /** Runs nobody labelled, by the judges' verdicts: not in the rate above. */
  judged: { successes: number; failures: number };
  meanScore: number | null;
  meanSteps: number | null;
  meanTokens: number | null;
  /** Against the parent version's runs: difference of success rates, and whether the intervals do not overlap. */
  vsParent: { parent: number; difference: number; separate: boolean; worse: boolean } | null;
}

/** The Wilson score interval of a proportion (95 % by default); null without any trial. */
/** A rate as people read it: "80.0%", or "—" when there is none. */
export function formatRate(x: number | null | undefined): string {
  return x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`;
}

export function wilson(successes: number, n: number, z = 1.959964): Interval | null {
  if (n <= 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

function tokensOf(t: Trajectory): number | null {
  let total = 0;
  let seen = false;
  for (const s of t.steps) {
    if (s.usage?.inputTokens !== undefined || s.usage?.outputTokens !== undefined) {
      seen = true;
      total += (s.usage.inputTokens ?? 0) + (s.usage.outputTokens ?? 0);
    }
  }
  return seen ? total : null;
}

export function versionStats(runs: readonly Trajectory[], versions: readonly SkillVersionMeta[]): VersionStats[] {
  const byVersion = new Map<number | null, Trajectory[]>();
  for (const v of versions) byVersion.set(v.version, []);
  for (const t of runs) {
    const key = t.skillVersion ?? null;
    byVersion.set(key, [...(byVersion.get(key) ?? []), t]);
  }
  const meta = new Map(versions.map((v) => [v.version, v]));
  const rows = [...byVersion.entries()]
    .filter(([version, list]) => version !== null || list.length > 0)
    .map(([version, list]): VersionStats => {
      const successes = list.filter((t) => t.outcome.success === true).length;
      const failures = list.filter((t) => t.outcome.success === false).length;
      const labelled = successes + failures;
      const unlabelled = list.filter((t) => t.outcome.success === null);
      const m = version === null ? undefined : meta.get(version);
      return {
        version,
        parent: m?.parent ?? null,
        status: m?.status ?? null,
        runs: list.length,
        successes,
        failures,
        unknown: list.length - labelled,
        successRate: labelled > 0 ? successes / labelled : null,
        interval: wilson(successes, labelled),
        judged: {
          successes: unlabelled.filter((t) => t.judged?.verdict === "success").length,
          failures: unlabelled.filter((t) => t.judged?.verdict === "failure").length,
        },
        meanScore: mean(list.flatMap((t) => (typeof t.outcome.score === "number" ? [t.outcome.score] : []))),
        meanSteps: mean(list.map((t) => t.steps.length)),
        meanTokens: mean(list.map(tokensOf).filter((n): n is number => n !== null)),
        vsParent: null,
      };
    });
  const byKey = new Map(rows.map((r) => [r.version, r]));
  for (const row of rows) {
    const parent = row.parent === null ? undefined : byKey.get(row.parent);
    if (!parent || row.successRate === null || parent.successRate === null || !row.interval || !parent.interval) continue;
    const separate = row.interval.high < parent.interval.low || row.interval.low > parent.interval.high;
    const difference = row.successRate - parent.successRate;
    row.vsParent = { parent: parent.version as number, difference, separate, worse: separate && difference < 0 };
  }
  return rows.sort((a, b) => (a.version ?? Number.MAX_SAFE_INTEGER) - (b.version ?? Number.MAX_SAFE_INTEGER));
}
