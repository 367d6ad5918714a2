import { z } from "zod";
import type { Analysis, Patch } from "../analysis/schema.js";
import { acceptAnalysisSubmission, analysisBrief, analysisWork, renderAnalysisInput } from "../analysis/work-items.js";
import { runArtifactCheckpoints } from "../consolidation/checkpoints.js";
import { groupInputHash, nextMergeWork } from "../consolidation/merge-tree.js";
import { acceptMergeSubmission, mergeBrief, mergeWork } from "../consolidation/work-items.js";
import { judgeConfigHash, judgeMessages, judgmentOf, needsJudging, withJudgedOutcome } from "../judging/judge.js";
import { judgePrompt } from "../judging/prompts.js";
import { JudgeReplySchema } from "../judging/schema.js";
import { toJsonSchema } from "../llm/json-schema.js";
import { emptyUsage } from "../llm/usage.js";
import type { Run } from "../store/run.js";
import type { Store } from "../store/store.js";
import { renderFullStep, type SharedContext } from "../trajectory/render.js";
import type { Trajectory } from "../trajectory/schema.js";
import { InvalidInputError, TrajectoryNotFoundError, errorMessage } from "../util/errors.js";
import { hashJson } from "../util/hash.js";
import { resolveBase, type BaseVersion } from "./base.js";
import { DraftChecks, type CheckContext } from "./draft-checks.js";
import { SharedContexts } from "./shared-contexts.js";
import { guardedPatchesFor, outcomesOf, runConfig, storedTrajectoriesFor, trajectoriesFor, type RunConfig } from "./inputs.js";
import {
  analysisWorkItemId,
  briefId,
  judgeWorkItemId,
  mergeWorkItemId,
  parseWorkItemId,
  type BriefKind,
  type WorkScope,
} from "./work-item-ids.js";

/** The agent judge's settings: its verdicts are cached under this. */
const AGENT_JUDGE = judgeConfigHash("agent");

/**
 * Agent mode, paged: the work of a stage (every unlabelled run to judge, every pending
 * analysis, or every pending merge of the lowest unfinished level) listed as ids with a short descriptor, each item read on its
 * own, and what the items of a stage share given once as a brief. Everything is derived
 * from the store, so any server process answers for any run, and a parent agent can hand
 * each id to its own subagent.
 */

/** Steps one get_work_item may return in full. */
const MAX_FULL_STEPS = 20;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 80;
/** A page also stops at this many characters of items, so a listing stays well under 20,000. */
const PAGE_CHAR_BUDGET = 15_000;

export const WorkStageSchema = z
  .enum(["judging", "analysis", "merge", "review", "holdout", "ready"])
  .describe("judging | analysis | merge | review | holdout: items are pending; ready: nothing is pending, continue the run");

export const WorkSummarySchema = z.object({
  stage: WorkStageSchema,
  level: z.number().nullable().describe("Merge stage: the tree level whose merges are listed"),
  levels: z.number().nullable().describe("Merge stage: levels of the tree"),
  done: z.number(),
  pending: z.number(),
  total: z.number(),
  unknownOutcome: z.number().describe("Runs left out because their outcome is unknown"),
});
export type WorkSummary = z.infer<typeof WorkSummarySchema>;

export const WorkItemSummarySchema = z.object({
  workItemId: z.string(),
  briefId: z.string(),
  about: z.string().describe("What the item is, in a few words"),
});

export const WorkListingSchema = WorkSummarySchema.extend({
  skill: z.string(),
  baseVersion: z.number(),
  runId: z.string().nullable(),
  runFinished: z.boolean().describe("The run is over (nothing to continue): see get_run"),
  briefIds: z.array(z.string()).describe("The briefs the listed items refer to: read each once"),
  items: z.array(WorkItemSummarySchema),
  nextCursor: z.string().nullable().describe("Pass as cursor for the next page; null on the last page"),
});
export type WorkListing = z.infer<typeof WorkListingSchema>;

export const WorkBriefSchema = z.object({
  briefId: z.string(),
  instructions: z.string().describe("The role, the frozen base skill and the shared context"),
  responseSchema: z.record(z.string(), z.unknown()).describe("JSON Schema every result of this brief must satisfy"),
});
export type WorkBrief = z.infer<typeof WorkBriefSchema>;

export const WorkItemViewSchema = z.object({
  workItemId: z.string(),
  kind: z.enum(["judge", "analysis", "merge", "review", "holdout"]),
  briefId: z.string(),
  about: z.string(),
  input: z
    .string()
    .describe("The run to judge, analyse or check (steps as #N), the numbered edits to merge, or the draft to review"),
  brief: WorkBriefSchema.nullable().describe("The brief, when asked for with includeBrief"),
  steps: z.array(z.object({ id: z.number(), text: z.string() })).describe("Steps asked for in full (a run's long steps are shortened in `input`)"),
});
export type WorkItemView = z.infer<typeof WorkItemViewSchema>;

export interface SubmitOutcome {
  accepted: string[];
  rejected: { workItemId: string; error: string }[];
  /** Where the submitted items' stage stands now (null when no id could be read). */
  after: WorkListing | null;
}

/** The unit a listing is about: an evolve or consolidate run, or analyses against a base version. */
export type WorkTarget = { runId: string } | { skill: string; baseVersion?: number };

interface Resolved {
  scope: WorkScope;
  skill: string;
  base: BaseVersion;
  run: Run | null;
  config: RunConfig | null;
}

interface PendingItem {
  key: string;
  workItemId: string;
  briefId: string;
  about: string;
}

interface StageState extends WorkSummary {
  pending_: PendingItem[];
  briefIds: string[];
}

interface Cursor {
  stage: string;
  level: number | null;
  after: string;
}

export class WorkQueue {
  /** The review and held-out checks of runs' drafts (the run itself uses the same instance). */
  readonly checks: DraftChecks;
  private readonly shared: SharedContexts;

  constructor(private readonly store: Store) {
    this.shared = new SharedContexts(store);
    this.checks = new DraftChecks(store, this.shared);
  }

  // ── listing ───────────────────────────────────────────────────────────────

  async list(target: WorkTarget, page: { cursor?: string; limit?: number } = {}): Promise<WorkListing> {
    const resolved = await this.resolveTarget(target);
    const state = await this.stageState(resolved);
    const limit = Math.min(MAX_PAGE_SIZE, Math.max(0, page.limit ?? DEFAULT_PAGE_SIZE));
    const cursor = page.cursor ? decodeCursor(page.cursor) : null;
    const sameStage = cursor && cursor.stage === state.stage && cursor.level === state.level;
    const after = sameStage ? state.pending_.filter((p) => p.key > cursor.after) : state.pending_;
    // A cursor past everything still pending (the rest was done meanwhile) starts over.
    const from = after.length > 0 ? after : state.pending_;
    const items: PendingItem[] = [];
    let chars = 0;
    for (const item of from.slice(0, limit)) {
      chars += item.workItemId.length + item.briefId.length + item.about.length + 60;
      if (items.length > 0 && chars > PAGE_CHAR_BUDGET) break;
      items.push(item);
    }
    const last = items.at(-1);
    const nextCursor =
      last && from.length > items.length ? encodeCursor({ stage: state.stage, level: state.level, after: last.key }) : null;
    const { pending_: _all, ...summary } = state;
    return {
      ...summary,
      skill: resolved.skill,
      baseVersion: resolved.base.version,
      runId: resolved.run?.id ?? null,
      runFinished: await this.runFinished(resolved.run),
      items: items.map(({ workItemId, briefId: brief, about }) => ({ workItemId, briefId: brief, about })),
      nextCursor,
    };
  }

  /** A run that is over: failed, cancelled, or done with a result that is not waiting for agent work. */
  private async runFinished(run: Run | null): Promise<boolean> {
    if (!run || run.stage === "cancelled") return false;
    if (run.stage === "failed") return true;
    if (run.stage !== "done") return false;
    const result = await this.store.readRunArtifact<{ status?: string }>(run.id, "result");
    return result?.status !== "needs-work";
  }

  /** Where a run's agent work stands, without items. */
  async summary(target: WorkTarget): Promise<WorkSummary> {
    return WorkSummarySchema.parse(await this.list(target, { limit: 0 }));
  }

  private async resolveTarget(target: WorkTarget): Promise<Resolved> {
    if ("runId" in target) return this.resolveScope({ runId: target.runId });
    const base = await resolveBase(this.store, target.skill, target.baseVersion);
    return { scope: { skill: target.skill, version: base.version }, skill: target.skill, base, run: null, config: null };
  }

  private async resolveScope(scope: WorkScope): Promise<Resolved> {
    if ("runId" in scope) {
      const run = await this.store.getRun(scope.runId);
      if (!run) {
        throw new InvalidInputError(`Run "${scope.runId}" not found. Run ids come from evolve_skill or consolidate_skill (CLI: evolve, consolidate).`);
      }
      const config = runConfig(run);
      const base = await resolveBase(this.store, run.skill, config.baseVersion);
      return { scope, skill: run.skill, base, run, config };
    }
    const base = await resolveBase(this.store, scope.skill, scope.version);
    return { scope, skill: scope.skill, base, run: null, config: null };
  }

  /**
   * The current stage: verdicts for unlabelled runs, then analyses (evolve runs and base
   * versions), then merges (runs), each while any of its items is pending.
   */
  private async stageState(r: Resolved): Promise<StageState> {
    const analysesFirst = r.run === null || r.run.kind === "evolve";
    if (analysesFirst) {
      const judging = await this.judgingState(r);
      if (judging.pending > 0) return judging;
      const analysis = await this.analysisState(r);
      if (analysis.pending > 0 || r.run === null) return analysis;
      return this.mergeState(r, analysis.unknownOutcome);
    }
    return this.mergeState(r, 0);
  }

  private async judgingState(r: Resolved): Promise<StageState> {
    const runs = await storedTrajectoriesFor(this.store, r.skill, r.config?.trajectoryIds);
    const unlabelled = runs.filter((t) => t.outcome.success === null);
    const pending = unlabelled
      .filter((t) => needsJudging(t, AGENT_JUDGE))
      .map((t) => ({ key: t.id, workItemId: judgeWorkItemId(r.scope, t.id), briefId: briefId(r.scope, "judge"), about: describeRun(t) }))
      .sort((a, b) => a.key.localeCompare(b.key));
    return {
      stage: pending.length > 0 ? "judging" : "ready",
      level: null,
      levels: null,
      done: unlabelled.length - pending.length,
      pending: pending.length,
      total: unlabelled.length,
      unknownOutcome: 0,
      pending_: pending,
      briefIds: pending.length > 0 ? [briefId(r.scope, "judge")] : [],
    };
  }

  private async analysisState(r: Resolved): Promise<StageState> {
    const trajectories = await trajectoriesFor(this.store, r.skill, r.config?.trajectoryIds);
    const pending: PendingItem[] = [];
    let done = 0;
    let unknown = 0;
    for (const t of trajectories) {
      const work = analysisWork(t, r.base.folder);
      if (!work) {
        unknown++;
        continue;
      }
      if (await this.store.getAnalysis(work.cacheKey)) {
        done++;
        continue;
      }
      const kind: BriefKind = work.analyst === "error" ? "error-analyst" : "success-analyst";
      pending.push({
        key: t.id,
        workItemId: analysisWorkItemId(r.scope, t.id),
        briefId: briefId(r.scope, kind),
        about: describeRun(t),
      });
    }
    pending.sort((a, b) => a.key.localeCompare(b.key));
    const total = done + pending.length;
    if (pending.length === 0) {
      return { stage: "ready", level: null, levels: null, done, pending: 0, total, unknownOutcome: unknown, pending_: [], briefIds: [] };
    }
    return {
      stage: "analysis",
      level: null,
      levels: null,
      done,
      pending: pending.length,
      total,
      unknownOutcome: unknown,
      pending_: pending,
      briefIds: [...new Set(pending.map((p) => p.briefId))].sort(),
    };
  }

  private async mergeState(r: Resolved, unknownOutcome: number): Promise<StageState> {
    const run = r.run as Run;
    const config = r.config as RunConfig;
    const patches = await guardedPatchesFor(this.store, r.skill, r.base, { trajectoryIds: (r.config as RunConfig).trajectoryIds, provider: "agent", minSupport: (r.config as RunConfig).minSupport });
    const next = await nextMergeWork({ patches, fanIn: config.fanIn, checkpoints: runArtifactCheckpoints(this.store, run.id) });
    if (next.done) {
      // Merged: the draft's review and held-out checks (once the run has built the draft).
      const checks = await this.checks.state(checkContext(r));
      return {
        stage: checks.stage,
        level: null,
        levels: null,
        done: checks.done,
        pending: checks.pending.length,
        total: checks.total,
        unknownOutcome,
        pending_: checks.pending,
        briefIds: [...new Set(checks.pending.map((p) => p.briefId))].sort(),
      };
    }
    const brief = briefId(r.scope, "merger");
    const pending = next.pending.map(({ index, group }) => ({
      key: String(index).padStart(6, "0"),
      workItemId: mergeWorkItemId(run.id, next.level, index, groupInputHash(group)),
      briefId: brief,
      about: describeGroup(next.level, next.levels, index, group),
    }));
    return {
      stage: "merge",
      level: next.level,
      levels: next.levels,
      done: next.groups - pending.length,
      pending: pending.length,
      total: next.groups,
      unknownOutcome,
      pending_: pending,
      briefIds: [brief],
    };
  }

  // ── one item, one brief ─────────────────────────────────────────────────

  async item(workItemId: string, options: { includeBrief?: boolean; steps?: number[] } = {}): Promise<WorkItemView> {
    const parsed = parseWorkItemId(workItemId);
    const fullSteps = (t: Trajectory) =>
      [...new Set(options.steps ?? [])].slice(0, MAX_FULL_STEPS).map((id) => {
        if (!Number.isInteger(id) || id < 0 || id >= t.steps.length) {
          throw new InvalidInputError(`Run ${t.id} has steps #0 to #${t.steps.length - 1}; there is no #${id}.`);
        }
        return { id, text: renderFullStep(t, id) };
      });
    if (parsed.kind === "brief") {
      throw new InvalidInputError(`"${workItemId}" is a brief id: read it with includeBrief on one of its items, or as the resource work://item/${workItemId}.`);
    }
    if (parsed.kind === "judge") {
      const r = await this.resolveScope(parsed.scope);
      const trajectory = await this.unlabelled(r, parsed.trajectoryId);
      const id = briefId(r.scope, "judge");
      return {
        workItemId,
        kind: "judge",
        briefId: id,
        about: describeRun(trajectory),
        input: judgeMessages(trajectory).user,
        brief: options.includeBrief ? await this.brief(id) : null,
        steps: fullSteps(trajectory),
      };
    }
    if (parsed.kind === "analysis") {
      const r = await this.resolveScope(parsed.scope);
      const { trajectory, analyst } = await this.analysable(r, parsed.trajectoryId);
      const kind: BriefKind = analyst === "error" ? "error-analyst" : "success-analyst";
      const shared = await this.sharedContext(r);
      const id = briefId(r.scope, kind);
      return {
        workItemId,
        kind: "analysis",
        briefId: id,
        about: describeRun(trajectory),
        input: renderAnalysisInput(trajectory, analyst, shared),
        brief: options.includeBrief ? await this.brief(id) : null,
        steps: fullSteps(trajectory),
      };
    }
    if (parsed.kind === "review" || parsed.kind === "holdout") {
      const r = await this.resolveScope({ runId: parsed.runId });
      const ctx = checkContext(r);
      if (parsed.kind === "review") {
        const id = briefId(r.scope, "reviewer");
        const view = await this.checks.reviewItem(ctx, parsed.draftHash);
        return { workItemId, kind: "review", briefId: id, ...view, brief: options.includeBrief ? await this.brief(id) : null, steps: [] };
      }
      const id = briefId(r.scope, parsed.version === "base" ? "coverage-base" : "coverage-draft");
      const { trajectory, ...view } = await this.checks.holdoutItem(ctx, parsed.trajectoryId, parsed.version);
      return { workItemId, kind: "holdout", briefId: id, ...view, brief: options.includeBrief ? await this.brief(id) : null, steps: fullSteps(trajectory) };
    }
    const { group, level, levels, r } = await this.pendingMerge(parsed);
    const id = briefId(r.scope, "merger");
    return {
      workItemId,
      kind: "merge",
      briefId: id,
      about: describeGroup(level, levels, parsed.index, group),
      input: mergeWork(group, await outcomesOf(this.store, r.skill)).input,
      brief: options.includeBrief ? await this.brief(id) : null,
      steps: [],
    };
  }

  async brief(id: string): Promise<WorkBrief> {
    const parsed = parseWorkItemId(id);
    if (parsed.kind !== "brief") throw new InvalidInputError(`"${id}" is a work item id, not a brief id (brief:…).`);
    const r = await this.resolveScope(parsed.scope);
    if (parsed.brief === "judge") return { briefId: id, instructions: judgePrompt(), responseSchema: toJsonSchema(JudgeReplySchema) };
    if (parsed.brief === "merger") return { briefId: id, ...mergeBrief(r.base.folder) };
    if (parsed.brief === "reviewer" || parsed.brief === "coverage-base" || parsed.brief === "coverage-draft") {
      if (!r.run) throw new InvalidInputError(`"${id}" belongs to an evolve run: its id starts with the run id.`);
      return { briefId: id, ...(await this.checks.brief(checkContext(r), parsed.brief)) };
    }
    const analyst = parsed.brief === "error-analyst" ? "error" : "success";
    const { analyst: _kind, ...brief } = analysisBrief(analyst, r.base.folder, await this.sharedContext(r));
    return { briefId: id, ...brief };
  }

  /** A stored run of the scope's skill with no submitted outcome: what a judge item is about. */
  private async unlabelled(r: Resolved, trajectoryId: string): Promise<Trajectory> {
    const trajectory = await this.store.getTrajectory(trajectoryId);
    if (!trajectory || trajectory.skill !== r.skill) throw new TrajectoryNotFoundError(trajectoryId);
    if (trajectory.outcome.success !== null) {
      throw new InvalidInputError(`Run ${trajectoryId} already has a recorded outcome; it needs no verdict (a recorded outcome always wins).`);
    }
    return trajectory;
  }

  private async analysable(r: Resolved, trajectoryId: string): Promise<{ trajectory: Trajectory; analyst: "error" | "success"; cacheKey: string }> {
    const stored = await this.store.getTrajectory(trajectoryId);
    if (!stored || stored.skill !== r.skill) throw new TrajectoryNotFoundError(trajectoryId);
    const trajectory = withJudgedOutcome(stored);
    const work = analysisWork(trajectory, r.base.folder);
    if (!work) {
      throw new InvalidInputError(`Run ${trajectoryId} has no known outcome, so it is not analysed; record it with set_outcome first.`);
    }
    return { trajectory, analyst: work.analyst, cacheKey: work.cacheKey };
  }

  private sharedContext(r: Resolved): Promise<SharedContext> {
    return this.shared.of(r.skill, r.config?.trajectoryIds);
  }

  private async pendingMerge(id: { runId: string; level: number; index: number; inputHash: string }) {
    const r = await this.resolveScope({ runId: id.runId });
    const config = r.config as RunConfig;
    const patches = await guardedPatchesFor(this.store, r.skill, r.base, { trajectoryIds: (r.config as RunConfig).trajectoryIds, provider: "agent", minSupport: (r.config as RunConfig).minSupport });
    const next = await nextMergeWork({ patches, fanIn: config.fanIn, checkpoints: runArtifactCheckpoints(this.store, id.runId) });
    const stale = `call list_work_items with runId ${id.runId} for the current items.`;
    const which = `Merge ${id.index + 1} of level ${id.level} of run ${id.runId}`;
    if (next.done || id.level < next.level) throw new InvalidInputError(`${which} is done already (its level is merged); ${stale}`);
    if (id.level > next.level) throw new InvalidInputError(`${which} is not pending yet: the run is merging level ${next.level}; ${stale}`);
    const group = next.pending.find((p) => p.index === id.index)?.group;
    if (!group) throw new InvalidInputError(`${which} is already done or does not exist; ${stale}`);
    if (!groupInputHash(group).startsWith(id.inputHash)) {
      throw new InvalidInputError(`${which} now has other inputs (new analyses arrived); ${stale}`);
    }
    return { group, level: next.level, levels: next.levels, r };
  }

  // ── results handed back ───────────────────────────────────────────────────

  async submit(results: { workItemId: string; result: unknown }[]): Promise<SubmitOutcome> {
    const accepted: string[] = [];
    const rejected: { workItemId: string; error: string }[] = [];
    let target: WorkTarget | null = null;
    for (const r of results) {
      try {
        const parsed = parseWorkItemId(r.workItemId);
        if (parsed.kind === "brief") throw new InvalidInputError(`"${r.workItemId}" is a brief: submit results for work items, not briefs.`);
        if (parsed.kind === "analysis" || parsed.kind === "judge") {
          target ??= "runId" in parsed.scope ? { runId: parsed.scope.runId } : { skill: parsed.scope.skill, baseVersion: parsed.scope.version };
          if (parsed.kind === "judge") await this.acceptJudgment(r.workItemId, parsed.scope, parsed.trajectoryId, r.result);
          else await this.acceptAnalysis(r.workItemId, parsed.scope, parsed.trajectoryId, r.result);
        } else if (parsed.kind === "review" || parsed.kind === "holdout") {
          target ??= { runId: parsed.runId };
          const ctx = checkContext(await this.resolveScope({ runId: parsed.runId }));
          if (parsed.kind === "review") await this.checks.acceptReview(ctx, r.workItemId, parsed.draftHash, r.result);
          else await this.checks.acceptCoverage(ctx, r.workItemId, parsed.trajectoryId, parsed.version, r.result);
        } else {
          target ??= { runId: parsed.runId };
          await this.acceptMerge(r.workItemId, parsed, r.result);
        }
        accepted.push(r.workItemId);
      } catch (err) {
        rejected.push({ workItemId: r.workItemId, error: errorMessage(err) });
      }
    }
    const after = target ? await this.list(target, { limit: 0 }).catch(() => null) : null;
    return { accepted, rejected, after };
  }

  private async acceptJudgment(workItemId: string, scope: WorkScope, trajectoryId: string, reply: unknown): Promise<void> {
    const r = await this.resolveScope(scope);
    const trajectory = await this.unlabelled(r, trajectoryId);
    const parsed = JudgeReplySchema.safeParse(reply);
    if (!parsed.success) {
      throw new InvalidInputError(`The verdict for work item ${workItemId} does not match its schema:\n${z.prettifyError(parsed.error)}`);
    }
    await this.store.setJudgment(trajectory.id, judgmentOf(parsed.data, "agent", AGENT_JUDGE));
  }

  private async acceptAnalysis(workItemId: string, scope: WorkScope, trajectoryId: string, reply: unknown): Promise<void> {
    const r = await this.resolveScope(scope);
    const { trajectory, analyst, cacheKey } = await this.analysable(r, trajectoryId);
    const processed = acceptAnalysisSubmission(workItemId, reply, { trajectory, base: r.base.folder });
    const analysis: Analysis = {
      id: cacheKey,
      skill: r.skill,
      trajectoryIds: [trajectory.id],
      baseVersion: r.base.version,
      baseHash: r.base.hash,
      analyst,
      configHash: hashJson({ provider: "agent", analyst }),
      provider: "agent",
      lessons: processed.lessons,
      diagnosis: processed.diagnosis,
      patch: processed.patch,
      ...(processed.ruleVerdicts.length > 0 ? { ruleVerdicts: processed.ruleVerdicts } : {}),
      usage: emptyUsage(),
      createdAt: new Date().toISOString(),
    };
    await this.store.putAnalysis(analysis);
  }

  private async acceptMerge(
    workItemId: string,
    id: { runId: string; level: number; index: number; inputHash: string },
    reply: unknown,
  ): Promise<void> {
    const { group } = await this.pendingMerge(id);
    const result = acceptMergeSubmission(workItemId, group, reply);
    await runArtifactCheckpoints(this.store, id.runId).saveGroup(id.level, id.index, { inputHash: groupInputHash(group), result });
  }
}

// ── descriptors and cursors ─────────────────────────────────────────────────

function checkContext(r: Resolved): CheckContext {
  if (!r.run || !r.config) throw new InvalidInputError("Draft checks belong to an evolve or consolidate run; pass its runId.");
  return { runId: r.run.id, skill: r.skill, base: r.base, config: r.config };
}

function describeRun(t: Trajectory): string {
  const outcome = t.outcome.success === false ? "failed" : t.outcome.success === true ? "succeeded" : "unlabelled";
  const task = t.task.replace(/\s+/g, " ").trim();
  const short = task.length > 60 ? `${task.slice(0, 59)}…` : task;
  return `${outcome} run, ${t.steps.length} steps: ${short}`;
}

function describeGroup(level: number, levels: number, index: number, group: Patch[]): string {
  const edits = group.reduce((n, p) => n + p.edits.length, 0);
  return `merge ${index + 1} of level ${level}/${levels}: ${group.length} patches, ${edits} edits`;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), "utf8").toString("base64url");
}

const CursorSchema = z.object({ stage: z.string(), level: z.number().nullable(), after: z.string() });

function decodeCursor(raw: string): Cursor {
  try {
    return CursorSchema.parse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
  } catch {
    throw new InvalidInputError("That cursor is not one list_work_items gave; omit it to start from the first page.");
  }
}
