/**
 * Beyond one machine (issue 13, item 5): submit throughput with 1 and 3 replicas, evolve wall
 * time with 1, 2 and 4 workers against the critical path, and the 4-process concurrency test,
 * on the file store and on PostgreSQL.
 *   npm run build && node --import tsx bench/fleet.ts [--latency-ms 200] [--runs 600] [--clients 12] [--worker-slots 4]
 *     [--parts submit,evolve,processes] [--workers 0,1,2,4]
 *
 * Needs Debian's postgresql package: a private cluster is started on 127.0.0.1 and removed at
 * the end (tests/helpers/pg-cluster.ts).
 *
 * - Submit: R `trace2skill serve --http` processes on one store (the file store's data dir, or
 *   one database); `clients` MCP clients over Streamable HTTP, spread round-robin over the
 *   replicas, submit `runs` distinct small runs; every run must be stored exactly once.
 * - Evolve: the sample skill from the 100 fixture runs, model answers delayed by a fixed latency
 *   L (the scripted fake model in a process of its own). With W workers of S slots each, the
 *   analyses and merges run S·W at a time: the critical path is ceil(analyses / S·W) rounds of L,
 *   then ceil(groups / S·W) per merge level; the review and held-out checks stay on the replica
 *   (its own concurrency S). W = 0 is the replica alone, with S slots.
 * - 4 processes: each puts 250 distinct runs at once into one store, as the tests do with 25.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Engine } from "../src/engine.js";
import type { RunStage } from "../src/store/run.js";
import { openStoreAt } from "../src/store/open.js";
import { spawnFakeModelServer } from "../tests/helpers/fake-model-server.js";
import { startCluster } from "../tests/helpers/pg-cluster.js";
import { freePort, runStoreWorker } from "../tests/helpers/processes.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "dist/cli/main.js");
const FIXTURE = path.join(ROOT, "fixtures/tau-bench/gpt-4o-airline.tasks-00-24.json");
const SKILL = "airline-support";

const { values } = parseArgs({
  options: {
    "latency-ms": { type: "string", default: "200" },
    runs: { type: "string", default: "600" },
    clients: { type: "string", default: "12" },
    "worker-slots": { type: "string", default: "4" },
    parts: { type: "string", default: "submit,evolve,processes" },
    workers: { type: "string", default: "0,1,2,4" },
  },
});
const PARTS = new Set(values.parts.split(","));
const WORKER_COUNTS = values.workers.split(",").map(Number);
const L = Number(values["latency-ms"]);
const RUNS = Number(values.runs);
const CLIENTS = Number(values.clients);
const SLOTS = Number(values["worker-slots"]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function cli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, TRACE2SKILL_LOG: "error", ...env }, stdio: ["ignore", "ignore", "pipe"] });
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once("close", () => resolve());
          c.kill("SIGTERM");
        }),
    ),
  );
}

async function waitHealthy(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`replica on port ${port} did not start`);
}

// ---------------------------------------------------------------- submit throughput

async function submitThroughput(store: "file" | "postgres", replicas: number, clusterUrl: string): Promise<{ perSecond: number; stored: number }> {
  const home = await mkdtemp(path.join(os.tmpdir(), "t2s-bench-submit-"));
  const url = store === "postgres" ? await freshDb(clusterUrl) : null;
  const env = { TRACE2SKILL_HOME: home, ...(url ? { TRACE2SKILL_STORE: url } : {}) };
  const ports = await Promise.all(Array.from({ length: replicas }, freePort));
  const servers = ports.map((p) => cli(["serve", "--http", "--port", String(p)], env));
  try {
    await Promise.all(ports.map(waitHealthy));
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const c = new Client({ name: "bench", version: "1" });
        await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${ports[i % replicas]}/mcp`)));
        return c;
      }),
    );
    let next = 0;
    const started = performance.now();
    await Promise.all(
      clients.map(async (c) => {
        for (let i = next++; i < RUNS; i = next++) {
          const task = `bench run ${i}`;
          const r = await c.callTool({ name: "submit_trajectory", arguments: { skill: "bench", trajectory: { task, steps: [{ role: "user", text: task }, { role: "assistant", text: "done" }] }, outcome: { success: i % 2 === 0 } } });
          if (r.isError) throw new Error(`submit failed: ${JSON.stringify(r.content)}`);
        }
      }),
    );
    const ms = performance.now() - started;
    await Promise.all(clients.map((c) => c.close()));
    const check = await openStoreAt(home, url);
    const stored = (await check.listTrajectories({ skill: "bench" })).length;
    if ("close" in check && typeof check.close === "function") await (check as { close(): Promise<void> }).close();
    return { perSecond: (RUNS / ms) * 1000, stored };
  } finally {
    await stopAll(servers);
    await rm(home, { recursive: true, force: true });
  }
}

async function freshDb(clusterUrl: string): Promise<string> {
  const name = `bench_${Math.random().toString(16).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: clusterUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(clusterUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

// ---------------------------------------------------------------- evolve with workers

function groupsPerLevel(patches: number, b: number): number[] {
  const levels: number[] = [];
  for (let n = patches; n > 1; n = Math.ceil(n / b)) levels.push(Math.ceil(n / b));
  return levels;
}

async function evolveWithWorkers(workers: number, clusterUrl: string) {
  const server = await spawnFakeModelServer({ latencyMs: L });
  const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-bench-fleet-"));
  const url = await freshDb(clusterUrl);
  const modelEnv = { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: "bench", TRACE2SKILL_MODEL: "fake-model" };
  const fleet: ChildProcess[] = [];
  try {
    const engine = await Engine.open({
      dataDir: path.join(dir, "replica"),
      skillsDir: path.join(dir, "export"),
      store: url,
      modelConfig: { baseURL: server.url, apiKey: "bench", model: "fake-model", timeoutMs: 60_000, maxRetries: 0, concurrency: SLOTS, maxValidationRetries: 2 },
      concurrency: SLOTS,
    });
    await engine.importSkill(path.join(ROOT, "skills", SKILL));
    await engine.submit({ raw: await readFile(FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
    for (let i = 0; i < workers; i++) {
      fleet.push(cli(["worker", "--concurrency", String(SLOTS)], { TRACE2SKILL_HOME: path.join(dir, `w${i}`), TRACE2SKILL_STORE: url, ...modelEnv }));
    }
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    for (let i = 0; workers > 0; i++) {
      const n = Number((await db.query("SELECT count(*) AS n FROM trace2skill_workers")).rows[0].n);
      if (n === workers) break;
      if (i > 400) throw new Error("workers did not start");
      await sleep(50);
    }
    await db.end();
    await server.reset();
    const seen = new Map<RunStage, number>();
    const started = performance.now();
    const handle = await engine.evolution.startEvolve({ skill: SKILL }, { surface: "cli" });
    const poll = setInterval(() => {
      if (!seen.has(handle.run.stage)) seen.set(handle.run.stage, performance.now());
    }, 1);
    await engine.runs.wait(handle.id, Infinity);
    clearInterval(poll);
    const ended = performance.now();
    const view = await engine.runView(handle.id);
    if (view.stage !== "done" || !view.result) throw new Error(`the run ended ${view.stage}: ${view.errors.join("; ")}`);
    const stats = await server.stats();
    const slots = workers > 0 ? workers * SLOTS : SLOTS;
    const rounds = (calls: number, c: number) => Math.ceil(calls / c);
    const analyses = stats.byKind.analysis ?? 0;
    const levels = groupsPerLevel(view.result.patches, 5);
    const coverage = stats.byKind.coverage ?? 0;
    const reviews = stats.byKind.review ?? 0;
    const bound =
      (rounds(analyses, slots) + levels.reduce((s, g) => s + rounds(g, slots), 0) + (stats.byKind.repair ?? 0) + reviews + rounds(coverage, SLOTS)) * L;
    const hash = (await engine.versionDetail(SKILL, view.result.version as number)).contentHash;
    await engine.close();
    const analysisBound = rounds(analyses, slots) * L;
    return { workers, slots, ms: ended - started, bound, calls: stats.count, hash, analysing: (seen.get("merging") ?? ended) - (seen.get("analysing") ?? started), analysisBound };
  } finally {
    await stopAll(fleet);
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- 4 processes

async function fourProcesses(store: "file" | "postgres", clusterUrl: string): Promise<{ ms: number; stored: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "t2s-bench-4p-"));
  const target = store === "postgres" ? await freshDb(clusterUrl) : dir;
  if (store === "postgres") await (await openStoreAt(dir, target) as unknown as { close(): Promise<void> }).close();
  const started = performance.now();
  await Promise.all([1, 2, 3, 4].map((seed) => runStoreWorker(target, 250, seed)));
  const ms = performance.now() - started;
  const check = await openStoreAt(dir, store === "postgres" ? target : null);
  const stored = (await check.listTrajectories()).length;
  if (store === "postgres") await (check as unknown as { close(): Promise<void> }).close();
  await rm(dir, { recursive: true, force: true });
  return { ms, stored };
}

const cluster = await startCluster();
try {
  console.log(`${os.cpus().length} cores, Node ${process.versions.node}; PostgreSQL on 127.0.0.1 (fsync off, as in the tests)`);
  if (PARTS.has("submit")) console.log(`\nsubmit throughput: ${RUNS} distinct runs by ${CLIENTS} MCP clients over Streamable HTTP`);
  if (PARTS.has("submit")) console.log("store        replicas   runs/s   stored");
  for (const store of PARTS.has("submit") ? (["file", "postgres"] as const) : []) {
    for (const replicas of [1, 3]) {
      const r = await submitThroughput(store, replicas, cluster.url);
      console.log(`${store.padEnd(12)} ${String(replicas).padStart(8)} ${r.perSecond.toFixed(0).padStart(8)} ${`${r.stored}/${RUNS}`.padStart(8)}`);
    }
  }
  if (PARTS.has("evolve")) console.log(`\nevolve of the fixture on PostgreSQL, model latency L = ${L} ms, ${SLOTS} slots per worker (and on the replica)`);
  if (PARTS.has("evolve")) console.log("workers  slots   wall time   critical path   overhead   analysis stage (bound)   model calls   same draft");
  let reference = "";
  for (const w of PARTS.has("evolve") ? WORKER_COUNTS : []) {
    const r = await evolveWithWorkers(w, cluster.url);
    reference ||= r.hash;
    console.log(
      `${String(w).padStart(7)} ${String(r.slots).padStart(6)} ${seconds(r.ms).padStart(11)} ${seconds(r.bound).padStart(15)} ${`${((r.ms / r.bound - 1) * 100).toFixed(0)}%`.padStart(10)} ${`${seconds(r.analysing)} (${seconds(r.analysisBound)})`.padStart(24)} ${String(r.calls).padStart(13)} ${(r.hash === reference ? "yes" : "NO").padStart(12)}`,
    );
  }
  if (PARTS.has("processes")) console.log("\n4 processes putting 250 distinct runs each at once");
  if (PARTS.has("processes")) console.log("store        wall time   stored");
  for (const store of PARTS.has("processes") ? (["file", "postgres"] as const) : []) {
    const r = await fourProcesses(store, cluster.url);
    console.log(`${store.padEnd(12)} ${seconds(r.ms).padStart(9)} ${`${r.stored}/1000`.padStart(8)}`);
  }
} finally {
  cluster.stop();
}
