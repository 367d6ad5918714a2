/**
 * A model that fails every call (issue 11, item 7):
 *   node --import tsx bench/model-outage.ts [--mode mixed|500|refused]
 *
 * Evolves the sample skill from the 100 tau-bench runs with the default model settings (4
 * retries with backoff, concurrency 8, 2 validation retries) against a fake OpenAI-compatible
 * server on 127.0.0.1 that answers every call with, in turn, a 429, a 500 and a reply that is
 * not JSON (mixed); or always 500; or an endpoint nobody listens on (refused). Prints how long
 * the run took to give up, how many calls it made, and the error it reported.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { closedPort } from "../tests/helpers/processes.js";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine.js";
import { startFakeOpenAI, type FakeOpenAI } from "../tests/helpers/fake-openai.js";

const { values } = parseArgs({ options: { mode: { type: "string", default: "mixed" } } });
const mode = values.mode as "mixed" | "500" | "refused";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SKILL = "airline-support";


let fake: FakeOpenAI | null = null;
let url: string;
if (mode === "refused") url = `http://127.0.0.1:${await closedPort()}/v1`;
else {
  fake = await startFakeOpenAI();
  fake.script((_body, i) =>
    mode === "500" || i % 3 === 1 ? { status: 500, message: "overloaded" } : i % 3 === 0 ? { status: 429, message: "rate limited" } : { content: "I think the run went fine {not json" },
  );
  url = fake.url;
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-bench-outage-"));
try {
  const engine = await Engine.open({
    dataDir,
    skillsDir: path.join(dataDir, "export"),
    modelConfig: { baseURL: url, apiKey: "bench", model: "fake-model", timeoutMs: 120_000, maxRetries: 4, concurrency: 8, maxValidationRetries: 2 },
    concurrency: 8,
  });
  await engine.importSkill(path.join(ROOT, "skills", SKILL));
  await engine.submit({ raw: await readFile(path.join(ROOT, "fixtures/tau-bench/gpt-4o-airline.tasks-00-24.json"), "utf8"), format: "tau-bench", skill: SKILL });
  const started = performance.now();
  const handle = await engine.evolution.startEvolve({ skill: SKILL, holdout: 0 }, { surface: "cli" });
  await engine.runs.wait(handle.id, Infinity);
  const seconds = (performance.now() - started) / 1000;
  const view = await engine.runView(handle.id);
  console.log(`mode ${mode}: the run ended "${view.stage}" after ${seconds.toFixed(1)} s and ${fake ? fake.calls.count : "no"} model calls`);
  console.log(`error: ${(view.errors.at(-1) ?? "(none)").slice(0, 400)}`);
} finally {
  await fake?.close();
  await rm(dataDir, { recursive: true, force: true });
}
