import type { ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine.js";
import { groupArtifactName } from "../../src/consolidation/checkpoints.js";
import type { Run } from "../../src/store/run.js";
import { homeEnv, startCli, type CliResult } from "../helpers/cli.js";
import { startFakeOpenAI, type ChatRequestBody, type FakeOpenAI } from "../helpers/fake-openai.js";
import { REPO_ROOT, TAU_FIXTURE, tempDir } from "../helpers/mcp.js";
import { scriptedResponder } from "../helpers/scripted-model.js";

/**
 * A run killed with SIGKILL (no chance to clean up) is reported as interrupted and resumes
 * with `trace2skill evolve --resume`, paying only for what it had not finished: analyses are
 * cached per trajectory, merge groups are checkpointed as run artefacts.
 */

const SKILL = "airline-support";
const RUNS = 100;
const FAN_IN = 5;
/** Merges of 100 patches with fan-in 5: 20 + 4 + 1. */
const LEVEL_ONE_GROUPS = 20;
const MERGES = LEVEL_ONE_GROUPS + 4 + 1;
const CONCURRENCY = 4;

function startWithModel(args: string[], home: string, fake: FakeOpenAI): { child: ChildProcess; done: Promise<CliResult> } {
  const model = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "test", TRACE2SKILL_MODEL: "fake-model", TRACE2SKILL_CONCURRENCY: String(CONCURRENCY) };
  return startCli(args, { env: homeEnv(home, model) });
}

async function until(what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const kindOf = (body: ChatRequestBody): string | undefined => body.response_format?.json_schema?.name;

/** The trajectory an analysis request is about (the rendering starts with its id). */
function trajectoryOf(body: ChatRequestBody): string {
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const id = /^Trajectory ([0-9a-f]{64})/m.exec(user)?.[1];
  if (!id) throw new Error("analysis request without a trajectory id");
  return id;
}

function analysesPerTrajectory(bodies: ChatRequestBody[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const b of bodies.filter((b) => kindOf(b) === "analysis")) counts.set(trajectoryOf(b), (counts.get(trajectoryOf(b)) ?? 0) + 1);
  return counts;
}

/** A data dir with the sample skill as v1 and the 100 tau-bench runs as its evidence. */
async function seededEngine(): Promise<Engine> {
  const home = await tempDir("t2s-resume-");
  const engine = await Engine.open({ dataDir: home, skillsDir: path.join(home, "export") });
  await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
  const submitted = await engine.submit({ raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
  expect(submitted.created).toBe(RUNS);
  return engine;
}

async function onlyRun(engine: Engine): Promise<Run> {
  const runs = await engine.store.listRuns({ skill: SKILL });
  expect(runs).toHaveLength(1);
  return runs[0] as Run;
}

async function killAndCheckInterrupted(child: ChildProcess, done: Promise<CliResult>, engine: Engine, fake: FakeOpenAI): Promise<Run> {
  child.kill("SIGKILL");
  expect((await done).signal).toBe("SIGKILL");
  const run = await onlyRun(engine);
  expect(run.stage).not.toBe("done");
  const shown = await startWithModel(["run", run.id], engine.dataDir, fake).done;
  expect(shown.code, shown.stderr).toBe(0);
  expect(shown.stdout).toContain(`${run.id}: interrupted`);
  expect((await engine.runView(run.id)).stage).toBe("interrupted");
  return run;
}

async function resume(runId: string, engine: Engine, fake: FakeOpenAI): Promise<CliResult> {
  const resumed = await startWithModel(["evolve", "--resume", runId], engine.dataDir, fake).done;
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stdout).toMatch(new RegExp(`^New draft: ${SKILL} v2 \\(from v1\\), run ${runId}$`, "m"));
  expect(resumed.stdout).toMatch(/^Merge: 100 patch\(es\), 3 level\(s\)/m);
  const view = await engine.runView(runId);
  expect(view).toMatchObject({ stage: "done", resultVersion: 2 });
  expect((await engine.store.listRuns({ skill: SKILL })).map((r) => r.id)).toEqual([runId]);
  return resumed;
}

async function savedAnalysisFiles(dataDir: string): Promise<{ trajectoryIds: string[] }[]> {
  const dir = path.join(dataDir, "analyses");
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith(".json"));
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(f.parentPath, f.name), "utf8")) as { trajectoryIds: string[] }));
}

let fake: FakeOpenAI | undefined;
let running: ChildProcess | undefined;

afterEach(async () => {
  if (running?.exitCode === null && running.signalCode === null) running.kill("SIGKILL");
  await fake?.close();
  fake = undefined;
  running = undefined;
});

describe("trace2skill evolve --resume after SIGKILL", () => {
  it("killed while analysing: the finished analyses are not paid for again", async () => {
    const engine = await seededEngine();
    fake = await startFakeOpenAI({ responder: scriptedResponder({ latencyMs: 150 }) });

    const first = startWithModel(["evolve", "--skill", SKILL, "--fan-in", String(FAN_IN), "--holdout", "0"], engine.dataDir, fake);
    running = first.child;
    await until("a quarter of the analyses", async () => (await engine.store.listAnalyses({ skill: SKILL })).length >= RUNS / 4);
    const run = await killAndCheckInterrupted(first.child, first.done, engine, fake);
    expect(run.stage).toBe("analysing");

    const callsBeforeResume = fake.calls.count;
    // What the killed process saved, index rows and also files whose row it did not get to write
    // (a cache hit all the same): both are paid for already.
    const finished = new Set([
      ...(await engine.store.listAnalyses({ skill: SKILL })).flatMap((a) => a.trajectoryIds),
      ...(await savedAnalysisFiles(engine.dataDir)).flatMap((a) => a.trajectoryIds),
    ]);
    expect(finished.size).toBeGreaterThanOrEqual(RUNS / 4);
    expect(finished.size).toBeLessThan(RUNS);

    await resume(run.id, engine, fake);
    const afterResume = fake.calls.bodies.slice(callsBeforeResume).filter((b) => kindOf(b) === "analysis").map(trajectoryOf);
    expect(afterResume.filter((id) => finished.has(id))).toEqual([]);
    expect(afterResume).toHaveLength(RUNS - finished.size);

    const perTrajectory = analysesPerTrajectory(fake.calls.bodies);
    expect(perTrajectory.size).toBe(RUNS);
    // Only work the killed process had not saved is paid twice: requests in flight at the
    // model, or answered but not yet written to the store.
    const requestedBeforeKill = new Set(fake.calls.bodies.slice(0, callsBeforeResume).filter((b) => kindOf(b) === "analysis").map(trajectoryOf));
    const lost = [...requestedBeforeKill].filter((id) => !finished.has(id));
    expect([...perTrajectory].filter(([, n]) => n > 1).map(([id]) => id).sort()).toEqual(lost.sort());
    expect(lost.length).toBeLessThanOrEqual(2 * CONCURRENCY);
    expect(Math.max(...perTrajectory.values())).toBeLessThanOrEqual(2);
    expect(fake.calls.bodies.filter((b) => kindOf(b) === "merge")).toHaveLength(MERGES);
    expect(fake.calls.count).toBeLessThan((RUNS + MERGES) * 1.3);
  });

  it("killed while merging: the merge groups already checkpointed are not merged again", async () => {
    const engine = await seededEngine();
    // Analyses answer at once, merges slowly: the kill lands inside the first merge level.
    const scripted = scriptedResponder();
    fake = await startFakeOpenAI({
      responder: async (body, index) => {
        if (kindOf(body) === "merge") await new Promise((resolve) => setTimeout(resolve, 300));
        return scripted(body, index);
      },
    });

    const first = startWithModel(["evolve", "--skill", SKILL, "--fan-in", String(FAN_IN), "--holdout", "0"], engine.dataDir, fake);
    running = first.child;
    const checkpointed = async (): Promise<number[]> => {
      const [run] = await engine.store.listRuns({ skill: SKILL });
      if (!run) return [];
      const groups = Array.from({ length: LEVEL_ONE_GROUPS }, (_, i) => i);
      const saved = await Promise.all(groups.map((i) => engine.store.readRunArtifact(run.id, groupArtifactName(1, i))));
      return groups.filter((i) => saved[i] !== null);
    };
    await until("a few level-1 merge checkpoints", async () => (await checkpointed()).length >= CONCURRENCY + 1);
    const run = await killAndCheckInterrupted(first.child, first.done, engine, fake);
    expect(run.stage).toBe("merging");

    const saved = await checkpointed();
    expect(saved.length).toBeLessThan(LEVEL_ONE_GROUPS);
    const callsBeforeResume = fake.calls.count;
    expect(fake.calls.bodies.filter((b) => kindOf(b) === "analysis")).toHaveLength(RUNS);

    await resume(run.id, engine, fake);
    const resumedKinds = fake.calls.bodies.slice(callsBeforeResume).map(kindOf);
    expect(resumedKinds.filter((k) => k === "analysis")).toEqual([]);
    // the missing level-1 groups, then levels 2 and 3
    expect(resumedKinds.filter((k) => k === "merge")).toHaveLength(LEVEL_ONE_GROUPS - saved.length + 4 + 1);
    expect(await checkpointed()).toHaveLength(LEVEL_ONE_GROUPS);
    expect(fake.calls.count).toBeLessThan((RUNS + MERGES) * 1.3);
  });
});
