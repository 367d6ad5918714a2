import { z } from "zod";
import {
  buildReport,
  checkHoldout,
  coverageInput,
  coverageInstructions,
  parseCoverageSubmission,
  type CoverageVersion,
} from "../holdout/coverage.js";
import { CoverageReplySchema } from "../holdout/schema.js";
import { toJsonSchema } from "../llm/json-schema.js";
import { applyReview, reviewDraft, reviewMessages } from "../review/review.js";
import type { LanguageModel, ProviderName } from "../llm/port.js";
import { addUsage, EMPTY_USAGE, type Usage } from "../llm/usage.js";
import { reviewerPrompt } from "../review/prompts.js";
import { ReviewReplySchema } from "../review/schema.js";
import { contentHash } from "../skill/content-hash.js";
import {
  CoverageCheckSchema,
  ReviewReportSchema,
  SkillFolderSchema,
  type CoverageCheck,
  type HoldoutReport,
  type ReviewReport,
  type SkillFolder,
} from "../skill/types.js";
import type { Store } from "../store/store.js";
import { renderSharedContext, type SharedContext } from "../trajectory/render.js";
import type { Trajectory } from "../trajectory/schema.js";
import { InvalidInputError, TrajectoryNotFoundError } from "../util/errors.js";
import type { BaseVersion } from "./base.js";
import { trajectoriesFor, type RunConfig } from "./inputs.js";
import { briefId, holdoutWorkItemId, reviewWorkItemId } from "./work-item-ids.js";
import { SharedContexts } from "./shared-contexts.js";

/**
 * Agent mode, after the merges: the draft is checked before it is stored, by the calling agent
 * as work items, as a model does it in a model run. First one review of the draft (against the
 * base and the shared context; its typed fixes pass the same guards), then the held-out
 * failures, each read against the base and against the reviewed draft. What is submitted is
 * kept as run artefacts, so any server process can continue the run:
 *
 *   draft     { hash, folder }               the merged draft, written when the merges are done
 *   review    { draftHash, folder, report }  the reviewed draft and the review's findings
 *   coverage-<trajectoryId>-<base|draft>  { draftHash, check }  one held-out check (one artefact
 *             each, so checks submitted in parallel, by any process, never overwrite each other)
 */

const DraftArtifactSchema = z.object({ hash: z.string(), folder: SkillFolderSchema });
const ReviewArtifactSchema = z.object({ draftHash: z.string(), folder: SkillFolderSchema, report: ReviewReportSchema });
const CoverageArtifactSchema = z.object({ draftHash: z.string(), check: CoverageCheckSchema });

/** A pending item of the review or held-out stage, as the work queue lists it. */
export interface CheckItem {
  key: string;
  workItemId: string;
  briefId: string;
  about: string;
}

export interface CheckState {
  stage: "review" | "holdout" | "ready";
  done: number;
  total: number;
  pending: CheckItem[];
}

export interface CheckContext {
  runId: string;
  skill: string;
  base: BaseVersion;
  config: RunConfig;
}

const key = (trajectoryId: string, version: CoverageVersion) => `${trajectoryId}:${version}`;

export interface CheckDraftInput extends CheckContext {
  provider: ProviderName;
  /** The server's model or the client's (sampling); none for the heuristic and agent mode. */
  model?: LanguageModel;
  draft: SkillFolder;
  expectedById: Map<string, string | undefined>;
  concurrency: number;
  signal?: AbortSignal;
  onStage: (message: string) => Promise<void>;
}

export interface CheckedDraft {
  /** The draft after the review's fixes. */
  folder: SkillFolder;
  review?: ReviewReport;
  holdout?: HoldoutReport;
  usage: Usage;
}
const coverageArtifact = (trajectoryId: string, version: CoverageVersion) => `coverage-${trajectoryId}-${version}`;

export class DraftChecks {
  constructor(
    private readonly store: Store,
    private readonly sharedContexts: SharedContexts = new SharedContexts(store),
  ) {}

  // ── what the run stores and reads ─────────────────────────────────────────

  /** Keep the merged draft for the checks (a draft with the same content keeps what was checked). */
  async saveDraft(runId: string, folder: SkillFolder): Promise<void> {
    const hash = contentHash(folder);
    if ((await this.draft(runId))?.hash !== hash) await this.store.writeRunArtifact(runId, "draft", { hash, folder });
  }

  private async draft(runId: string): Promise<z.infer<typeof DraftArtifactSchema> | null> {
    const parsed = DraftArtifactSchema.safeParse(await this.store.readRunArtifact(runId, "draft"));
    return parsed.success ? parsed.data : null;
  }

  /** The reviewed draft, when the agent's review of exactly this draft is in. */
  async reviewed(runId: string, draft: SkillFolder): Promise<{ folder: SkillFolder; report: ReviewReport } | null> {
    const parsed = ReviewArtifactSchema.safeParse(await this.store.readRunArtifact(runId, "review"));
    if (!parsed.success || parsed.data.draftHash !== contentHash(draft)) return null;
    return { folder: parsed.data.folder, report: parsed.data.report };
  }

  /** The held-out checks in, for this reviewed draft. */
  private async checksOf(runId: string, reviewedDraft: SkillFolder, heldOut: readonly string[]): Promise<Map<string, CoverageCheck>> {
    const draftHash = contentHash(reviewedDraft);
    const checks = new Map<string, CoverageCheck>();
    for (const id of heldOut) {
      for (const version of ["base", "draft"] as const) {
        const parsed = CoverageArtifactSchema.safeParse(await this.store.readRunArtifact(runId, coverageArtifact(id, version)));
        if (parsed.success && parsed.data.draftHash === draftHash) checks.set(key(id, version), parsed.data.check);
      }
    }
    return checks;
  }

  /** The held-out report, once every held-out failure is checked against both versions. */
  async holdoutReport(runId: string, reviewedDraft: SkillFolder, heldOut: readonly string[]): Promise<HoldoutReport | null> {
    const checks = await this.checksOf(runId, reviewedDraft, heldOut);
    const runs: HoldoutReport["runs"] = [];
    for (const id of heldOut) {
      const base = checks.get(key(id, "base"));
      const draft = checks.get(key(id, "draft"));
      if (!base || !draft) return null;
      runs.push({ trajectoryId: id, base, draft });
    }
    return buildReport("agent", runs);
  }

  // ── one call for the run ────────────────────────────────────────────────

  /**
   * Review the draft and check it on the held-out failures. A model (the server's or the
   * client's) does both in the call; in agent mode they are work items, and "pending" says the
   * run must wait for them; the heuristic reviews nothing and can only match error texts.
   */
  async check(input: CheckDraftInput): Promise<CheckedDraft | "pending"> {
    const heldOut = input.config.heldOut ?? [];
    if (input.provider === "agent") {
      await this.saveDraft(input.runId, input.draft);
      const reviewed = await this.reviewed(input.runId, input.draft);
      const report = reviewed && heldOut.length > 0 ? await this.holdoutReport(input.runId, reviewed.folder, heldOut) : null;
      if (!reviewed || (heldOut.length > 0 && !report)) return "pending";
      return { folder: reviewed.folder, review: reviewed.report, ...(report ? { holdout: report } : {}), usage: EMPTY_USAGE };
    }
    let usage = EMPTY_USAGE;
    let folder = input.draft;
    let review: ReviewReport | undefined;
    if (!input.model && heldOut.length === 0) return { folder, usage };
    const shared = await this.shared(input);
    if (input.model) {
      await input.onStage("reviewing the draft");
      const reviewed = await reviewDraft({
        model: input.model,
        base: input.base.folder,
        draft: input.draft,
        sharedContext: renderSharedContext(shared),
        source: `review:${input.runId}`,
        expectedById: input.expectedById,
        signal: input.signal,
      });
      folder = reviewed.folder;
      review = reviewed.report;
      usage = addUsage(usage, reviewed.usage);
    }
    if (heldOut.length === 0) return { folder, ...(review ? { review } : {}), usage };
    await input.onStage(`checking ${heldOut.length} held-out failure(s) against base and draft`);
    const checked = await checkHoldout({
      base: input.base.folder,
      draft: folder,
      trajectories: await trajectoriesFor(this.store, input.skill, heldOut),
      shared,
      model: input.provider === "heuristic" ? undefined : input.model,
      concurrency: input.concurrency,
      signal: input.signal,
    });
    return { folder, ...(review ? { review } : {}), holdout: checked.report, usage: addUsage(usage, checked.usage) };
  }

  // ── the stage the work queue lists ──────────────────────────────────────

  /** Where the checks of a run whose merges are done stand: review, then held-out, then ready. */
  async state(ctx: CheckContext): Promise<CheckState> {
    const draft = await this.draft(ctx.runId);
    if (!draft) return { stage: "ready", done: 0, total: 0, pending: [] };
    const reviewed = await this.reviewed(ctx.runId, draft.folder);
    if (!reviewed) {
      const workItemId = reviewWorkItemId(ctx.runId, draft.hash);
      return {
        stage: "review",
        done: 0,
        total: 1,
        pending: [{ key: "review", workItemId, briefId: briefId({ runId: ctx.runId }, "reviewer"), about: "review of the merged draft against the base and the shared context" }],
      };
    }
    const heldOut = ctx.config.heldOut ?? [];
    if (heldOut.length === 0) return { stage: "ready", done: 1, total: 1, pending: [] };
    const checks = await this.checksOf(ctx.runId, reviewed.folder, heldOut);
    const pending: CheckItem[] = [];
    for (const id of heldOut) {
      for (const version of ["base", "draft"] as const) {
        if (checks.has(key(id, version))) continue;
        pending.push({
          key: key(id, version),
          workItemId: holdoutWorkItemId(ctx.runId, id, version),
          briefId: briefId({ runId: ctx.runId }, version === "base" ? "coverage-base" : "coverage-draft"),
          about: `held-out failure ${id.slice(0, 12)} against the ${version === "base" ? "base" : "draft"}`,
        });
      }
    }
    pending.sort((a, b) => a.key.localeCompare(b.key));
    const total = heldOut.length * 2;
    return { stage: pending.length > 0 ? "holdout" : "ready", done: total - pending.length, total, pending };
  }

  // ── one item, one brief ─────────────────────────────────────────────────

  async reviewItem(ctx: CheckContext, draftHash: string): Promise<{ input: string; about: string }> {
    const draft = await this.pendingReviewDraft(ctx, draftHash);
    return { input: reviewMessages(ctx.base.folder, draft.folder, await this.sharedText(ctx)).user, about: "review of the merged draft" };
  }

  async holdoutItem(ctx: CheckContext, trajectoryId: string, version: CoverageVersion): Promise<{ input: string; about: string; trajectory: Trajectory }> {
    await this.versionFor(ctx, version);
    const trajectory = await this.heldOutRun(ctx, trajectoryId);
    return {
      input: coverageInput(trajectory, await this.shared(ctx)),
      about: `held-out failure ${trajectoryId.slice(0, 12)} against the ${version}`,
      trajectory,
    };
  }

  async brief(ctx: CheckContext, kind: "reviewer" | "coverage-base" | "coverage-draft"): Promise<{ instructions: string; responseSchema: Record<string, unknown> }> {
    if (kind === "reviewer") return { instructions: reviewerPrompt(), responseSchema: toJsonSchema(ReviewReplySchema) };
    const version: CoverageVersion = kind === "coverage-base" ? "base" : "draft";
    return {
      instructions: coverageInstructions(await this.versionFor(ctx, version), version, await this.shared(ctx)),
      responseSchema: toJsonSchema(CoverageReplySchema),
    };
  }

  // ── results handed back ─────────────────────────────────────────────────

  async acceptReview(ctx: CheckContext, workItemId: string, draftHash: string, reply: unknown): Promise<void> {
    const draft = await this.pendingReviewDraft(ctx, draftHash);
    const parsed = ReviewReplySchema.safeParse(reply);
    if (!parsed.success) {
      throw new InvalidInputError(`The review for work item ${workItemId} does not match its schema:\n${z.prettifyError(parsed.error)}`);
    }
    const runs = await trajectoriesFor(this.store, ctx.skill, ctx.config.trajectoryIds);
    const reviewed = applyReview(
      parsed.data,
      {
        base: ctx.base.folder,
        draft: draft.folder,
        sharedContext: "",
        source: `review:${ctx.runId}`,
        expectedById: new Map(runs.map((t) => [t.id, t.outcome.expected])),
      },
      "agent",
    );
    await this.store.writeRunArtifact(ctx.runId, "review", { draftHash: draft.hash, folder: reviewed.folder, report: reviewed.report });
  }

  async acceptCoverage(ctx: CheckContext, workItemId: string, trajectoryId: string, version: CoverageVersion, reply: unknown): Promise<void> {
    const skill = await this.versionFor(ctx, version);
    await this.heldOutRun(ctx, trajectoryId);
    const check: CoverageCheck = parseCoverageSubmission(workItemId, reply, skill);
    const reviewed = await this.versionFor(ctx, "draft");
    await this.store.writeRunArtifact(ctx.runId, coverageArtifact(trajectoryId, version), { draftHash: contentHash(reviewed), check });
  }

  // ── helpers ─────────────────────────────────────────────────────────────

  private async pendingReviewDraft(ctx: CheckContext, draftHash: string) {
    const draft = await this.draft(ctx.runId);
    const stale = `call list_work_items with runId ${ctx.runId} for the current items.`;
    if (!draft) throw new InvalidInputError(`Run ${ctx.runId} has no draft to review yet; ${stale}`);
    if (!draft.hash.startsWith(draftHash)) throw new InvalidInputError(`That review is of an earlier draft of run ${ctx.runId}; ${stale}`);
    if (await this.reviewed(ctx.runId, draft.folder)) throw new InvalidInputError(`The draft of run ${ctx.runId} is reviewed already; ${stale}`);
    return draft;
  }

  /** The version a coverage item reads: the frozen base, or the reviewed draft. */
  private async versionFor(ctx: CheckContext, version: CoverageVersion): Promise<SkillFolder> {
    if (version === "base") return ctx.base.folder;
    const draft = await this.draft(ctx.runId);
    const reviewed = draft ? await this.reviewed(ctx.runId, draft.folder) : null;
    if (!reviewed) throw new InvalidInputError(`Run ${ctx.runId} has no reviewed draft yet; call list_work_items with runId ${ctx.runId} for the current items.`);
    return reviewed.folder;
  }

  private async heldOutRun(ctx: CheckContext, trajectoryId: string): Promise<Trajectory> {
    if (!(ctx.config.heldOut ?? []).includes(trajectoryId)) {
      throw new InvalidInputError(`Run ${trajectoryId} is not one of the failures run ${ctx.runId} held out.`);
    }
    const [trajectory] = await trajectoriesFor(this.store, ctx.skill, [trajectoryId]).catch(() => []);
    if (!trajectory) throw new TrajectoryNotFoundError(trajectoryId);
    return trajectory;
  }

  private shared(ctx: CheckContext): Promise<SharedContext> {
    return this.sharedContexts.of(ctx.skill, ctx.config.trajectoryIds);
  }

  private async sharedText(ctx: CheckContext): Promise<string> {
    return renderSharedContext(await this.shared(ctx));
  }
}
