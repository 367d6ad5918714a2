import path from "node:path";
import { describe, expect, it } from "vitest";
import { homeEnv, runCli } from "../helpers/cli.js";
import { REPO_ROOT, TAU_FIXTURE, tempDir } from "../helpers/mcp.js";
import { freshDatabase, pgMissing, pgUrl } from "../helpers/postgres.js";

/** Issue 13, item 1 through the built CLI: --store / TRACE2SKILL_STORE choose the PostgreSQL store; doctor checks it. */
describe.skipIf(!pgUrl)("the CLI on a PostgreSQL store", () => {
  it("imports, ingests and evolves into the database, which another data dir then sees", async () => {
    const url = await freshDatabase();
    const a = homeEnv(await tempDir("t2s-cli-pg-a-"));
    const b = homeEnv(await tempDir("t2s-cli-pg-b-"), { TRACE2SKILL_STORE: url });
    expect((await runCli(["import", path.join(REPO_ROOT, "skills/airline-support"), "--store", url], { env: a })).code).toBe(0);
    const ingested = await runCli(["ingest", TAU_FIXTURE, "--skill", "airline-support", "--store", url], { env: a });
    expect(ingested.code, ingested.stderr).toBe(0);
    const evolved = await runCli(["evolve", "--skill", "airline-support", "--store", url], { env: a });
    expect(evolved.code, evolved.stderr).toBe(0);
    // Another machine's data dir, the same database (from the environment).
    const history = await runCli(["history", "airline-support"], { env: b });
    expect(history.stdout).toMatch(/^v2 +draft +evolve from v1/m);
    const doctor = await runCli(["doctor"], { env: b });
    expect(doctor.stdout).toMatch(/✓ store: PostgreSQL at postgres:\/\/.*schema up to date: 100 run\(s\), 1 skill\(s\); no worker alive/);
    // Nothing went into the first data dir's own store.
    expect((await runCli(["runs"], { env: a })).stdout).not.toMatch(/airline-support/);
  }, 120_000);

  it("says what is wrong with a store it cannot use", async () => {
    const env = homeEnv(await tempDir("t2s-cli-pg-bad-"));
    const down = await runCli(["doctor", "--store", "postgres://nobody:pw@127.0.0.1:1/none"], { env });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/✗ store: Cannot use the PostgreSQL store at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
    expect(down.stdout).not.toMatch(/:pw@/);
    // Never the password, whatever the shape of the URL (review, session 4).
    for (const url of ["postgress://t2s:Sup3rSecretPw@127.0.0.1:1/x", " postgres://t2s:Sup3rSecretPw@127.0.0.1:1/x", "postgres://t2s@127.0.0.1:1/x?password=Sup3rSecretPw"]) {
      const res = await runCli(["doctor", "--store", url], { env });
      expect(res.code).toBe(1);
      expect(res.stdout + res.stderr).not.toMatch(/Sup3rSecretPw/);
      expect(res.stdout).toMatch(/✗ store: /);
    }
    const noStore = await runCli(["worker"], { env });
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toMatch(/A worker takes jobs from a PostgreSQL store: give --store postgres:\/\//);
    const noModel = await runCli(["worker", "--store", await freshDatabase()], { env });
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/A worker calls the model/);
    const unknown = await runCli(["skills", "--store", "mysql://x"], { env });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/Unknown store "mysql:\/\/x"/);
  });
});

if (!pgUrl) it.skip(`the CLI on a PostgreSQL store: skipped, ${pgMissing}`, () => undefined);
