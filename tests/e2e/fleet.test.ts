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
      const jobs = await db.query<{ name: string; state: string; n: string }>("SELECT name, state, count(*) AS n FROM pgboss.job GROUP BY name, state ORDER BY name, state");
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

if (!pgUrl) it.skip(`the worker fleet: skipped, ${pgMissing}`, () => undefined);
