import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { Engine } from "../../src/engine.js";
import { startHttpServer } from "../../src/mcp/http.js";
import { freshDatabase, pgMissing, pgUrl } from "../helpers/postgres.js";
import { REPO_ROOT, TAU_FIXTURE, callTool, connectInMemory, textOf } from "../helpers/mcp.js";
import { startScriptedModel } from "../helpers/scripted-model.js";
import { homeEnv, startCli } from "../helpers/cli.js";
import pg from "pg";

/**
 * Issue 13 (first part): the whole engine on the PostgreSQL store. The fixture evolves to the
 * same draft as on the file store, and two engines on one database (two replicas) share
 * everything: runs submitted to one are evolved by the other, and a run started on one is
 * polled from the other.
 */

const SKILL = "airline-support";

async function evolveFixture(engine: Engine): Promise<{ version: number; hash: string }> {
  await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
  await engine.submit({ raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
  const handle = await engine.evolution.startEvolve({ skill: SKILL, provider: "heuristic" }, { surface: "cli" });
  await engine.runs.wait(handle.id, Infinity);
  const version = (await engine.runView(handle.id)).result?.version;
  if (!version) throw new Error("no draft");
  return { version, hash: (await engine.versionDetail(SKILL, version)).contentHash };
}

describe.skipIf(!pgUrl)("the engine on PostgreSQL", () => {
  it("evolves the fixture to the same draft as the file store", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-pg-engine-"));
    const onFiles = await Engine.open({ dataDir: path.join(dir, "files"), skillsDir: path.join(dir, "export-a") });
    const onPg = await Engine.open({ dataDir: path.join(dir, "pg"), skillsDir: path.join(dir, "export-b"), store: await freshDatabase() });
    const [a, b] = [await evolveFixture(onFiles), await evolveFixture(onPg)];
    expect(b).toEqual(a);
    expect(onPg.versionPath(SKILL, b.version)).toBeNull();
  }, 120_000);

  it("shares runs, versions and evolve runs between two engines on one database", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-pg-replicas-"));
    const url = await freshDatabase();
    const one = await Engine.open({ dataDir: path.join(dir, "one"), skillsDir: path.join(dir, "export-one"), store: url });
    const two = await Engine.open({ dataDir: path.join(dir, "two"), skillsDir: path.join(dir, "export-two"), store: url });
    const clientOne = await connectInMemory(one);
    const clientTwo = await connectInMemory(two);
    await one.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    const submitted = await callTool(clientOne, "submit_trajectory", { raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
    expect(submitted.isError, textOf(submitted)).toBeFalsy();
    const listed = await callTool(clientTwo, "list_skills", {});
    expect(textOf(listed)).toMatch(/airline-support/);
    expect((listed.structuredContent as { skills: { trajectories: { total: number } }[] }).skills[0]?.trajectories.total).toBe(100);
    // Started on two, polled on one.
    const started = await callTool(clientTwo, "evolve_skill", { skill: SKILL, provider: "heuristic", waitSeconds: 0 });
    const runId = (started.structuredContent as { runId: string }).runId;
    let view = (await callTool(clientOne, "get_run", { runId, waitSeconds: 30 })).structuredContent as { finished: boolean; result: { version: number | null } | null };
    while (!view.finished) view = (await callTool(clientOne, "get_run", { runId, waitSeconds: 30 })).structuredContent as typeof view;
    expect(view.result?.version).toBe(2);
    const promoted = await callTool(clientOne, "promote_skill_version", { skill: SKILL, version: 2 });
    expect(promoted.isError, textOf(promoted)).toBeFalsy();
    expect(await two.store.getActiveVersion(SKILL)).toBe(2);
    await clientOne.close();
    await clientTwo.close();
  }, 120_000);
});

if (!pgUrl) it.skip(`the engine on PostgreSQL: skipped, ${pgMissing}`, () => undefined);

describe.skipIf(!pgUrl)("a run shared by two replicas", () => {
  it("is waited on and cancelled from the replica that does not run it", async () => {
    process.env.TRACE2SKILL_RUN_HEARTBEAT_MS = "200";
    const { fake, modelConfig } = await startScriptedModel({ latencyMs: 400, config: { concurrency: 1 } });
    try {
      const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-pg-cancel-"));
      const url = await freshDatabase();
      const runner = await Engine.open({ dataDir: path.join(dir, "one"), skillsDir: path.join(dir, "x1"), store: url, modelConfig, concurrency: 1 });
      const other = await Engine.open({ dataDir: path.join(dir, "two"), skillsDir: path.join(dir, "x2"), store: url });
      await runner.importSkill(path.join(REPO_ROOT, "skills", SKILL));
      await runner.submit({ raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
      const handle = await runner.evolution.startEvolve({ skill: SKILL, holdout: 0 }, { surface: "cli" });
      const client = await connectInMemory(other);
      // get_run on the other replica waits (through the store) instead of answering at once.
      const started = Date.now();
      const polled = await callTool(client, "get_run", { runId: handle.id, waitSeconds: 1 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(polled.structuredContent).toMatchObject({ finished: false, stage: "analysing" });
      const cancel = await callTool(client, "cancel_run", { runId: handle.id });
      expect(cancel.structuredContent).toMatchObject({ cancelled: true, requested: true });
      expect(textOf(cancel)).toMatch(/asked it to stop/);
      const after = await callTool(client, "get_run", { runId: handle.id, waitSeconds: 20 });
      expect(after.structuredContent).toMatchObject({ finished: true, stage: "cancelled" });
      expect((await callTool(client, "cancel_run", { runId: handle.id })).structuredContent).toMatchObject({ cancelled: false });
      await client.close();
    } finally {
      delete process.env.TRACE2SKILL_RUN_HEARTBEAT_MS;
      await fake.close();
    }
  }, 60_000);
});

describe.skipIf(!pgUrl)("promotions across replicas", () => {
  it("reach a subscribed client of another replica at once, through LISTEN/NOTIFY (the poll is 30 s there)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-pg-notify-"));
    const url = await freshDatabase();
    const one = await Engine.open({ dataDir: path.join(dir, "one"), skillsDir: path.join(dir, "x1"), store: url });
    const two = await Engine.open({ dataDir: path.join(dir, "two"), skillsDir: path.join(dir, "x2"), store: url });
    await one.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    const copy = path.join(dir, "copy", SKILL);
    await cp(path.join(REPO_ROOT, "skills", SKILL), copy, { recursive: true });
    await writeFile(path.join(copy, "SKILL.md"), `${await readFile(path.join(copy, "SKILL.md"), "utf8")}\n- A rule of v2.\n`);
    const draft = (await one.importSkill(copy, { activate: false })).version;
    const client = await connectInMemory(two);
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: `skill://${SKILL}/SKILL.md` });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await one.promote(SKILL, draft, { export: false });
    await expect.poll(() => updated, { timeout: 12_000, interval: 50 }).toContain(`skill://${SKILL}/SKILL.md`);
    // Well before the 30 s poll: the notification brought it.
    expect(Date.now() - started).toBeLessThan(10_000);

    // The listening connection is lost (a database restart, a proxy timeout) and the database
    // refuses connections for a few seconds: listening comes back once it can (review, session 4).
    const db = new URL(url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: pgUrl as string });
    await admin.connect();
    const listening = async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'", [db])).rowCount ?? 0;
    await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'", [db]);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await listening()).toBe(0);
    await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
    await expect.poll(listening, { timeout: 10_000 }).toBeGreaterThan(0);
    // One listener comes back, not one per failed attempt (they once filled the server's slots).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await listening()).toBe(1);
    await admin.end();
    updated.length = 0;
    const again = Date.now();
    await one.rollback(SKILL, { export: false });
    await expect.poll(() => updated, { timeout: 12_000, interval: 50 }).toContain(`skill://${SKILL}/SKILL.md`);
    expect(Date.now() - again).toBeLessThan(10_000);
    await client.close();
  });
});

describe.skipIf(!pgUrl)("a replica that dies mid-run", () => {
  it("leaves a run another replica reports interrupted and resumes, without paying again for what was done", async () => {
    const { fake, modelConfig } = await startScriptedModel({ latencyMs: 150 });
    try {
      const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-pg-resume-"));
      const url = await freshDatabase();
      const survivor = await Engine.open({ dataDir: path.join(dir, "two"), skillsDir: path.join(dir, "x2"), store: url, modelConfig, concurrency: 2 });
      await survivor.importSkill(path.join(REPO_ROOT, "skills", SKILL));
      await survivor.submit({ raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
      // Replica one: the CLI in a process of its own, killed (SIGKILL) once some analyses are stored.
      const env = homeEnv(path.join(dir, "one"), { TRACE2SKILL_STORE: url, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "test", TRACE2SKILL_MODEL: modelConfig.model });
      const doomed = startCli(["evolve", "--skill", SKILL, "--concurrency", "2"], { env });
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      await expect.poll(async () => Number((await db.query("SELECT count(*) AS n FROM analyses")).rows[0].n), { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(6);
      doomed.child.kill("SIGKILL");
      await doomed.done;
      const runId = (await db.query<{ id: string }>("SELECT id FROM runs")).rows[0]?.id as string;
      const before = Number((await db.query("SELECT count(*) AS n FROM analyses")).rows[0].n);
      const client = await connectInMemory(survivor);
      const seen = await callTool(client, "get_run", { runId });
      expect(seen.structuredContent).toMatchObject({ stage: "interrupted", finished: false });
      const callsBefore = fake.calls.count;
      const resumed = await callTool(client, "evolve_skill", { resumeRunId: runId, waitSeconds: 50 });
      expect(resumed.isError, textOf(resumed)).toBeFalsy();
      let view = resumed.structuredContent as { finished: boolean; stage: string; result: { status: string } | null };
      while (!view.finished) view = (await callTool(client, "get_run", { runId, waitSeconds: 30 })).structuredContent as typeof view;
      expect(view).toMatchObject({ stage: "done", result: { status: "draft" } });
      // The analyses stored before the kill were not asked for again.
      const analyses = Number((await db.query("SELECT count(*) AS n FROM analyses")).rows[0].n);
      expect(analyses).toBe(86);
      expect(fake.calls.count - callsBefore).toBeLessThanOrEqual(137 - before);
      await db.end();
      await client.close();
    } finally {
      await fake.close();
    }
  }, 120_000);
});

describe.skipIf(!pgUrl)("a replica whose database is out of reach (review, session 4)", () => {
  it("says so in tool errors and in /healthz (503), and works again once it is back", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-pg-down-"));
    const url = await freshDatabase();
    const engine = await Engine.open({ dataDir: path.join(dir, "one"), skillsDir: path.join(dir, "x1"), store: url });
    const idle = await Engine.open({ dataDir: path.join(dir, "two"), skillsDir: path.join(dir, "x2"), store: url });
    await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    const server = await startHttpServer(engine, { port: 0 });
    const client = await connectInMemory(engine);
    const db = new URL(url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: pgUrl as string });
    await admin.connect();
    const health = () => fetch(server.url.replace(/\/mcp$/, "/healthz"));
    try {
      expect((await health()).status).toBe(200);
      await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [db]);
      const listed = await callTool(client, "list_skills", {});
      expect(listed.isError).toBe(true);
      expect(textOf(listed)).toMatch(/^The PostgreSQL store at postgres:\/\/.* cannot be reached \(.*\)\. Check that the server runs/);
      expect(textOf(listed)).not.toMatch(/Internal error/);
      const down = await health();
      expect(down.status).toBe(503);
      // A first session opened on a replica while the database is away does not bring it down (review, session 4:
      // an unhandled rejection ended the process).
      const other = await connectInMemory(idle);
      expect((await callTool(other, "list_skills", {})).isError).toBe(true);
      await other.close();
      expect(await down.json()).toMatchObject({ status: "store unreachable" });
      await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      expect((await callTool(client, "list_skills", {})).isError).toBeFalsy();
      expect((await health()).status).toBe(200);
    } finally {
      await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.end();
      await client.close();
      await server.close();
      await engine.close();
      await idle.close();
    }
  });
});
