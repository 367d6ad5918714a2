import { parseArgs } from "node:util";
import { startWorker } from "../../fleet/worker.js";
import { OpenAICompatibleModel } from "../../llm/openai-compatible.js";
import { PgStore } from "../../store/postgres/pg-store.js";
import { GLOBAL_HELP, GLOBAL_OPTIONS, MODEL_HELP, MODEL_OPTIONS, UsageError, openEngine, out, type Command } from "../context.js";

export const workerCommand: Command = {
  name: "worker",
  summary: "take analysis and merge jobs of evolve runs from a PostgreSQL store (a worker of the fleet)",
  help: `Usage: trace2skill worker --store postgres://… [--concurrency <n>] [model options]

Joins the worker fleet of a PostgreSQL store: while it runs, evolve runs on any server of
that store hand their analyses and model merges to the fleet's workers instead of making the
model calls themselves. A worker needs the same model as the servers (jobs name the model they
want; a worker with another model refuses them). Jobs are retried (twice) on failure and taken
over by another worker when one dies; each result takes effect once. Stop with Ctrl-C (it
finishes the jobs it holds). See docs/team.md.

${MODEL_HELP.replace(/\n.*--provider.*$/m, "")}

${GLOBAL_HELP}`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...MODEL_OPTIONS }, allowPositionals: false });
    const engine = await openEngine(values);
    if (!(engine.store instanceof PgStore)) {
      throw new UsageError("A worker takes jobs from a PostgreSQL store: give --store postgres://… (or TRACE2SKILL_STORE). With the file store, the server does all the work itself.");
    }
    const config = engine.options.modelConfig;
    if (!config) throw new UsageError("A worker calls the model: configure it as the servers do (OPENAI_BASE_URL, TRACE2SKILL_MODEL, or config.json).");
    const concurrency = engine.options.concurrency ?? config.concurrency ?? 4;
    const worker = await startWorker({ url: engine.store.connectionString, store: engine.store, model: new OpenAICompatibleModel(config), concurrency });
    out.err(`trace2skill worker ${worker.id}: model ${config.model}, ${concurrency} job(s) at a time, store ${engine.store.location}. Ctrl-C to stop.`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await worker.stop();
    await engine.store.close();
    out.err(`trace2skill worker stopped: ${worker.done.analysis} analyses, ${worker.done.merge} merges, ${worker.done.failed} failed job(s).`);
    return 0;
  },
};
