import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { mineHeuristicLessons, normaliseError, PITFALLS_SECTION } from "../../src/analysis/heuristic.js";
import { LessonSchema } from "../../src/analysis/schema.js";
import { ingestRaw } from "../../src/trajectory/ingest.js";
import { finaliseTrajectory, TrajectoryDraftSchema, type Trajectory, type TrajectoryDraftInput } from "../../src/trajectory/schema.js";

const FIXTURE = new URL("../../fixtures/tau-bench/gpt-4o-airline.tasks-00-24.json", import.meta.url);

interface RawRecord {
  reward: number;
  traj: Array<{ role: string; name?: string; content?: string | null; tool_calls?: Array<{ function: { name: string } }> }>;
}

const text = readFileSync(FIXTURE, "utf8");
const raw = JSON.parse(text) as RawRecord[];
const { trajectories } = ingestRaw(text, { format: "tau-bench", skill: "airline" });

/** Facts computed straight from the raw JSON, without the importer's or the miner's logic. */
const won = (r: RawRecord) => r.reward === 1;
const calls = (r: RawRecord, tool: string) =>
  r.traj.some((m) => (m.tool_calls ?? []).some((c) => c.function.name === tool));
const toolNames = [...new Set(raw.flatMap((r) => r.traj.flatMap((m) => (m.tool_calls ?? []).map((c) => c.function.name))))];
const nWon = raw.filter(won).length;
const nLost = raw.length - nWon;

describe("mineHeuristicLessons on the tau-bench fixture", () => {
  const { lessons, edits, observations } = mineHeuristicLessons(trajectories);

  it("lines the importer's runs up with the raw records", () => {
    expect(trajectories).toHaveLength(raw.length);
    trajectories.forEach((t, i) => expect(t.outcome.success).toBe(won(raw[i]!)));
  });

  it("reports that handing over to a human goes with success as an observation, never as a rule", () => {
    const gap = (tool: string) =>
      raw.filter((r) => won(r) && calls(r, tool)).length / nWon - raw.filter((r) => !won(r) && calls(r, tool)).length / nLost;
    const best = toolNames.reduce((a, b) => (gap(b) > gap(a) ? b : a));
    expect(best).toBe("transfer_to_human_agents");
    const s = raw.filter((r) => won(r) && calls(r, best)).length;
    const f = raw.filter((r) => !won(r) && calls(r, best)).length;
    const observation = observations.find((o) => o.includes(`\`${best}\``) && o.includes("succeed"));
    expect(observation).toContain(`${s}/${nWon} successful runs`);
    expect(observation).toContain(`${f}/${nLost} failed runs`);
    expect(observation).toMatch(/a correlation, not a proven cause/);
    expect(lessons.some((l) => l.title.includes(best) || l.rule.includes(best))).toBe(false);
    expect(edits.some((e) => JSON.stringify(e).includes(best))).toBe(false);
  });

  it("writes no correlation into the skill: every rule quotes an error text or a within-task divergence", () => {
    expect(lessons.length).toBeGreaterThan(0);
    for (const l of lessons) {
      expect(l.rule).toMatch(/returned the error "|failed attempts parted from successful ones/);
      expect(l.rule).not.toMatch(/correlation|succeed more often|goes with failure|fail more often/);
    }
    for (const e of edits) expect(JSON.stringify(e)).not.toMatch(/correlation|Statistical pattern/);
    // The base prescribes looking the user up first: no rule steers away from it.
    expect(lessons.some((l) => /avoid|before `search_direct_flight`/.test(l.rule))).toBe(false);
  });

  it("finds the recurring payment-total error of the booking tool", () => {
    const hit = (r: RawRecord) =>
      r.traj.some((m) => m.role === "tool" && m.name === "book_reservation" && (m.content ?? "").startsWith("Error: payment amount does not add up"));
    const runs = raw.filter(hit);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    const s = runs.filter(won).length;
    const lesson = lessons.find((l) => l.title.includes("`book_reservation`") && l.rule.includes("payment amount does not add up"));
    expect(lesson, "an error-signature lesson").toBeDefined();
    expect(lesson!.rule).toContain(`in ${runs.length} runs (${s} successful, ${runs.length - s} failed)`);
    expect(lesson!.support).toHaveLength(runs.length);
    // Run-specific amounts are masked, not copied.
    expect(lesson!.rule).toContain("total price is <n>, but paid <n>");
    const edit = edits.find((e) => e.lessonIds.includes(lesson!.id));
    expect(edit!.op === "add_section" ? edit!.heading : edit!.op === "append_to_section" ? edit!.section : "").toBe(PITFALLS_SECTION);
  });

  it("gives valid lessons whose evidence points at real steps", () => {
    expect(lessons.length).toBeGreaterThanOrEqual(4);
    const byId = new Map(trajectories.map((t) => [t.id, t]));
    for (const l of lessons) {
      expect(() => LessonSchema.parse(l)).not.toThrow();
      for (const e of l.evidence) {
        expect(l.support).toContain(e.trajectoryId);
        const t = byId.get(e.trajectoryId)!;
        expect(e.stepIds.length).toBeGreaterThan(0);
        for (const id of e.stepIds) expect(t.steps[id]).toBeDefined();
      }
    }
    expect(edits).toHaveLength(lessons.length);
  });

  it("is deterministic and ignores runs with an unknown outcome", () => {
    const unknown = trajectories.map((t) => ({ ...t, outcome: { success: null } }));
    expect(mineHeuristicLessons([...trajectories, ...unknown.slice(0, 10)])).toEqual(mineHeuristicLessons(trajectories));
    expect(mineHeuristicLessons(unknown).lessons).toEqual([]);
  });
});

function run(steps: TrajectoryDraftInput["steps"], success: boolean, n: number): Trajectory {
  return finaliseTrajectory(TrajectoryDraftSchema.parse({ task: `task ${n}`, steps, outcome: { success } }));
}

const call = (name: string, id: string): TrajectoryDraftInput["steps"][number] => ({
  role: "assistant",
  toolCalls: [{ id, name, arguments: {} }],
});
const result = (name: string, id: string, content = "ok", isError = false): TrajectoryDraftInput["steps"][number] => ({
  role: "tool",
  toolResult: { callId: id, name, content, isError },
});

describe("mineHeuristicLessons on synthetic runs", () => {
  const good = Array.from({ length: 8 }, (_, i) =>
    run([{ role: "user", text: "do it" }, call("lookup", "a"), result("lookup", "a"), call("write", "b"), result("write", "b")], true, i),
  );
  const bad = Array.from({ length: 8 }, (_, i) =>
    run(
      [{ role: "user", text: "do it" }, call("write", "b"), result("write", "b", `Error: record R${100 + i} locked since 2024-01-0${1 + (i % 9)}`, true)],
      false,
      100 + i,
    ),
  );

  it("finds an error signature as a rule and an order of calls as an observation, without knowing the tools", () => {
    const { lessons, edits, observations } = mineHeuristicLessons([...good, ...bad], {
      base: { name: "x", files: { "SKILL.md": "# X\n\n## Pitfalls\n\n- old\n" }, binaries: {} },
    });
    expect(observations.find((o) => o.startsWith("Call `lookup` before `write`"))).toContain("in 8/8 successful runs (100%) vs 0/8 failed runs (0%)");
    expect(lessons.some((l) => l.title.includes("before `write`"))).toBe(false);
    const sig = lessons.find((l) => l.rule.includes('"Error: record <id> locked since <date>"'));
    expect(sig?.support).toHaveLength(8);
    // "Pitfalls" exists in the base: appended to, never created again.
    expect(edits.filter((e) => e.op === "append_to_section" && e.section === PITFALLS_SECTION).length).toBeGreaterThan(0);
    expect(edits.some((e) => e.op === "add_section")).toBe(false);
  });

  it("turns the first action where failed retries of a task part from successful ones into a rule, unless the base prescribes it", () => {
    const attempt = (task: string, steps: TrajectoryDraftInput["steps"], success: boolean) =>
      finaliseTrajectory(TrajectoryDraftSchema.parse({ task, steps, outcome: { success } }));
    const tasks = ["refund order 1", "refund order 2", "refund order 3"];
    const runs = tasks.flatMap((task) => [
      attempt(task, [{ role: "user", text: task }, call("lookup", "a"), result("lookup", "a"), call("verify", "v"), result("verify", "v"), call("refund", "r"), result("refund", "r")], true),
      attempt(task, [{ role: "user", text: task }, call("lookup", "a"), result("lookup", "a"), call("refund", "r"), result("refund", "r"), { role: "assistant", text: "Refunded." }], false),
    ]);
    const { lessons } = mineHeuristicLessons(runs, { minSupport: 3 });
    const divergence = lessons.find((l) => l.rule.includes("failed attempts parted from successful ones"));
    expect(divergence?.rule).toContain("after `lookup`, the successful attempts called `verify` where the failed ones called `refund`");
    expect(divergence?.rule).toContain("In 3 tasks");
    expect(divergence?.support).toHaveLength(6);
    const prescribing = { name: "x", files: { "SKILL.md": "# X\n\n1. Call `lookup`, then `refund` at once.\n" }, binaries: {} };
    expect(mineHeuristicLessons(runs, { minSupport: 3, base: prescribing }).lessons.some((l) => l.rule.includes("parted"))).toBe(false);
  });

  it("needs minSupport runs", () => {
    expect(mineHeuristicLessons([...good.slice(0, 2), ...bad.slice(0, 2)]).lessons).toEqual([]);
  });
});

describe("normaliseError", () => {
  it("masks run-specific values", () => {
    expect(normaliseError("Error: flight HAT030 not available on date 2024-05-13")).toBe(
      "Error: flight <id> not available on date <date>",
    );
    expect(normaliseError("Error: payment amount does not add up, total price is 375, but paid 299")).toBe(
      "Error: payment amount does not add up, total price is <n>, but paid <n>",
    );
    expect(normaliseError('Error: user "bob" not found\nstack…')).toBe("Error: user <value> not found");
  });
});
