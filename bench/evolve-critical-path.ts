/**
 * Is evolve as fast as its critical path?
 *   node --import tsx bench/evolve-critical-path.ts [--latency-ms 200] [--concurrency 10] [--fan-in 5]
 *
 * Evolves the sample airline skill from the 100 tau-bench runs against the scripted fake model
 * (tests/helpers/scripted-model.ts) running in a process of its own, every answer delayed by a
 * fixed latency L. Calls themselves cost nothing else, so the best possible wall time is the
 * critical path: ceil(analyses / C) analysis rounds, then, per merge level, ceil(groups / C)
 * rounds — each round one latency L. The table compares each stage's measured wall time with
 * that bound and with the sequential sum (calls × L, what a one-call-at-a-time loop would take).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine.js";
import type { RunStage } from "../src/store/run.js";
import { spawnFakeModelServer } from "../tests/helpers/fake-model-server.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURE = path.join(ROOT, "fixtures/tau-bench/gpt-4o-airline.tasks-00-24.json");
const SKILL = "airline-support";

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1 (got "${value}")`);
  return n;
}

const { values } = parseArgs({
  options: {
    "latency-ms": { type: "string", default: "200" },
    concurrency: { type: "string", default: "10" },
    "fan-in": { type: "string", default: "5" },
  },
});
const latencyMs = positive("latency-ms", values["latency-ms"]);
const concurrency = positive("concurrency", values.concurrency);
const fanIn = positive("fan-in", values["fan-in"]);

/** Groups per merge level: P patches in groups of B, level by level, until one remains. */
function groupsPerLevel(patches: number, b: number): number[] {
  const levels: number[] = [];
  for (let n = patches; n > 1; n = Math.ceil(n / b)) levels.push(Math.ceil(n / b));
  return levels;
}

const rounds = (calls: number) => Math.ceil(calls / concurrency);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const server = await spawnFakeModelServer({ latencyMs });
const dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-bench-evolve-"));
try {
  const engine = await Engine.open({
    dataDir,
    skillsDir: path.join(dataDir, "export"),
    modelConfig: {
      baseURL: server.url,
      apiKey: "bench",
      model: "fake-model",
      timeoutMs: 60_000,
      maxRetries: 0,
      concurrency,
      maxValidationRetries: 2,
    },
    concurrency,
  });
  await engine.importSkill(path.join(ROOT, "skills", SKILL));
  await engine.submit({ raw: await readFile(FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
  await server.reset();

  // Stage changes are read off the run handle; a 1 ms poll is far below one latency unit.
  const seen = new Map<RunStage, number>();
  const started = performance.now();
  const handle = await engine.evolution.startEvolve({ skill: SKILL, fanIn }, { surface: "cli" });
  const poll = setInterval(() => {
    if (!seen.has(handle.run.stage)) seen.set(handle.run.stage, performance.now());
  }, 1);
  await engine.runs.wait(handle.id, Infinity);
  clearInterval(poll);
  const ended = performance.now();

  const view = await engine.runView(handle.id);
  const stats = await server.stats();
  const result = view.result;
  if (view.stage !== "done" || !result) throw new Error(`the run ended ${view.stage}: ${view.errors.join("; ")}`);
  const at = (stage: RunStage, fallback: number) => seen.get(stage) ?? fallback;
  const mergingAt = at("merging", ended);
  const analysisMs = mergingAt - at("analysing", started);
  const mergeMs = at("applying", ended) - mergingAt;
  const checksMs = ended - at("applying", ended);

  const analyses = stats.byKind.analysis ?? 0;
  const merges = stats.byKind.merge ?? 0;
  const repairs = stats.byKind.repair ?? 0;
  const reviews = stats.byKind.review ?? 0;
  const coverage = stats.byKind.coverage ?? 0;
  const levels = groupsPerLevel(result.patches, fanIn);
  const analysisBound = rounds(analyses) * latencyMs;
  const mergeBound = levels.reduce((sum, groups) => sum + rounds(groups), 0) * latencyMs + repairs * latencyMs;
  // The review is one call; the held-out checks (base and draft per held-out failure) run C at a time.
  const checksBound = (reviews + rounds(coverage)) * latencyMs;
  const totalMs = ended - started;

  const rows: [string, number, number, number, number][] = [
    ["analysis", analyses, analysisMs, analysisBound, analyses * latencyMs],
    ["merge + apply", merges + repairs, mergeMs, mergeBound, (merges + repairs) * latencyMs],
    ["review + held-out", reviews + coverage, checksMs, checksBound, (reviews + coverage) * latencyMs],
    ["whole run", stats.count, totalMs, analysisBound + mergeBound + checksBound, stats.count * latencyMs],
  ];
  console.log(
    `evolve of ${result.patches} patches from 100 runs (${coverage / 2} failures held out) — latency L = ${latencyMs} ms, concurrency C = ${concurrency}, fan-in ${fanIn}, ` +
      `${result.levels} merge levels (groups per level ${levels.join(" / ")}), max in flight ${stats.maxInFlight}, ${os.cpus().length} cores`,
  );
  console.log("stage               calls   measured   critical path   overhead   sequential   speed-up vs sequential");
  for (const [stage, calls, measured, bound, sequential] of rows) {
    console.log(
      `${stage.padEnd(18)} ${String(calls).padStart(6)} ${seconds(measured).padStart(10)} ${seconds(bound).padStart(15)} ` +
        `${`${((measured / bound - 1) * 100).toFixed(0)}%`.padStart(10)} ${seconds(sequential).padStart(12)} ${`${(sequential / measured).toFixed(1)}×`.padStart(24)}`,
    );
  }
  console.log(`result: ${result.status} v${result.version ?? "-"}, ${result.applied} edits applied, ${view.usage.calls} model calls counted by the run`);
} finally {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}
