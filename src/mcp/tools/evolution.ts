import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { setMaxListeners } from "node:events";
import { z } from "zod";
import type { Engine, RunView } from "../../engine.js";
import { PROVIDERS } from "../../evolution/providers.js";
import type { CallContext } from "../../evolution/evolve.js";
import { WorkSummarySchema } from "../../evolution/work-queue.js";
import { SamplingModel } from "../../llm/sampling.js";
import { UsageSchema } from "../../llm/usage.js";
import { InvalidInputError, Trace2SkillError } from "../../util/errors.js";
import { defineTool, reportProgress, type ToolExtra } from "../define-tool.js";
import { nextForRun, NextStepSchema } from "../next.js";
import { SkillName } from "../shapes.js";

const Provider = z
  .enum(PROVIDERS)
  .optional()
  .describe("Who does the thinking: openai-compatible (server model), mcp-sampling (your model), agent (you), heuristic. Default in that order.");

export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, "A run id is letters, digits, - and _ (as evolve_skill / consolidate_skill return it).");

const BaseVersion = z.number().int().positive().optional().describe("Frozen base version (default: the active one)");
const FanIn = z.number().int().min(2).max(20).optional().describe("Patches per merge (default 5)");
const MinSupport = z.number().int().min(1).optional().describe("Edits backed by fewer runs are dropped (default 2)");
const WaitSeconds = z
  .number()
  .min(0)
  .max(55)
  .optional()
  .describe("Seconds to wait for the run before answering with its progress (default 45; the run goes on)");

const RunOutput = {
  runId: z.string(),
  skill: z.string(),
  kind: z.string().describe("evolve | consolidate"),
  stage: z.string().describe("queued | analysing | merging | applying | done | failed | cancelled | interrupted"),
  finished: z.boolean(),
  progress: z.object({ done: z.number(), total: z.number(), message: z.string() }),
  usage: UsageSchema,
  errors: z.array(z.string()),
  resultVersion: z.number().nullable(),
  versionPath: z.string().nullable().describe("Folder of the new draft's files"),
  result: z
    .object({
      status: z.enum(["draft", "existing", "no-change", "no-patches", "needs-work"]),
      version: z.number().nullable(),
      baseVersion: z.number(),
      patches: z.number(),
      levels: z.number(),
      applied: z.number(),
      dropped: z.number(),
      skipped: z.number(),
      blocked: z.number(),
      changelog: z.array(z.string()),
      observations: z.array(z.string()).describe("Correlations seen in the runs: not rules, never written into the skill"),
    })
    .nullable(),
  work: WorkSummarySchema.nullable().describe("Agent mode: the stage waiting for you and its counts"),
  next: NextStepSchema,
};

/**
 * What the server can borrow from this call's client (its model, through sampling), and a
 * progress sink that goes quiet once the call has answered: a run may outlive its call, but
 * its progress token does not.
 */
function callContext(server: McpServer, extra: ToolExtra): CallContext & { close(): void } {
  // Every queued model call listens on the request's signal: many listeners are expected.
  setMaxListeners(0, extra.signal);
  const sampling = SamplingModel.available(server.server) ? new SamplingModel(server.server) : undefined;
  let open = true;
  return {
    surface: "mcp",
    sampling,
    signal: extra.signal,
    onProgress: (done, total, message) => {
      if (open) void reportProgress(extra, done, total, message);
    },
    close: () => {
      open = false;
    },
  };
}

function describeRun(view: RunView): string {
  if (!view.finished) {
    return `Run ${view.runId} is ${view.stage} (${view.progress.done}/${view.progress.total} ${view.progress.message}).`;
  }
  if (view.stage !== "done") return `Run ${view.runId} ${view.stage}: ${view.errors.at(-1) ?? "no detail"}`;
  const r = view.result;
  if (!r) return `Run ${view.runId} finished.`;
  const warnings = view.errors.map((e) => `\nWarning: ${e}`).join("");
  switch (r.status) {
    case "draft":
      return `New draft ${view.skill} v${r.version} (from v${r.baseVersion}) at ${view.versionPath}.\n${r.changelog.join("\n")}${warnings}`;
    case "needs-work":
      return `Agent mode: ${r.work?.pending ?? 0} ${r.work?.stage ?? ""} item(s) wait for you (list_work_items { runId: "${view.runId}" }).`;
    case "existing":
      return `Run ${view.runId} finished: the result is the same as the stored ${view.skill} v${r.version}; no new version.${warnings}`;
    case "no-change":
      return `Run ${view.runId} finished: the merged edits did not change the skill.\n${r.changelog.join("\n")}${warnings}`;
    default:
      return `Run ${view.runId} finished: ${r.changelog.join(" ") || "nothing to merge."}${warnings}`;
  }
}

/** A run that failed is an error for the caller (the run id stays in the message for get_run / resume). */
function runAnswer(view: RunView) {
  if (view.stage === "failed") throw new Trace2SkillError(describeRun(view), "run_failed");
  // The output schema keeps what a caller gets of the result (not its diff or validation).
  const result = view.result && { ...view.result, observations: view.result.observations ?? [] };
  return { structured: { ...view, result, work: view.result?.work ?? null, next: nextForRun(view) }, text: describeRun(view) };
}

/** A new run needs its skill; a continued one is the run's own (the name given, if any, is not used). */
function requireSkill(skill: string | undefined, runId: string | undefined): string {
  if (skill !== undefined) return skill;
  if (runId !== undefined) return "";
  throw new InvalidInputError("Give `skill` (the skill to work on), or the id of the run to continue.");
}

export function registerProposeLessonsTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "propose_lessons",
    title: "Propose lessons from runs",
    description:
      "Stage 2 of Trace2Skill: independent analysts read each run of a skill (known outcome; analysed ones are cached) against a frozen base version " +
      "and propose at most 3 lessons and a small patch per run. In agent mode (no server model) the analyses are yours: follow `next`.",
    input: {
      skill: SkillName,
      trajectoryIds: z.array(z.string()).optional().describe("Only these runs (default: every run of the skill)"),
      baseVersion: BaseVersion,
      purpose: z.string().max(500).optional().describe("Create mode: one line on what the skill helps with"),
      provider: Provider,
      concurrency: z.number().int().min(1).max(64).optional().describe("Analyses in flight at once (default 8)"),
      agentic: z.boolean().optional().describe("Let a model analyst ask for any step in full (models with tool calls)"),
    },
    output: {
      skill: z.string(),
      baseVersion: z.number(),
      createdSkill: z.boolean(),
      provider: z.string(),
      trajectories: z.number(),
      analysed: z.number(),
      cached: z.number(),
      failures: z.array(z.object({ trajectoryId: z.string(), error: z.string() })),
      skipped: z.array(z.object({ trajectoryId: z.string(), reason: z.string() })),
      lessons: z.array(z.object({ title: z.string(), kind: z.string(), support: z.number() })),
      edits: z.number(),
      observations: z.array(z.string()).describe("Correlations seen in the runs: not rules, never written into the skill"),
      usage: UsageSchema,
      judging: z
        .object({ judge: z.string(), unlabelled: z.number(), judged: z.number(), success: z.number(), failure: z.number(), unknown: z.number() })
        .nullable()
        .describe("Verdicts for runs without a recorded outcome, made before analysing"),
      work: WorkSummarySchema.nullable().describe("Agent mode: the judgments or analyses waiting for you"),
      next: NextStepSchema,
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    async handle(args, extra) {
      const ctx = callContext(server, extra);
      try {
        const result = await engine.evolution.propose(
          {
            skill: args.skill,
            trajectoryIds: args.trajectoryIds,
            baseVersion: args.baseVersion,
            purpose: args.purpose,
            provider: args.provider,
            concurrency: args.concurrency,
            agentic: args.agentic,
          },
          ctx,
        );
        const target = { skill: result.skill, baseVersion: result.baseVersion };
        const next =
          result.provider === "agent"
            ? result.work?.stage === "analysis"
              ? { tool: "list_work_items", arguments: target, reason: "Agent mode: list the pending analyses and hand each to a subagent, in parallel." }
              : { tool: "consolidate_skill", arguments: { ...target, provider: "agent" }, reason: "Every analysis is in: merge them into a draft." }
            : { tool: "consolidate_skill", arguments: target, reason: "Merge the proposed patches into a draft version." };
        const text =
          result.provider === "agent"
            ? `Agent mode: ${result.work?.pending ?? 0} of ${result.work?.total ?? 0} analyses wait for you (list_work_items).`
            : `${result.provider}: analysed ${result.analysed} run(s) of ${result.skill} against v${result.baseVersion} (${result.cached} cached, ` +
              `${result.failures.length} failed, ${result.skipped.length} skipped): ${result.lessons.length} lesson(s), ${result.edits} proposed edit(s).`;
        return { structured: { ...result, next }, text };
      } finally {
        ctx.close();
      }
    },
  });
}

export function registerConsolidateSkillTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "consolidate_skill",
    title: "Consolidate proposed patches",
    description:
      "Stages 3-4 of Trace2Skill: merge the patches proposed against a base version level by level (support counted by code), keep prevalent edits " +
      "in SKILL.md and rarer ones in references/, guard, apply, validate: a DRAFT version. Runs in the background; follow `next`.",
    input: {
      skill: SkillName.optional().describe("Skill to consolidate (not needed with runId)"),
      baseVersion: BaseVersion,
      fanIn: FanIn,
      minSupport: MinSupport,
      provider: Provider,
      runId: RunId.optional().describe("Continue this run (agent mode, or after an interruption)"),
      waitSeconds: WaitSeconds,
    },
    output: RunOutput,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    async handle(args, extra) {
      const ctx = callContext(server, extra);
      try {
        const handle = await engine.evolution.startConsolidate(
          { skill: requireSkill(args.skill, args.runId), baseVersion: args.baseVersion, fanIn: args.fanIn, minSupport: args.minSupport, provider: args.provider, runId: args.runId },
          { ...ctx, signal: undefined },
        );
        return runAnswer(await engine.runView(handle.id, (args.waitSeconds ?? 45) * 1000));
      } finally {
        ctx.close();
      }
    },
  });
}

export function registerEvolveSkillTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "evolve_skill",
    title: "Evolve a skill from its runs",
    description:
      "The whole Trace2Skill loop as one background run: judge unlabelled runs, analyse each in parallel, merge and apply into a DRAFT version; " +
      "deepens a skill or creates one from `purpose`. Answers within waitSeconds. Follow `next` (in agent mode the work is yours).",
    input: {
      skill: SkillName.optional().describe("Skill to evolve (not needed with resumeRunId)"),
      purpose: z.string().max(500).optional().describe("Create mode: one line on what the skill helps with"),
      baseVersion: BaseVersion,
      trajectoryIds: z.array(z.string()).optional().describe("Only these runs (default: every run of the skill)"),
      provider: Provider,
      concurrency: z.number().int().min(1).max(64).optional().describe("Analyses and merges in flight (default 8)"),
      fanIn: FanIn,
      minSupport: MinSupport,
      holdout: z
        .number()
        .min(0)
        .max(0.5)
        .optional()
        .describe("Share of failed runs held out to check the draft on (default 0.2 if ≥ 10 failures; 0: none)"),
      resumeRunId: RunId.optional().describe("Continue this run (after agent-mode work or an interruption)"),
      waitSeconds: WaitSeconds,
    },
    output: RunOutput,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    async handle(args, extra) {
      const ctx = callContext(server, extra);
      try {
        const handle = await engine.evolution.startEvolve(
          {
            skill: requireSkill(args.skill, args.resumeRunId),
            purpose: args.purpose,
            baseVersion: args.baseVersion,
            trajectoryIds: args.trajectoryIds,
            provider: args.provider,
            concurrency: args.concurrency,
            fanIn: args.fanIn,
            minSupport: args.minSupport,
            holdout: args.holdout,
            resumeRunId: args.resumeRunId,
          },
          // The run must outlive this call, so the call's cancellation does not stop it: cancel_run does.
          { ...ctx, signal: undefined },
        );
        return runAnswer(await engine.runView(handle.id, (args.waitSeconds ?? 45) * 1000));
      } finally {
        ctx.close();
      }
    },
  });
}

export function registerGetRunTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "get_run",
    title: "Get a run's progress",
    description: "Poll an evolve or consolidate run: stage, progress, tokens and cost so far, its result once finished, and `next`.",
    input: { runId: RunId.describe("The run id evolve_skill / consolidate_skill returned"), waitSeconds: WaitSeconds },
    output: RunOutput,
    annotations: { readOnlyHint: true, openWorldHint: false },
    async handle(args) {
      return runAnswer(await engine.runView(args.runId, (args.waitSeconds ?? 0) * 1000));
    },
  });
}

export function registerCancelRunTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "cancel_run",
    title: "Cancel a run",
    description: "Stop a running evolve or consolidate run (any server on this store). What it saved stays; it can be resumed.",
    input: { runId: RunId.describe("The run to stop") },
    output: {
      cancelled: z.boolean().describe("Stopped, or asked to stop"),
      requested: z.boolean().describe("Another server runs it: it stops at its next heartbeat (a few seconds)"),
      next: NextStepSchema,
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handle(args) {
      const outcome = await engine.runs.cancel(args.runId);
      const cancelled = outcome !== "not-running";
      return {
        structured: {
          cancelled,
          requested: outcome === "requested",
          next: cancelled ? { tool: "get_run", arguments: { runId: args.runId, waitSeconds: 10 }, reason: "See the run stop." } : null,
        },
        text:
          outcome === "cancelled"
            ? `Cancelling ${args.runId}.`
            : outcome === "requested"
              ? `Run ${args.runId} runs in another server process on this store: asked it to stop (it does at its next heartbeat, within a few seconds).`
              : `Run ${args.runId} is not running (finished, interrupted, or unknown).`,
      };
    },
  });
}
