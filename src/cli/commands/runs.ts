import { parseArgs } from "node:util";
import { renderTrajectory } from "../../trajectory/render.js";
import { OutcomeFilterSchema, type RunSummary } from "../../trajectory/summary.js";
import { formatBytes } from "../../util/errors.js";
import { GLOBAL_HELP, GLOBAL_OPTIONS, UsageError, openEngine, out, type Command } from "../context.js";

/**
 * The stored runs (trajectories): list them, show one, delete some. "Run" here always means
 * an agent's run; an evolve or consolidate run is an "evolution" (see `trace2skill evolution`).
 */

function outcomeLabel(s: RunSummary): string {
  if (s.outcomeBy === "judged") return `${s.outcome} (judged: ${s.judge})`;
  return s.outcome;
}

export const runsCommand: Command = {
  name: "runs",
  summary: "list stored runs (id, skill, format, outcome and who set it, steps, size, date), or show one",
  help: `Usage: trace2skill runs [--skill s] [--outcome success|failure|unknown|judged|submitted] [--since 7d|2026-11-01] [--json]
       trace2skill runs <id>            show one run (id or a unique prefix of 8+ characters)

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, skill: { type: "string" }, outcome: { type: "string" }, since: { type: "string" } },
      allowPositionals: true,
    });
    const engine = await openEngine(values);
    const id = positionals[0];
    if (id !== undefined) {
      const t = await engine.getTrajectory(id);
      if (values.json) {
        out.json(t);
        return 0;
      }
      const [summary] = (await engine.runSummaries({ skill: t.skill ?? undefined })).filter((s) => s.id === t.id);
      if (summary) out.line(`${t.id}  ${t.skill ?? "(no skill)"}  ${t.source}  ${outcomeLabel(summary)}  ${t.steps.length} steps  ${formatBytes(summary.bytes)}  ${t.createdAt}`);
      if (t.judged) out.line(`judged ${t.judged.verdict} by the ${t.judged.judge} judge (confidence ${t.judged.confidence.toFixed(2)}): ${t.judged.reason}`);
      out.line("");
      out.line(renderTrajectory(t, { budgetTokens: 4_000 }).text);
      return 0;
    }
    const outcome = values.outcome === undefined ? undefined : OutcomeFilterSchema.safeParse(values.outcome);
    if (outcome && !outcome.success) throw new UsageError(`--outcome must be one of ${OutcomeFilterSchema.options.join(", ")} (got "${values.outcome}").`);
    const runs = await engine.runSummaries({ skill: values.skill, outcome: outcome?.data, since: values.since });
    if (values.json) {
      out.json({ runs });
      return 0;
    }
    if (runs.length === 0) {
      out.line("No runs match. Ingest some with `trace2skill ingest <files>` or a hook (docs/clients.md).");
      return 0;
    }
    for (const s of runs) {
      out.line(
        `${s.id.slice(0, 12)}  ${(s.skill ?? "-").padEnd(20)}  ${(s.skillVersion ? `v${s.skillVersion}` : "-").padEnd(4)}  ${s.source.padEnd(16)}  ${outcomeLabel(s).padEnd(22)}  ${String(s.steps).padStart(5)} steps  ${formatBytes(s.bytes).padStart(9)}  ${s.createdAt}`,
      );
    }
    out.line(`${runs.length} run(s). Show one with \`trace2skill runs <id>\`; label one with \`trace2skill outcome <id> --success|--failure\`.`);
    return 0;
  },
};

export const deleteRunCommand: Command = {
  name: "delete-run",
  summary: "delete stored runs: the run, its index row and the analyses made from it",
  help: `Usage: trace2skill delete-run <id> [<id>…]

Removes each run's stored file, its index row, and every analysis derived from it. Versions
whose provenance cites a deleted run keep its id and are listed, so you can evolve again
without it. Ids may be unique prefixes of 8+ characters (as \`runs\` prints them).

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: GLOBAL_OPTIONS, allowPositionals: true });
    if (positionals.length === 0) throw new UsageError("delete-run needs at least one run id (see `trace2skill runs`).");
    const result = await (await openEngine(values)).deleteTrajectories(positionals);
    if (values.json) {
      out.json(result);
      return 0;
    }
    out.line(`Deleted ${result.deleted.length} run(s) and ${result.analysesRemoved} analysis(es) made from them.`);
    if (result.missing.length > 0) out.line(`Not stored (already deleted?): ${result.missing.join(", ")}`);
    for (const c of result.citedBy) out.line(`${c.skill} v${c.version} cites ${c.runs} of them in its provenance (the ids stay there, marked deleted).`);
    return 0;
  },
};
