import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";

/**
 * vitest globalSetup: one private PostgreSQL cluster for the whole test run, on 127.0.0.1 and
 * a free port, in a temporary folder, stopped and removed at the end. It uses Debian's
 * postgresql package (installed by .ci/run); `TRACE2SKILL_TEST_PG` (a postgres:// URL of a
 * server where the user may create databases) is used instead when set. Without either, the
 * PostgreSQL tests are skipped and say so.
 *
 * As root (CI), the cluster runs as the `postgres` user the package creates: PostgreSQL refuses
 * to run as root.
 */

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string | null;
    pgMissing: string;
  }
}

function findBin(name: string): string | null {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
      const bin = path.join(root, v, "bin", name);
      if (existsSync(bin)) return bin;
    }
  }
  const which = spawnSync("which", [name], { encoding: "utf8" });
  return which.status === 0 ? which.stdout.trim() : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject): Promise<() => void> {
  const given = process.env.TRACE2SKILL_TEST_PG;
  if (given) {
    project.provide("pgUrl", given);
    project.provide("pgMissing", "");
    return () => undefined;
  }
  const initdb = findBin("initdb");
  const pgCtl = findBin("pg_ctl");
  if (!initdb || !pgCtl) {
    if (process.env.TRACE2SKILL_REQUIRE_PG) throw new Error("TRACE2SKILL_REQUIRE_PG is set but PostgreSQL is not installed (apt-get install postgresql).");
    project.provide("pgUrl", null);
    project.provide("pgMissing", "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does it), and TRACE2SKILL_TEST_PG is not set");
    return () => undefined;
  }
  const root = os.userInfo().uid === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "t2s-pg-"));
  const data = path.join(dir, "data");
  const asUser = (cmd: string, args: string[]) => (root ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] as const : [cmd, args] as const);
  if (root) {
    chmodSync(dir, 0o755);
    const pw = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (pw.status !== 0) throw new Error("Running tests as root needs the postgres user (Debian's postgresql package creates it).");
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const port = await freePort();
  const run = (cmd: string, args: string[]) => {
    const [c, a] = asUser(cmd, args);
    execFileSync(c, a as string[], { stdio: ["ignore", "pipe", "pipe"] });
  };
  run(initdb, ["-D", data, "-U", "t2s", "-A", "trust", "-E", "UTF8", "--no-instructions"]);
  run(pgCtl, [
    "-D",
    data,
    "-l",
    path.join(dir, "log"),
    "-w",
    "-o",
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=300 -c fsync=off -c synchronous_commit=off`,
    "start",
  ]);
  project.provide("pgUrl", `postgres://t2s@127.0.0.1:${port}/postgres`);
  project.provide("pgMissing", "");
  return () => {
    try {
      run(pgCtl, ["-D", data, "-m", "immediate", "stop"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
