import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine.js";
import type { ModelConfig } from "../../src/llm/config.js";
import { homeEnv, startCli } from "../helpers/cli.js";
import { REPO_ROOT, TAU_FIXTURE, callTool, connectInMemory } from "../helpers/mcp.js";
import { freshDatabase, pgMissing, pgUrl } from "../helpers/postgres.js";
import { startScriptedModel } from "../helpers/scripted-model.js";

/**
 * Issue 13, item 3 (done-when): two replicas and three `trace2skill worker` processes on one
 * PostgreSQL database evolve the fixture to the same draft the embedded file store gives; the
 * analyses and merges were done by the workers, through the job queue, each once.
 */

const SKILL = "airline-support";

async function evolveOn(engine: Engine): Promise<{ version: number; hash: string }> {
  const handle = await engine.evolution.startEvolve({ skill: SKILL }, { surface: "cli" });
  await engine.runs.wait(handle.id, Infinity);
  const view = await engine.runView(handle.id);
  if (!view.result?.version) throw new Error(`no draft: ${JSON.stringify(view.errors)}`);
  return { version: view.result.version, hash: (await engine.versionDetail(SKILL, view.result.version)).contentHash };
}

describe.skipIf(!pgUrl)("the worker fleet", () => {
  it("two replicas and three workers evolve the fixture to the same draft as the file store", async () => {
    const { fake, modelConfig } = await startScriptedModel({ latencyMs: 20, config: { concurrency: 4 } });
    const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-fleet-"));
    const workers: ReturnType<typeof startCli>[] = [];
    try {
      // The embedded store: the reference draft.
      const local = await Engine.open({ dataDir: path.join(dir, "local"), skillsDir: path.join(dir, "x0"), modelConfig, concurrency: 4 });
      await local.importSkill(path.join(REPO_ROOT, "skills", SKILL));
      await local.submit({ raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
      const reference = await evolveOn(local);
      const callsAlone = fake.calls.count;

      const url = await freshDatabase();
      const replica = (name: string, config: ModelConfig) =>
        Engine.open({ dataDir: path.join(dir, name), skillsDir: path.join(dir, `x-${name}`), store: url, modelConfig: config, concurrency: 4 });
      const one = await replica("one", modelConfig);
      const two = await replica("two", modelConfig);
      await one.importSkill(path.join(REPO_ROOT, "skills", SKILL));
      const client = await connectInMemory(two);
      expect((await callTool(client, "submit_trajectory", { raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL })).isError).toBeFalsy();

      const env = homeEnv(path.join(dir, "workers"), { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "test", TRACE2SKILL_MODEL: modelConfig.model, TRACE2SKILL_LOG: "info" });
      for (let i = 0; i < 3; i++) workers.push(startCli(["worker", "--store", url, "--concurrency", "3"], { env }));
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      await expect.poll(async () => Number((await db.query("SELECT count(*) AS n FROM trace2skill_workers")).rows[0].n), { timeout: 20_000 }).toBe(3);

      // Started on replica one, followed from replica two.
      const handle = await one.evolution.startEvolve({ skill: SKILL }, { surface: "cli" });
      let view = (await callTool(client, "get_run", { runId: handle.id, waitSeconds: 30 })).structuredContent as { finished: boolean; errors: string[]; result: { version: number | null } | null };
      while (!view.finished) view = (await callTool(client, "get_run", { runId: handle.id, waitSeconds: 30 })).structuredContent as typeof view;
      expect(view.errors).toEqual([]);
      const version = view.result?.version as number;
      expect((await two.versionDetail(SKILL, version)).contentHash).toBe(reference.hash);

      // The workers did the analyses and merges, each job once.
      const jobs = await db.query<{ name: string; state: string; n: string }>(
        "SELECT regexp_replace(name, '-[0-9a-f]{16}$', '') AS name, state, count(*) AS n FROM pgboss.job GROUP BY 1, state ORDER BY 1, state",
      );
      const count = (name: string, state: string) => Number(jobs.rows.find((r) => r.name === name && r.state === state)?.n ?? 0);
      expect(count("trace2skill-analysis", "completed")).toBe(86);
      expect(count("trace2skill-merge", "completed")).toBeGreaterThanOrEqual(17);
      expect(count("trace2skill-analysis", "failed") + count("trace2skill-merge", "failed")).toBe(0);
      const analyses = await db.query("SELECT count(*) AS n FROM analyses");
      expect(Number(analyses.rows[0].n)).toBe(86);
      // The model was asked as often as with one process: nothing was done twice.
      expect(fake.calls.count - callsAlone).toBe(callsAlone);
      await db.end();
      await client.close();
      await Promise.all([one.close(), two.close()]);
    } finally {
      for (const w of workers) w.child.kill("SIGTERM");
      const ends = await Promise.all(workers.map((w) => w.done));
      for (const end of ends) expect(end.stderr).toMatch(/trace2skill worker stopped: \d+ analyses, \d+ merges, 0 failed job\(s\)/);
      await fake.close();
    }
  }, 180_000);
});

describe.skipIf(!pgUrl)("the worker fleet when things go wrong (review, session 4)", () => {
  async function setup(latencyMs: number) {
    const { fake, modelConfig } = await startScriptedModel({ latencyMs, config: { concurrency: 2 } });
    const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-fleet-wrong-"));
    const url = await freshDatabase();
    const engine = await Engine.open({ dataDir: path.join(dir, "replica"), skillsDir: path.join(dir, "x"), store: url, modelConfig, concurrency: 2 });
    await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    await engine.submit({ raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
    const env = (model: string) =>
      homeEnv(path.join(dir, `w-${model}`), { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "test", TRACE2SKILL_MODEL: model, TRACE2SKILL_RUN_HEARTBEAT_MS: "300" });
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const workers = async (n: number) =>
      expect.poll(async () => Number((await db.query("SELECT count(*) AS n FROM trace2skill_workers")).rows[0].n), { timeout: 20_000 }).toBe(n);
    return { fake, modelConfig, engine, url, env, db, workers };
  }

  it("finishes an evolve whose only worker is killed mid-run: the replica takes its jobs back and does them", async () => {
    process.env.TRACE2SKILL_RUN_HEARTBEAT_MS = "300";
    const { fake, engine, url, env, db, workers } = await setup(150);
    try {
      const worker = startCli(["worker", "--store", url, "--concurrency", "2"], { env: env("fake-model") });
      await workers(1);
      const handle = await engine.evolution.startEvolve({ skill: SKILL }, { surface: "cli" });
      await expect.poll(async () => Number((await db.query("SELECT count(*) AS n FROM analyses")).rows[0].n), { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(4);
      worker.child.kill("SIGKILL");
      await worker.done;
      await engine.runs.wait(handle.id, Infinity);
      const view = await engine.runView(handle.id);
      expect(view.stage).toBe("done");
      expect(view.result?.status).toBe("draft");
      expect(view.errors).toEqual([]);
      expect(Number((await db.query("SELECT count(*) AS n FROM analyses")).rows[0].n)).toBe(86);
    } finally {
      delete process.env.TRACE2SKILL_RUN_HEARTBEAT_MS;
      await db.end();
      await engine.close();
      await fake.close();
    }
  }, 120_000);

  it("gives a worker only jobs for its own model", async () => {
    process.env.TRACE2SKILL_RUN_HEARTBEAT_MS = "300";
    const { fake, engine, url, env, db, workers } = await setup(20);
    const started = [startCli(["worker", "--store", url, "--concurrency", "4"], { env: env("other-model") }), startCli(["worker", "--store", url, "--concurrency", "1"], { env: env("fake-model") })];
    try {
      await workers(2);
      const handle = await engine.evolution.startEvolve({ skill: SKILL }, { surface: "cli" });
      await engine.runs.wait(handle.id, Infinity);
      const view = await engine.runView(handle.id);
      expect(view.errors).toEqual([]);
      expect(view.result?.status).toBe("draft");
      const failed = await db.query("SELECT count(*) AS n FROM pgboss.job WHERE state = 'failed'");
      expect(Number(failed.rows[0].n)).toBe(0);
    } finally {
      for (const w of started) w.child.kill("SIGTERM");
      const ends = await Promise.all(started.map((w) => w.done));
      expect(ends[0]?.stderr).toMatch(/stopped: 0 analyses, 0 merges, 0 failed/);
      delete process.env.TRACE2SKILL_RUN_HEARTBEAT_MS;
      await db.end();
      await engine.close();
      await fake.close();
    }
  }, 120_000);
});

if (!pgUrl) it.skip(`the worker fleet: skipped, ${pgMissing}`, () => undefined);
