import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { analysisKey, analystConfig, runAnalyses } from "../../src/analysis/run-analysis.js";
import type { AnalysisReply } from "../../src/analysis/schema.js";
import { OpenAICompatibleModel } from "../../src/llm/openai-compatible.js";
import { scaffoldSkill } from "../../src/skill/scaffold.js";
import { openStore } from "../../src/store/file-store.js";
import type { Store } from "../../src/store/store.js";
import { ingestRaw } from "../../src/trajectory/ingest.js";
import type { Trajectory } from "../../src/trajectory/schema.js";
import { InvalidInputError } from "../../src/util/errors.js";
import { fakeModel, startFakeOpenAI, type ChatRequestBody, type FakeOpenAI } from "../helpers/fake-openai.js";

const FIXTURE = new URL("../../fixtures/tau-bench/gpt-4o-airline.tasks-00-24.json", import.meta.url);
const { trajectories: fixture } = ingestRaw(readFileSync(FIXTURE, "utf8"), { format: "tau-bench", skill: "airline" });
const base = { version: 1, folder: scaffoldSkill("airline", "Help airline customers book, change and cancel flights") };

const REPLY: AnalysisReply = {
  diagnosis: { rootCause: "The agent confirmed the booking with the user before acting.", firstWrongStep: null },
  lessons: [
    {
      kind: "success-habit",
      title: "Look the reservation up before changing it",
      rule: "Fetch the reservation details before any change so the change is checked against what is booked.",
      appliesWhen: "Before changing a reservation",
      evidence: [{ trajectoryId: "x", stepIds: [1] }],
      generalityNote: "Holds for every change request.",
    },
  ],
  edits: [{ op: "append_to_section", file: "SKILL.md", section: "Pitfalls", content: "- Look the reservation up before changing it." }],
  changelog: [],
};

/** The trajectory id a request is about, read from the rendering's first line. */
function trajectoryOf(body: ChatRequestBody): string {
  return /Trajectory ([0-9a-f]{64})/.exec(body.messages[1]?.content ?? "")?.[1] ?? "";
}

let fake: FakeOpenAI;
let model: OpenAICompatibleModel;
let dir: string;
let store: Store;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  // The model's own limit is set high so the analysis fleet's limit is the one measured.
  model = fakeModel(fake, { concurrency: 256 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "t2s-analysis-"));
  store = await openStore(dir);
  // Analyses are of stored runs: a store refuses the analysis of a run it does not hold.
  await store.putTrajectories(fixture);
  fake.setLatency(0);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("runAnalyses with a model", () => {
  it("runs concurrently, isolates a garbage reply, stores each analysis, and caches", async () => {
    const ts = fixture.slice(0, 40);
    const garbageFor = ts[7]!.id;
    fake.script((body) => (trajectoryOf(body) === garbageFor ? { content: "this is not json at all" } : { json: REPLY }));
    const latency = 200;
    const concurrency = 8;
    fake.setLatency(latency);
    const callsBefore = fake.calls.count;
    fake.calls.maxInFlight = 0;
    const progress: number[] = [];

    const started = Date.now();
    const first = await runAnalyses({
      store,
      skill: "airline",
      base,
      trajectories: ts,
      provider: "openai-compatible",
      model,
      concurrency,
      onProgress: (done) => progress.push(done),
    });
    const elapsed = Date.now() - started;

    // ≈ ceil(N / concurrency) round-trips, far from N of them (slack for store writes and a busy CI).
    const rounds = Math.ceil(ts.length / concurrency);
    expect(elapsed).toBeGreaterThanOrEqual(rounds * latency * 0.9);
    expect(elapsed).toBeLessThan(rounds * latency + (ts.length * latency) / 3);
    expect(fake.calls.maxInFlight).toBe(concurrency);
    expect(fake.calls.count - callsBefore).toBe(ts.length);

    expect(first.failures).toEqual([{ trajectoryId: garbageFor, error: expect.any(String) }]);
    expect(first.analyses).toHaveLength(ts.length - 1);
    expect(first.cached).toBe(0);
    expect(first.usage.calls).toBe(ts.length - 1);
    expect(progress).toEqual(Array.from({ length: ts.length }, (_, i) => i + 1));

    for (const a of first.analyses) {
      const t = ts.find((x) => x.id === a.trajectoryIds[0]) as Trajectory;
      expect(a.analyst).toBe(t.outcome.success ? "success" : "error");
      expect(a.lessons[0]!.support).toEqual([t.id]);
      expect(await store.getAnalysis(a.id)).toEqual(a);
    }
    const stored = await store.listAnalyses({ skill: "airline" });
    expect(stored).toHaveLength(ts.length - 1);

    // Same input again: no model call for what is cached; only the failed one is retried.
    fake.setLatency(0);
    fake.script([{ json: REPLY }]);
    const callsBeforeRepeat = fake.calls.count;
    const second = await runAnalyses({ store, skill: "airline", base, trajectories: ts, provider: "openai-compatible", model, concurrency });
    expect(fake.calls.count - callsBeforeRepeat).toBe(1);
    expect(second.cached).toBe(ts.length - 1);
    expect(second.failures).toEqual([]);
    expect(second.usage.calls).toBe(1);

    const third = await runAnalyses({ store, skill: "airline", base, trajectories: ts, provider: "openai-compatible", model, concurrency });
    expect(fake.calls.count - callsBeforeRepeat).toBe(1);
    expect(third.cached).toBe(ts.length);
    expect(third.usage.calls).toBe(0);
  });

  it("re-analyses when the base skill changes, and keys by analyst config", async () => {
    fake.script([{ json: REPLY }]);
    const ts = fixture.slice(0, 2);
    await runAnalyses({ store, skill: "airline", base, trajectories: ts, provider: "openai-compatible", model, concurrency: 2 });
    const before = fake.calls.count;
    const changed = { version: 2, folder: { ...base.folder, files: { "SKILL.md": base.folder.files["SKILL.md"] + "\n- new rule\n" } } };
    const r = await runAnalyses({ store, skill: "airline", base: changed, trajectories: ts, provider: "openai-compatible", model, concurrency: 2 });
    expect(fake.calls.count - before).toBe(2);
    expect(r.cached).toBe(0);

    const config = analystConfig({ provider: "openai-compatible", model: "fake-model", kind: "error" });
    const key = analysisKey({ trajectoryId: ts[0]!.id, base: base.folder, config });
    expect(analysisKey({ trajectoryId: ts[0]!.id, base: base.folder, config: { ...config, budgetTokens: 1000 } })).not.toBe(key);
    expect(analysisKey({ trajectoryId: ts[0]!.id, base: base.folder, config: { ...config, model: "other" } })).not.toBe(key);
  });

  it("skips runs without an outcome and needs a model", async () => {
    const unknown = { ...fixture[0]!, outcome: { success: null } };
    fake.script([{ json: REPLY }]);
    const r = await runAnalyses({ store, skill: "airline", base, trajectories: [unknown], provider: "openai-compatible", model, concurrency: 1 });
    expect(r.analyses).toEqual([]);
    expect(r.skipped).toEqual([{ trajectoryId: unknown.id, reason: expect.stringMatching(/no known outcome/) }]);
    await expect(
      runAnalyses({ store, skill: "airline", base, trajectories: fixture.slice(0, 1), provider: "openai-compatible", concurrency: 1 }),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe("runAnalyses with the heuristic provider", () => {
  it("makes one supported analysis over all runs, cached on repeat, without a model", async () => {
    const callsBefore = fake.calls.count;
    const r = await runAnalyses({ store, skill: "airline", base, trajectories: fixture, provider: "heuristic", concurrency: 4 });
    expect(fake.calls.count).toBe(callsBefore);
    expect(r.analyses).toHaveLength(1);
    const a = r.analyses[0]!;
    expect(a).toMatchObject({ analyst: "heuristic", provider: "heuristic", baseVersion: 1 });
    expect([...a.trajectoryIds].sort()).toEqual(fixture.map((t) => t.id).sort());
    expect(a.lessons.length).toBeGreaterThan(0);
    expect(a.patch.edits).toHaveLength(a.lessons.length);
    // The scaffold has a Pitfalls section: pitfalls are appended to it, not re-created.
    expect(a.patch.edits.some((e) => e.op === "add_section" && e.heading === "Pitfalls")).toBe(false);
    expect(await store.getAnalysis(a.id)).toEqual(a);

    const again = await runAnalyses({ store, skill: "airline", base, trajectories: fixture, provider: "heuristic", concurrency: 4 });
    expect(again.cached).toBe(1);
    expect(again.analyses[0]).toEqual(a);
  });
});
