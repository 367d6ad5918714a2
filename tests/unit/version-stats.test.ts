import { describe, expect, it } from "vitest";
import { versionStats, wilson } from "../../src/stats/version-stats.js";
import type { SkillVersionMeta } from "../../src/skill/types.js";
import { TrajectoryDraftSchema, trajectoryId, type Trajectory } from "../../src/trajectory/schema.js";

/** Issue 12, item 2 (statistics): known values. */

function run(i: number, version: number | null, success: boolean | null, extra: { score?: number; judged?: "success" | "failure" } = {}): Trajectory {
  const draft = TrajectoryDraftSchema.parse({
    skill: "s",
    task: `task ${i}`,
    skillVersion: version,
    steps: [
      { role: "user", text: `task ${i}`, usage: { inputTokens: 10, outputTokens: 5 } },
      { role: "assistant", text: "ok" },
    ],
    outcome: { success, ...(extra.score === undefined ? {} : { score: extra.score }) },
  });
  const t: Trajectory = { ...draft, id: trajectoryId(draft), createdAt: "2026-11-29T00:00:00Z" };
  return extra.judged ? { ...t, judged: { verdict: extra.judged, confidence: 0.8, reason: "r", judge: "heuristic", configHash: "h", judgedAt: "x" } } : t;
}

const meta = (version: number, parent: number | null): SkillVersionMeta => ({
  skill: "s",
  version,
  parent,
  status: version === 1 ? "retired" : "active",
  origin: "evolve",
  contentHash: `h${version}`,
  createdAt: "x",
  changelog: [],
  runId: null,
  fileCount: 1,
  valid: true,
});

describe("per-version statistics", () => {
  it("computes the Wilson 95% interval (known values)", () => {
    const a = wilson(8, 10);
    expect(a?.low).toBeCloseTo(0.4902, 3);
    expect(a?.high).toBeCloseTo(0.9433, 3);
    const b = wilson(0, 10);
    expect(b?.low).toBe(0);
    expect(b?.high).toBeCloseTo(0.2775, 3);
    const c = wilson(50, 100);
    expect(c?.low).toBeCloseTo(0.4038, 3);
    expect(c?.high).toBeCloseTo(0.5962, 3);
    expect(wilson(0, 0)).toBeNull();
  });

  it("counts each version's runs, compares with the parent, and keeps judged verdicts apart", () => {
    const runs = [
      ...Array.from({ length: 20 }, (_, i) => run(i, 1, i < 18, { score: i < 18 ? 1 : 0 })), // v1: 18/20
      ...Array.from({ length: 20 }, (_, i) => run(100 + i, 2, i < 6)), // v2: 6/20
      run(200, 2, null, { judged: "success" }),
      run(201, 2, null, { judged: "failure" }),
      run(300, null, true),
    ];
    const stats = versionStats(runs, [meta(1, null), meta(2, 1)]);
    expect(stats.map((s) => s.version)).toEqual([1, 2, null]);
    const [v1, v2, unknown] = stats;
    expect(v1).toMatchObject({ runs: 20, successes: 18, failures: 2, successRate: 0.9, meanScore: 0.9, meanSteps: 2, meanTokens: 15 });
    expect(v2).toMatchObject({ runs: 22, successes: 6, failures: 14, unknown: 2, successRate: 0.3, judged: { successes: 1, failures: 1 } });
    expect(v2?.vsParent?.parent).toBe(1);
    expect(v2?.vsParent?.difference).toBeCloseTo(-0.6, 6);
    expect(v2?.vsParent).toMatchObject({ separate: true, worse: true });
    expect(unknown).toMatchObject({ version: null, runs: 1, successes: 1 });
  });

  it("does not call overlapping intervals a difference", () => {
    const runs = [...Array.from({ length: 5 }, (_, i) => run(i, 1, i < 3)), ...Array.from({ length: 5 }, (_, i) => run(10 + i, 2, i < 2))];
    const [, v2] = versionStats(runs, [meta(1, null), meta(2, 1)]);
    expect(v2?.vsParent).toMatchObject({ parent: 1, separate: false, worse: false });
  });
});
