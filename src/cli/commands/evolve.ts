import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { Engine, RunView } from "../../engine.js";
import type { CallContext } from "../../evolution/evolve.js";
import { PROVIDERS } from "../../evolution/providers.js";
import type { ProviderName } from "../../llm/port.js";
import { createProgress } from "../progress.js";
import { GLOBAL_HELP, GLOBAL_OPTIONS, MODEL_HELP, MODEL_OPTIONS, UsageError, openEngine, out, type Command } from "../context.js";

const EVOLVE_OPTIONS = {
  ...GLOBAL_OPTIONS,
  ...MODEL_OPTIONS,
  skill: { type: "string" },
  purpose: { type: "string" },
  from: { type: "string", multiple: true },
  format: { type: "string" },
  provider: { type: "string" },
  "base-version": { type: "string" },
  "fan-in": { type: "string" },
  "min-support": { type: "string" },
  holdout: { type: "string" },
  resume: { type: "string" },
} as const;

export function parseProvider(value: string | undefined): ProviderName | undefined {
  if (value === undefined) return undefined;
  if (!(PROVIDERS as readonly string[]).includes(value)) throw new UsageError(`--provider must be one of ${PROVIDERS.join(", ")} (got "${value}").`);
  return value as ProviderName;
}

/** --holdout: a share of the failed runs, 0 to 0.5. */
export function parseShare(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 0.5) throw new UsageError(`--${name} must be a share between 0 and 0.5, e.g. 0.2 (got "${value}"); 0 holds nothing out.`);
  return n;
}

export function parsePositive(name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number of at least ${min} (got "${value}").`);
  return n;
}

function cliContext(json: boolean, label: string): { ctx: CallContext; finish: (summary?: string) => void } {
  const progress = createProgress(label, { json });
  return { ctx: { surface: "cli", onProgress: (done, total, message) => progress.update(done, total, message) }, finish: (s) => progress.done(s) };
}

/** Print a finished run the way a person wants to read it; returns the exit code. */
export function printRun(view: RunView, json: boolean): number {
  if (json) {
    out.json(view);
    return view.stage === "done" ? 0 : 1;
  }
  if (view.stage !== "done") {
    out.err(`Run ${view.runId} ${view.stage}: ${view.errors.at(-1) ?? view.progress.message}`);
    if (view.stage === "interrupted" || view.stage === "failed" || view.stage === "cancelled") {
      out.err(`Resume it with: trace2skill evolve --resume ${view.runId}`);
    }
    return 1;
  }
  const r = view.result;
  if (!r) return 0;
  const u = view.usage;
  if (r.status === "draft" && r.version !== null) {
    out.line(`New draft: ${view.skill} v${r.version} (from v${r.baseVersion}), run ${view.runId}`);
    out.line(folderLine(view.versionPath, view.skill, r.version));
  } else if (r.status === "existing" && r.version !== null) {
    out.line(`No new version: the result equals ${view.skill} v${r.version} — run ${view.runId}`);
    out.line(folderLine(view.versionPath, view.skill, r.version));
  } else {
    out.line(`No new version (${r.status}) — run ${view.runId}`);
  }
  for (const warning of view.errors) out.err(`warning: ${warning}`);
  out.line("");
  for (const line of r.changelog) out.line(`  ${line}`);
  out.line("");
  const observations = r.observations ?? [];
  if (observations.length > 0) {
    out.line("Observations (correlations seen in the runs; not rules, nothing of this went into the skill):");
    for (const line of observations.slice(0, 5)) out.line(`  - ${line.length > 200 ? `${line.slice(0, 199)}…` : line}`);
    if (observations.length > 5) out.line(`  (${observations.length - 5} more in --json)`);
    out.line("");
  }
  out.line(`Merge: ${r.patches} patch(es), ${r.levels} level(s); applied ${r.applied}, dropped ${r.dropped}, blocked ${r.blocked}, skipped ${r.skipped}.`);
  out.line(`Model usage: ${u.calls} call(s), ${u.inputTokens} in / ${u.outputTokens} out tokens, $${u.costUsd.toFixed(4)}.`);
  if ((r.status === "draft" || r.status === "existing") && r.version !== null) {
    out.line("");
    out.line(`Review:   trace2skill diff ${view.skill} ${r.version}`);
    out.line(`Activate: trace2skill promote ${view.skill} ${r.version}`);
  }
  return r.version === null && view.errors.length > 0 ? 1 : 0;
}

async function ingestFrom(engine: Engine, files: string[], skill: string, format: string | undefined): Promise<number> {
  let stored = 0;
  for (const file of files) {
    const text = await readFile(file, "utf8").catch(() => {
      throw new UsageError(`Cannot read --from file ${file}.`);
    });
    const result = await engine.submit({ raw: text, format, skill, fileName: file });
    stored += result.ids.length;
  }
  return stored;
}

/** Run evolve to its end with a progress line; shared by `evolve` and `demo`. */
export async function evolveToEnd(
  engine: Engine,
  input: Parameters<Engine["evolution"]["startEvolve"]>[0],
  json: boolean,
): Promise<RunView> {
  const { ctx, finish } = cliContext(json, "evolve");
  const handle = await engine.evolution.startEvolve(input, ctx);
  const stop = () => engine.runs.cancel(handle.id);
  process.once("SIGINT", stop);
  try {
    await engine.runs.wait(handle.id, Infinity);
  } finally {
    process.off("SIGINT", stop);
    finish();
  }
  return engine.runView(handle.id);
}

export const evolveCommand: Command = {
  name: "evolve",
  summary: "analyse a skill's runs and merge the lessons into a new draft version",
  help: `Usage: trace2skill evolve --skill <name> [--from <file>…] [--purpose "…"] [options]

Runs the whole Trace2Skill loop: analysts read every run of the skill in parallel against the
frozen base version, their patches are merged hierarchically, and the result is stored as a new
DRAFT version (promote it to make it active). Deepens an existing skill, or creates one from
--purpose when the skill has no version yet. Ctrl-C stops the run; --resume continues it,
paying only for what is missing.

Options:
  --skill <name>         the skill to evolve
  --from <file>          ingest these run files first (repeatable; --format to force a format)
  --purpose "…"          create mode: one line on what the skill helps with
  --base-version <n>     frozen base (default: the active version)
  --fan-in <n>           patches per merge (default 5)
  --min-support <n>      drop edits backed by fewer runs (default 2)
  --holdout <share>      failed runs kept out of the analyses to check the draft on
                         (default 0.2 when there are at least 10 failures; 0: none)
  --resume <run-id>      resume an interrupted run

${MODEL_HELP}

${GLOBAL_HELP}`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: EVOLVE_OPTIONS });
    if (!values.skill && !values.resume) throw new UsageError("evolve needs --skill <name> (or --resume <run-id>).");
    // Every flag is checked before anything is stored.
    const input = {
      skill: values.skill ?? "",
      purpose: values.purpose,
      provider: parseProvider(values.provider),
      baseVersion: parsePositive("base-version", values["base-version"]),
      fanIn: parsePositive("fan-in", values["fan-in"], 2),
      minSupport: parsePositive("min-support", values["min-support"]),
      holdout: parseShare("holdout", values.holdout),
      resumeRunId: values.resume,
    };
    const engine = await openEngine(values);
    if (values.from && values.skill) {
      const stored = await ingestFrom(engine, values.from, values.skill, values.format);
      if (!values.json) out.err(`Ingested ${stored} run(s) from ${values.from.length} file(s).`);
    }
    const view = await evolveToEnd(engine, input, Boolean(values.json));
    return printRun(view, Boolean(values.json));
  },
};

export const analyseCommand: Command = {
  name: "analyse",
  summary: "run the analysts over a skill's runs (stage 2 only)",
  help: `Usage: trace2skill analyse --skill <name> [--trajectory <id>…] [--purpose "…"] [options]

Runs the analysts over the skill's runs (cached: runs already analysed against the same base cost
nothing) and stores their lessons and patches. \`trace2skill consolidate\` merges them.

${MODEL_HELP}

${GLOBAL_HELP}`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { ...EVOLVE_OPTIONS, trajectory: { type: "string", multiple: true } },
    });
    if (!values.skill) throw new UsageError("analyse needs --skill <name>.");
    const engine = await openEngine(values);
    const { ctx, finish } = cliContext(Boolean(values.json), "analyse");
    const result = await engine.evolution
      .propose(
        {
          skill: values.skill,
          trajectoryIds: values.trajectory,
          baseVersion: parsePositive("base-version", values["base-version"]),
          purpose: values.purpose,
          provider: parseProvider(values.provider),
        },
        ctx,
      )
      .finally(() => finish());
    if (values.json) {
      out.json(result);
      return result.failures.length > 0 ? 1 : 0;
    }
    out.line(
      `${result.provider}: ${result.analysed} analysed, ${result.cached} cached, ${result.failures.length} failed, ${result.skipped.length} skipped ` +
        `(of ${result.trajectories} runs, base v${result.baseVersion}).`,
    );
    for (const l of result.lessons) out.line(`  [${l.support}] ${l.kind}: ${l.title}`);
    for (const f of result.failures) out.line(`  failed ${f.trajectoryId.slice(0, 12)}: ${f.error}`);
    return result.failures.length > 0 ? 1 : 0;
  },
};

export const consolidateCommand: Command = {
  name: "consolidate",
  summary: "merge a skill's proposed patches into a new draft version (stages 3-4)",
  help: `Usage: trace2skill consolidate --skill <name> [--fan-in 5] [--min-support 2] [--resume <run-id>]

${MODEL_HELP}

${GLOBAL_HELP}`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: EVOLVE_OPTIONS });
    if (!values.skill) throw new UsageError("consolidate needs --skill <name>.");
    const engine = await openEngine(values);
    const { ctx, finish } = cliContext(Boolean(values.json), "consolidate");
    const handle = await engine.evolution.startConsolidate(
      {
        skill: values.skill,
        baseVersion: parsePositive("base-version", values["base-version"]),
        fanIn: parsePositive("fan-in", values["fan-in"], 2),
        minSupport: parsePositive("min-support", values["min-support"]),
        provider: parseProvider(values.provider),
        runId: values.resume,
      },
      ctx,
    );
    await engine.runs.wait(handle.id, Infinity);
    finish();
    return printRun(await engine.runView(handle.id), Boolean(values.json));
  },
};

export const evolutionCommand: Command = {
  name: "evolution",
  aliases: ["run"],
  summary: "show an evolve / consolidate run (progress, result); also `run`",
  help: `Usage: trace2skill evolution <evolution-id>     (also: trace2skill run <id>)

An evolution is one evolve or consolidate run of the method; its id is printed by evolve and
consolidate (and by MCP tools as runId). Stored agent runs are listed by \`trace2skill runs\`.

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: GLOBAL_OPTIONS, allowPositionals: true });
    const id = positionals[0];
    if (!id) throw new UsageError("evolution needs the id evolve or consolidate printed.");
    const view = await (await openEngine(values)).runView(id);
    if (!view.finished && !values.json) {
      out.line(`${view.runId}: ${view.stage} — ${view.progress.done}/${view.progress.total} ${view.progress.message}`);
      return 0;
    }
    return printRun(view, Boolean(values.json));
  },
};

/** Where the version's files are; on a database store there is no folder: say how to get one. */
function folderLine(versionPath: string | null, skill: string, version: number): string {
  return versionPath ? `Folder: ${versionPath}` : `Files: in the database store; write them out with \`trace2skill export ${skill} --version ${version} --to <dir>\`.`;
}
