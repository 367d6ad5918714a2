import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PAUSE_WORKER = path.join(ROOT, "tests/helpers/store-pause-worker.ts");

/** A local port nobody listens on (bound, then closed): free to listen on, or sure to refuse a connection. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The same port, for a server about to listen on it. */
export const freePort = closedPort;

const STORE_WORKER = path.join(ROOT, "tests/helpers/store-worker.ts");

/** Runs tests/helpers/store-worker.ts on a data dir or postgres:// URL; resolves with what it printed (parsed JSON). */
export function runStoreWorker(target: string, count: number, seed: string | number, batch?: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", STORE_WORKER, target, String(count), String(seed), ...(batch ? [String(batch)] : [])], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(stdout) as unknown[]) : reject(new Error(`store worker ${seed} exited with ${code}: ${stderr}`))));
  });
}

export interface PauseWorker {
  child: ChildProcess;
  /** Ids acknowledged so far (the worker prints each once its batch is stored). */
  acked: string[];
  done: Promise<number | null>;
  stderr: () => string;
}

/** store-pause-worker.ts in a process of its own: `count` runs in batches of 50 into `dataDir`. */
export function startPauseWorker(dataDir: string, count: number, seed: number, staleMs: number, env: Record<string, string> = {}): PauseWorker {
  const child = spawn(process.execPath, ["--import", "tsx", PAUSE_WORKER, dataDir, String(count), String(seed), "50"], {
    cwd: ROOT,
    env: { ...process.env, TRACE2SKILL_LOCK_STALE_MS: String(staleMs), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acked: string[] = [];
  let buffer = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    acked.push(...lines.filter(Boolean));
  });
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, acked, done: new Promise((resolve) => child.on("close", resolve)), stderr: () => stderr };
}
