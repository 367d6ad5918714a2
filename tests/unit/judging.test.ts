import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { judgeHeuristically } from "../../src/judging/heuristic.js";
import { judgeConfigHash, judgeRuns, withJudgedOutcome } from "../../src/judging/judge.js";
import { ingestRaw } from "../../src/trajectory/ingest.js";
import { finaliseTrajectory, TrajectoryDraftSchema, type Step, type Trajectory } from "../../src/trajectory/schema.js";
import { sessionTurns, transcriptAfter } from "../helpers/claude-session.js";
import { fakeModel, startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.js";
import { openTestEngine } from "../helpers/mcp.js";

function run(task: string, steps: Step[]): Trajectory {
  return finaliseTrajectory(TrajectoryDraftSchema.parse({ skill: "coding", task, steps }));
}

const bash = (command: string): Step => ({ role: "assistant", toolCalls: [{ id: "c", name: "Bash", arguments: { command } }] });
const result = (content: string, isError = false): Step => ({ role: "tool", toolResult: { callId: "c", content, isError } });

describe("the heuristic judge reads what a transcript shows", () => {
  it("calls a session with failing tests left at the end and a user objection a failure, citing steps", () => {
    const turns = sessionTurns({ task: "Fix the retry test.", turns: 3, succeeds: false });
    const [t] = ingestRaw(transcriptAfter(turns, 3), { format: "claude-code" }).trajectories;
    const verdict = judgeHeuristically(t!);
    expect(verdict.verdict).toBe("failure");
    expect(verdict.confidence).toBeGreaterThanOrEqual(0.7);
    expect(verdict.reason).toMatch(/last test or build run \(#\d+\) failed/);
    expect(verdict.reason).toMatch(/the user objected at #\d+/);
  });

  it("calls passing tests after the change, the user's thanks and the agent's claim a success", () => {
    const turns = sessionTurns({ task: "Fix the retry test.", turns: 3, succeeds: true });
    const [t] = ingestRaw(transcriptAfter(turns, 3), { format: "claude-code" }).trajectories;
    expect(judgeHeuristically(t!)).toMatchObject({ verdict: "success" });
  });

  it("stays unknown without evidence, and does not take the agent's word alone", () => {
    expect(judgeHeuristically(run("t", [{ role: "user", text: "Rename the variable." }, { role: "assistant", text: "Renamed it." }])).verdict).toBe("unknown");
    const claimOnly = run("t", [{ role: "user", text: "Fix it." }, { role: "assistant", text: "Done, all tests pass now." }]);
    expect(judgeHeuristically(claimOnly).verdict).toBe("unknown");
  });

  it("is not fooled by what review found: 0 failed, a read test file, one failed grep, hedged words", () => {
    const cargo = run("t", [{ role: "user", text: "Fix the parser." }, bash("cargo test"), result("test result: ok. 120 passed; 0 failed; 0 ignored")]);
    expect(judgeHeuristically(cargo)).toMatchObject({ verdict: "success" });
    const pytest = run("t", [{ role: "user", text: "Fix it." }, bash("pytest -q"), result("120 passed, 0 failed, 0 errors in 3.2s")]);
    expect(judgeHeuristically(pytest).verdict).toBe("success");
    const readTest: Step[] = [
      { role: "user", text: "What does the error helper do?" },
      { role: "assistant", toolCalls: [{ id: "r", name: "Read", arguments: { file_path: "src/test/errors.ts" } }] },
      { role: "tool", toolResult: { callId: "r", content: "throw new Error: bad input", isError: false } },
      { role: "assistant", text: "It wraps errors." },
    ];
    expect(judgeHeuristically(run("t", readTest)).verdict).toBe("unknown");
    const grepMiss = run("t", [{ role: "user", text: "Is there a TODO?" }, bash("grep -r TODO src"), result("", true), { role: "assistant", text: "No TODO left." }]);
    expect(judgeHeuristically(grepMiss).verdict).toBe("unknown");
    const broken = run("t", [{ role: "user", text: "Fix it." }, { role: "assistant", text: "Changed it." }, { role: "user", text: "great, now everything is broken" }]);
    expect(judgeHeuristically(broken).reason).not.toMatch(/approved/);
    const hedged = run("t", [{ role: "user", text: "Fix the bug." }, { role: "assistant", text: "The bug is not fixed yet." }]);
    expect(judgeHeuristically(hedged).reason).not.toMatch(/claimed success/);
  });

  it("weighs reverted edits and an error left at the end", () => {
    const t = run("t", [
      { role: "user", text: "Upgrade the dependency." },
      bash("npm install left-pad@2"),
      result("npm ERR! code ERESOLVE", true),
      bash("git checkout -- package.json"),
      result("", false),
      { role: "assistant", text: "I could not resolve the conflict." },
    ]);
    const verdict = judgeHeuristically(t);
    expect(verdict.verdict).toBe("failure");
    expect(verdict.reason).toMatch(/did not get there|reverted/);
  });
});

describe("judging runs", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("judges only unlabelled runs, caches verdicts per judge, and never overrides a recorded outcome", async () => {
    const engine = await openTestEngine();
    const turns = sessionTurns({ task: "Fix the retry test.", turns: 2, succeeds: false });
    const unlabelled = ingestRaw(transcriptAfter(turns, 2), { format: "claude-code", skill: "coding" }).trajectories;
    const labelled = ingestRaw(transcriptAfter(turns, 1), { format: "claude-code", skill: "coding", outcome: { success: true } }).trajectories;
    await engine.store.putTrajectories([...unlabelled, ...labelled]);
    const stored = await Promise.all([...unlabelled, ...labelled].map(async (t) => (await engine.store.getTrajectory(t.id))!));
    const first = await judgeRuns({ store: engine.store, trajectories: stored, judge: "heuristic", concurrency: 2 });
    expect(first).toMatchObject({ unlabelled: 1, judged: 1, failure: 1 });
    const reread = await Promise.all(stored.map(async (t) => (await engine.store.getTrajectory(t.id))!));
    const again = await judgeRuns({ store: engine.store, trajectories: reread, judge: "heuristic", concurrency: 2 });
    expect(again).toMatchObject({ unlabelled: 1, judged: 0, failure: 1 });
    const judgedRun = reread.find((t) => t.id === unlabelled[0]!.id)!;
    expect(judgedRun.judged).toMatchObject({ verdict: "failure", judge: "heuristic", configHash: judgeConfigHash("heuristic") });
    expect(withJudgedOutcome(judgedRun).outcome.success).toBe(false);
    const labelledRun = reread.find((t) => t.id === labelled[0]!.id)!;
    expect(labelledRun.judged).toBeUndefined();
    expect(withJudgedOutcome({ ...labelledRun, judged: judgedRun.judged }).outcome.success).toBe(true);

    // "Unknown" said on purpose undoes the verdict and keeps every judge off the run.
    const marked = await engine.setOutcome(judgedRun.id, { success: null });
    expect(marked.judged).toMatchObject({ verdict: "unknown", judge: "submitted" });
    expect(withJudgedOutcome(marked).outcome.success).toBeNull();
    const after = await judgeRuns({ store: engine.store, trajectories: [marked], judge: "heuristic", concurrency: 1 });
    expect(after).toMatchObject({ unlabelled: 1, judged: 0, unknown: 1 });
  });

  it("asks a model through the real openai client, and records what a garbage reply could not judge", async () => {
    const engine = await openTestEngine();
    const turns = sessionTurns({ task: "Fix the retry test.", turns: 2, succeeds: true });
    const runs = ingestRaw(transcriptAfter(turns, 2), { format: "claude-code", skill: "coding" }).trajectories;
    await engine.store.putTrajectories(runs);
    fake.script([{ json: { verdict: "success", confidence: 0.8, reason: "tests passed at #6" } }]);
    const model = fakeModel(fake);
    const summary = await judgeRuns({ store: engine.store, trajectories: runs, judge: "openai-compatible", model, concurrency: 1 });
    expect(summary).toMatchObject({ judged: 1, success: 1 });
    expect(fake.calls.bodies.at(-1)?.response_format?.json_schema?.name).toBe("judgment");
    expect(JSON.stringify(fake.calls.bodies.at(-1)?.messages)).toContain("outcome judge");
    expect((await engine.store.getTrajectory(runs[0]!.id))?.judged).toMatchObject({ verdict: "success", judge: "openai-compatible" });

    const other = ingestRaw(transcriptAfter(turns, 1), { format: "claude-code", skill: "coding" }).trajectories;
    await engine.store.putTrajectories(other);
    fake.script([{ content: "not json at all" }]);
    const failed = await judgeRuns({ store: engine.store, trajectories: other, judge: "openai-compatible", model, concurrency: 1 });
    expect(failed.judged).toBe(0);
    expect(failed.failures).toHaveLength(1);
    expect((await engine.store.getTrajectory(other[0]!.id))?.judged).toBeUndefined();
  });
});
