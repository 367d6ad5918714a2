import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./processes.js";

/**
 * A private PostgreSQL cluster on 127.0.0.1 and a free port, in a temporary folder, from
 * Debian's postgresql package (the tests' globalSetup and the benchmarks use it). As root it
 * runs as the `postgres` user the package creates: PostgreSQL refuses to run as root.
 */

export interface Cluster {
  /** postgres://t2s@127.0.0.1:<port>/postgres: a superuser who may create databases. */
  url: string;
  stop(): void;
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

/** Why no cluster can be started here, or null when one can. */
export function clusterUnavailable(): string | null {
  return findBin("initdb") && findBin("pg_ctl") ? null : "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does it)";
}

export async function startCluster(): Promise<Cluster> {
  const initdb = findBin("initdb");
  const pgCtl = findBin("pg_ctl");
  if (!initdb || !pgCtl) throw new Error(clusterUnavailable() ?? "PostgreSQL is not installed");
  const root = os.userInfo().uid === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "t2s-pg-"));
  const data = path.join(dir, "data");
  if (root) {
    const uid = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (uid.status !== 0) throw new Error("Running as root needs the postgres user (Debian's postgresql package creates it).");
    chmodSync(dir, 0o755);
    chownSync(dir, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
  }
  const run = (cmd: string, args: string[]) =>
    root ? execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: "pipe" }) : execFileSync(cmd, args, { stdio: "pipe" });
  const port = await freePort();
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
  return {
    url: `postgres://t2s@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        run(pgCtl, ["-D", data, "-m", "immediate", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
