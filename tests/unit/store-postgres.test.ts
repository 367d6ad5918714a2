import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/store/postgres/migrations.js";
import { PgStore, redactUrl } from "../../src/store/postgres/pg-store.js";
import { openStoreAt } from "../../src/store/open.js";
import { freshDatabase, pgMissing, pgUrl } from "../helpers/postgres.js";
import { runStoreWorker } from "../helpers/processes.js";
import { newVersion, run, trajectory } from "../helpers/store-fixtures.js";

/**
 * What only the PostgreSQL store has (issue 13, item 1): migrations applied once on start by
 * any number of processes, several processes writing at once (the file store's 4-process test,
 * on the database), and clear errors for a database it cannot use. The shared contract is in
 * store-contract.test.ts.
 */

const runWorker = (target: string, count: number, seed: string) => runStoreWorker(target, count, seed);

describe.skipIf(!pgUrl)("the PostgreSQL store", () => {
  let dataDir: string;
  let url: string;
  const opened: PgStore[] = [];
  const open = async () => {
    const s = await PgStore.open(url, dataDir);
    opened.push(s);
    return s;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-pg-"));
    url = await freshDatabase();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it("applies its migrations once, even when several stores open a new database at once", async () => {
    await Promise.all([open(), open(), open(), open()]);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query<{ version: number }>("SELECT version FROM trace2skill_migrations ORDER BY version");
    await c.end();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it("refuses a database whose schema is newer than this code, and names it without the password", async () => {
    await open();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query("INSERT INTO trace2skill_migrations (version, name) VALUES (999, 'from the future')");
    await c.end();
    const withPassword = url.replace("t2s@", "t2s:secret-pw@");
    await expect(PgStore.open(withPassword, dataDir)).rejects.toThrow(/schema version 999, newer than this trace2skill knows/);
    await expect(PgStore.open(withPassword, dataDir)).rejects.not.toThrow(/secret-pw/);
    expect(redactUrl("postgres://u:pw@h:5/db")).toBe("postgres://u:***@h:5/db");
    // Whatever the shape (review, session 4): an @ or a space in the password, one slash, no scheme, a query password.
    expect(redactUrl("postgres://t2s:p@ss!Secret123@h/db")).toBe("postgres://t2s:***@h/db");
    expect(redactUrl("postgres://t2s:Sec ret123@h/db")).toBe("postgres://t2s:***@h/db");
    expect(redactUrl("postgres:/t2s:Secret123@h/db")).toBe("postgres:/t2s:***@h/db");
    expect(redactUrl("t2s:Secret123@h/db")).toBe("t2s:***@h/db");
    expect(redactUrl('postgres://t2s@h/db?password=Secret123": x')).toBe('postgres://t2s@h/db?password=***": x');
    expect(redactUrl("postgres://t2s@h/db")).toBe("postgres://t2s@h/db");
  });

  it("opens an up-to-date database as a user with rights on its tables only (review, session 4)", async () => {
    await open();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const user = `t2s_rw_${Math.random().toString(16).slice(2, 8)}`;
    await c.query(`CREATE ROLE ${user} LOGIN`);
    await c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await c.query(`GRANT USAGE ON SCHEMA public TO ${user}`);
    await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${user}`);
    await c.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${user}`);
    await c.end();
    const limited = new URL(url);
    limited.username = user;
    const store = await PgStore.open(limited.toString(), dataDir);
    opened.push(store);
    await store.putTrajectory(trajectory("written by a limited user"));
    expect(await store.listTrajectories()).toHaveLength(1);
  });

  it("gives a clear error when the server cannot be reached, and for an unknown store", async () => {
    await expect(PgStore.open("postgres://nobody@127.0.0.1:1/none", dataDir)).rejects.toThrow(/Cannot use the PostgreSQL store at postgres:\/\/nobody@127\.0\.0\.1:1\/none: .*Check that the server runs/);
    await expect(openStoreAt(dataDir, "mysql://x")).rejects.toThrow(/Unknown store "mysql:\/\/x": use a postgres:\/\//);
  });

  it("4 processes putting 25 trajectories each lose nothing", async () => {
    await open();
    const perWorker = await Promise.all(["1", "2", "3", "4"].map((seed) => runWorker(url, 25, seed)));
    const submitted = perWorker.flat() as string[];
    expect(new Set(submitted).size).toBe(100);
    const store = await open();
    const listed = (await store.listTrajectories()).map((r) => r.id);
    expect(new Set(listed)).toEqual(new Set(submitted));
    expect(listed).toHaveLength(100);
  }, 60_000);

  it("4 processes submitting the same 25 runs at once store each exactly once, created by exactly one of them", async () => {
    await open();
    const perWorker = (await Promise.all([1, 2, 3, 4].map(() => runWorker(url, 25, "same")))) as [string, boolean][][];
    const created = new Map<string, number>();
    for (const [id, isNew] of perWorker.flat()) created.set(id, (created.get(id) ?? 0) + (isNew ? 1 : 0));
    expect(created.size).toBe(25);
    expect([...created.values()].every((n) => n === 1)).toBe(true);
    expect(await (await open()).listTrajectories()).toHaveLength(25);
  }, 60_000);

  it("numbers versions without a gap or a repeat when stores in parallel add them", async () => {
    const stores = await Promise.all([open(), open(), open()]);
    await Promise.all(stores.flatMap((s, i) => [0, 1, 2, 3].map((j) => s.addSkillVersion(newVersion("airline", `from ${i}-${j}`)))));
    expect((await stores[0]!.listSkillVersions("airline")).map((m) => m.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    // One active version at a time, whoever promotes.
    await Promise.all(stores.map((s, i) => s.setVersionStatus("airline", i + 2, "active")));
    const active = (await stores[1]!.listSkillVersions("airline")).filter((m) => m.status === "active");
    expect(active).toHaveLength(1);
    expect(await stores[2]!.getActiveVersion("airline")).toBe(active[0]?.version);
  });

  it("runs many claims at once whose callbacks read the store, without starving its own pool (review, session 4)", async () => {
    const store = await open();
    await store.putRun(run("run-busy"));
    await store.writeRunArtifact("run-busy", "result", { status: "needs-work" });
    const claims = Array.from({ length: 14 }, () =>
      store.claimRun("run-busy", async (current) => {
        await store.readRunArtifact("run-busy", "result");
        return { ...current, errors: [] };
      }),
    );
    const results = await Promise.allSettled(claims);
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
  }, 30_000);

  it("merges concurrent partial outcome updates from several stores without losing one", async () => {
    const [a, b, c] = await Promise.all([open(), open(), open()]);
    const t = trajectory("outcome race");
    await a!.putTrajectory(t);
    await Promise.all([a!.mergeOutcome(t.id, { success: false }), b!.mergeOutcome(t.id, { score: 0.25 }), c!.mergeOutcome(t.id, { feedback: "late" })]);
    expect((await a!.getTrajectory(t.id))?.outcome).toMatchObject({ success: false, score: 0.25, feedback: "late" });
  });
});

if (!pgUrl) {
  it.skip(`PostgreSQL store tests skipped: ${pgMissing}`, () => undefined);
}
