import type { Diagnosis, Lesson } from "../analysis/schema.js";
import type { Usage } from "../llm/usage.js";
import { analystFor } from "../analysis/analysts.js";
import { describeJudging, judgeRuns, withJudgedOutcome, type JudgeSummary } from "../judging/judge.js";
import { runAnalyses } from "../analysis/run-analysis.js";
import { runArtifactCheckpoints } from "../consolidation/checkpoints.js";
import { consolidate, DEFAULT_FAN_IN } from "../consolidation/consolidate.js";
import type { ModelConfig } from "../llm/config.js";
import type { LanguageModel, ProviderName } from "../llm/port.js";
import type { Fleet } from "../fleet/dispatch.js";
import { modelMerge } from "../consolidation/model-merge.js";
import type { AnalysisJob } from "../fleet/jobs.js";
import { log } from "../util/log.js";
import { addUsage, emptyUsage } from "../llm/usage.js";
import { diffSkillFolders } from "../skill/diff.js";
import { contentHash } from "../skill/content-hash.js";
import { riskyAdditions } from "../consolidation/guards.js";
import { auditDraft, describeAudit } from "../consolidation/audit.js";
import { describeReview } from "../review/review.js";
import { DEFAULT_HOLDOUT_SHARE, describeHoldout, selectHoldout } from "../holdout/coverage.js";
import { validateSkill } from "../skill/validate.js";
import type { Trajectory } from "../trajectory/schema.js";
import type { ProvenanceEntry, SkillFolder, ValidationReport } from "../skill/types.js";
import type { Run } from "../store/run.js";
import type { Store } from "../store/store.js";
import { InvalidInputError, ModelError } from "../util/errors.js";
import { redactSecrets } from "../util/redact.js";
import { resolveBase, type BaseVersion } from "./base.js";
import {
  DEFAULT_MIN_SUPPORT,
  expectedFor,
  failedRunIds,
  outcomesOf,
  proposalsFor,
  runConfig,
  countRunsFor,
  storedTrajectoriesFor,
  trajectoriesFor,
  type RunConfig,
} from "./inputs.js";
import { ProgressPlan } from "./progress.js";
import { chooseProvider, modelFor, type ProviderContext } from "./providers.js";
import { HOST, aliveElsewhere, isTerminal, newRunId, type RunHandle, type RunTracker } from "./runs.js";
import { WorkQueue, type WorkSummary } from "./work-queue.js";
import type { DraftChecks } from "./draft-checks.js";
import { inheritProvenance } from "./lineage.js";
import { describeRetirements, settleRetirements } from "./retirement.js";
import { describeAnalysisFailures } from "./checks-summary.js";

export const DEFAULT_CONCURRENCY = 8;
/** Diagnoses kept per provenance entry: enough to see why a rule exists. */
const MAX_DIAGNOSES = 5;
export { DEFAULT_MIN_SUPPORT };

export interface EvolutionDeps {
  store: Store;
  runs: RunTracker;
  modelConfig: ModelConfig | null;
  concurrency: number;
  /** Workers on the same PostgreSQL database (fleet/dispatch.ts): when some run the model, analyses and merges go to them. */
  fleet?: Fleet | null;
}

/** What the caller brings per call: which surface, and the client's model for sampling. */
export interface CallContext {
  surface: "mcp" | "cli";
  sampling?: LanguageModel;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message: string) => void;
}

export interface ProposeInput {
  skill: string;
  trajectoryIds?: string[];
  baseVersion?: number;
  purpose?: string;
  provider?: ProviderName;
  concurrency?: number;
  agentic?: boolean;
  /** Set when an evolve run proposes: agent-mode work is then that run's. */
  runId?: string;
  /** Share of the failed runs kept out to check the draft on (default 0.2 with at least 10 failures; 0: none). */
  holdout?: number;
}

export interface ProposeResult {
  skill: string;
  baseVersion: number;
  createdSkill: boolean;
  provider: ProviderName;
  trajectories: number;
  analysed: number;
  cached: number;
  failures: { trajectoryId: string; error: string }[];
  skipped: { trajectoryId: string; reason: string }[];
  lessons: { title: string; kind: string; support: number }[];
  edits: number;
  usage: Usage;
  /** Verdicts for runs nobody labelled, made before analysing (null: none needed, or agent mode). */
  judging: JudgeSummary | null;
  /** What the analyses saw but did not turn into rules (the heuristic's correlations). */
  observations: string[];
  /** Agent mode: where the analyses for the calling agent stand (list them with the work queue). */
  work: WorkSummary | null;
}

export interface ConsolidateInput {
  skill: string;
  baseVersion?: number;
  fanIn?: number;
  minSupport?: number;
  provider?: ProviderName;
  concurrency?: number;
}

export interface ConsolidateOutput {
  runId: string;
  skill: string;
  baseVersion: number;
  /** draft: a new version; existing: the result equals a stored version (`version`); needs-work: agent mode. */
  status: "draft" | "existing" | "no-change" | "no-patches" | "needs-work";
  version: number | null;
  patches: number;
  levels: number;
  applied: number;
  dropped: number;
  skipped: number;
  blocked: number;
  changelog: string[];
  validation: ValidationReport | null;
  usage: Usage;
  diff: string;
  /** Agent mode: where the work for the calling agent stands (items are listed by the work queue). */
  work: WorkSummary | null;
  /** Seen by the analyses but not rules (correlations): reported, never written into the skill. */
  observations?: string[];
}

/**
 * The method's stages put together over the store: analyse (propose lessons), merge and
 * apply (consolidate) and both in one run (evolve). Work items for agent mode carry ids
 * that name what they are for, so accepting them back needs no server-side session state.
 */
export class Evolution {
  readonly work: WorkQueue;
  private readonly checks: DraftChecks;

  constructor(private readonly deps: EvolutionDeps) {
    this.work = new WorkQueue(deps.store);
    this.checks = this.work.checks;
  }

  async closeFleet(): Promise<void> {
    await this.deps.fleet?.close();
  }

  /** The fleet, when workers with this model are alive (only for the server's own model). */
  private async fleetFor(provider: ProviderName, model: LanguageModel | undefined): Promise<Fleet | null> {
    const fleet = this.deps.fleet;
    if (!fleet || provider !== "openai-compatible" || !model) return null;
    const slots = await fleet.liveWorkers(model.model);
    if (slots === 0) return null;
    log.info("handing analyses and merges to the worker fleet", { model: model.model, slots });
    return fleet;
  }

  private providerContext(ctx: CallContext): ProviderContext {
    return { modelConfig: this.deps.modelConfig, sampling: ctx.sampling, surface: ctx.surface };
  }

  // ── stage 2: analysis ─────────────────────────────────────────────────────

  async propose(input: ProposeInput, ctx: CallContext): Promise<ProposeResult> {
    const { store } = this.deps;
    const provider = chooseProvider(input.provider, this.providerContext(ctx));
    const base = await resolveBase(store, input.skill, input.baseVersion, input.purpose);
    // Runs nobody labelled are judged first, on the same provider; agent mode lists them as work.
    const stored = await storedTrajectoriesFor(store, input.skill, input.trajectoryIds);
    const judging =
      provider !== "agent" && stored.some((t) => t.outcome.success === null)
        ? await judgeRuns({
            store,
            trajectories: stored,
            judge: provider,
            model: modelFor(provider, this.providerContext(ctx)),
            concurrency: input.concurrency ?? this.deps.concurrency,
            signal: ctx.signal,
          })
        : null;
    // Verdicts just stored are on disk, not in `stored`: read again only then.
    const trajectories = judging ? await trajectoriesFor(store, input.skill, input.trajectoryIds) : stored.map(withJudgedOutcome);
    const summary = {
      skill: input.skill,
      baseVersion: base.version,
      createdSkill: base.created,
      provider,
      trajectories: trajectories.length,
    };
    if (provider === "agent") {
      const work = await this.work.summary(
        input.runId ? { runId: input.runId } : { skill: input.skill, baseVersion: base.version },
      );
      return {
        ...summary,
        analysed: 0,
        cached: work.stage === "analysis" ? work.done : trajectories.length - work.unknownOutcome,
        failures: [],
        skipped: trajectories
          .filter((t) => "skip" in analystFor(t))
          .map((t) => ({ trajectoryId: t.id, reason: "outcome unknown: record it with set_outcome first" })),
        lessons: [],
        edits: 0,
        usage: emptyUsage(),
        judging: null,
        observations: [],
        work,
      };
    }
    const model = modelFor(provider, this.providerContext(ctx));
    const fleet = await this.fleetFor(provider, model);
    const result = await runAnalyses({
      store,
      skill: input.skill,
      base: { version: base.version, folder: base.folder },
      trajectories,
      provider,
      model,
      ...(fleet ? { remote: (job: AnalysisJob, signal?: AbortSignal) => fleet.analyse(job, signal) } : {}),
      concurrency: input.concurrency ?? this.deps.concurrency,
      agentic: input.agentic,
      onProgress: ctx.onProgress,
      signal: ctx.signal,
    });
    const lessons = result.analyses.flatMap((a) => a.lessons);
    return {
      ...summary,
      analysed: result.analyses.length - result.cached,
      cached: result.cached,
      failures: result.failures,
      skipped: result.skipped,
      lessons: recurringLessons(lessons),
      edits: result.analyses.reduce((n, a) => n + a.patch.edits.length, 0),
      usage: judging ? addUsage(result.usage, judging.usage) : result.usage,
      judging,
      observations: [...new Set(result.analyses.flatMap((a) => a.observations ?? []))],
      work: null,
    };
  }

  // ── stages 3–4: consolidation ────────────────────────────────────────────

  /** Start (or continue) a consolidation run; returns at once with its handle, the run goes on. */
  async startConsolidate(input: ConsolidateInput & { runId?: string }, ctx: CallContext): Promise<RunHandle> {
    // A provider that cannot be honoured is a bad request, answered before any run exists.
    chooseProvider(input.provider, this.providerContext(ctx));
    const existing = input.runId ? await this.resumable(input.runId) : null;
    let run: Run;
    if (existing) {
      run = { ...existing, stage: "queued", errors: [], config: { ...existing.config, ...stripUndefined({ provider: input.provider }) } };
    } else {
      const base = await resolveBase(this.deps.store, input.skill, input.baseVersion);
      run = newRun("consolidate", input.skill, {
        baseVersion: base.version,
        fanIn: input.fanIn ?? DEFAULT_FAN_IN,
        minSupport: input.minSupport ?? DEFAULT_MIN_SUPPORT,
        provider: input.provider,
      });
    }
    return this.deps.runs.start(
      run,
      async (handle) => {
        reportTo(handle, ctx);
        const out = await this.consolidateIn(handle, input, runConfig(handle.run), ctx);
        return { resultVersion: out.version };
      },
      ctx.signal,
    );
  }

  /**
   * Claim a run to start it again: not running in this or another live process, and not
   * finished (unless it waits for agent work). The check and the claim are one step under
   * the store's lock, so of two processes resuming at once exactly one gets the run.
   */
  private async resumable(runId: string): Promise<Run> {
    if (this.deps.runs.isLive(runId)) throw new InvalidInputError(`Run ${runId} is still running; poll it with get_run.`);
    if (!(await this.deps.store.getRun(runId))) throw new InvalidInputError(`Run ${runId} not found. Omit the run id to start a new run.`);
    return this.deps.store.claimRun(runId, async (current) => {
      // Alive on this machine (its pid) or on another (its heartbeat): only one process runs a run.
      if (!isTerminal(current.stage) && aliveElsewhere(current)) {
        const where = current.host && current.host !== HOST ? `on ${current.host.split("#")[0]}` : `pid ${current.pid}`;
        throw new InvalidInputError(`Run ${runId} is still running in another server process (${where}); poll it with get_run.`);
      }
      if (current.stage === "done") {
        const result = await this.deps.store.readRunArtifact<{ status?: string }>(runId, "result");
        if (result?.status !== "needs-work") {
          throw new InvalidInputError(`Run ${runId} already finished (version ${current.resultVersion ?? "none"}); start a new run instead.`);
        }
      }
      // Claimed for this process at once, so a second claim (another replica) sees it taken.
      const now = new Date().toISOString();
      return { ...current, stage: "queued", errors: [], pid: process.pid, host: HOST, heartbeatAt: now, updatedAt: now };
    });
  }

  /** The consolidation stage inside a run; writes its output as the run's "result" artefact. */
  async consolidateIn(
    handle: RunHandle,
    input: { skill: string; concurrency?: number },
    config: RunConfig,
    ctx: CallContext,
    analyses = 0,
  ): Promise<ConsolidateOutput> {
    const { store } = this.deps;
    const skill = handle.run.skill;
    const base = await resolveBase(store, skill, config.baseVersion);
    const provider = chooseProvider(config.provider, this.providerContext(ctx));
    const { patches, rules } = await proposalsFor(store, skill, base, { trajectoryIds: config.trajectoryIds, provider, minSupport: config.minSupport });
    const plan = new ProgressPlan(analyses, patches.length, config.fanIn);
    // A consolidate run fixes its total here; an evolve run fixed it before analysing (plan() keeps the first).
    handle.plan(plan.total);
    const empty: ConsolidateOutput = { ...emptyOutput(handle, base.version), patches: patches.length };
    const finish = async (out: ConsolidateOutput) => {
      await store.writeRunArtifact(handle.id, "result", out);
      if (out.status !== "needs-work") await handle.complete(`done: ${out.status}`);
      return out;
    };
    if (patches.length === 0) {
      return finish({ ...empty, changelog: ["No proposed edits for this base version: either the runs have not been analysed yet (propose_lessons, or trace2skill analyse; runs with an unknown outcome are skipped) or their analyses proposed no change."] });
    }
    const checkpoints = runArtifactCheckpoints(store, handle.id);
    const expectedById = await expectedFor(store, patches);
    if (provider === "agent") {
      // The work queue derives the merge groups from the same guarded patches consolidate() starts from.
      const work = await this.work.summary({ runId: handle.id });
      if (work.stage === "merge") {
        await handle.progress(plan.merged(work.level ?? 1, work.done), `agent mode: ${work.pending} merge(s) of level ${work.level}/${work.levels} to do`);
        await handle.stage("merging", `agent mode: ${work.pending} merge(s) of level ${work.level}/${work.levels} to do`);
        return finish({ ...empty, status: "needs-work", levels: work.levels ?? 0, work });
      }
      if (work.stage !== "ready") return this.awaitChecks(handle, work, finish, empty);
    }
    const outcomes = await outcomesOf(store, skill);
    const known = [...outcomes.values()].filter((o) => o !== null).length;

    await handle.stage("merging", `merging ${patches.length} patch(es), fan-in ${config.fanIn}`);
    const model = modelFor(provider, this.providerContext(ctx));
    const fleet = await this.fleetFor(provider, model);
    const result = await consolidate({
      base: { version: base.version, folder: base.folder },
      patches,
      merge: provider === "agent" ? "agent" : model ? "model" : "deterministic",
      model,
      ...(fleet && model
        ? { modelMergeFn: fleet.mergeFn({ skill, version: base.version, hash: base.hash }, model.model, modelMerge(model, base.folder, { outcomes }), outcomes) }
        : {}),
      expectedById,
      outcomes,
      totalTrajectories: known,
      fanIn: config.fanIn,
      minSupport: config.minSupport,
      concurrency: input.concurrency ?? this.deps.concurrency,
      checkpoints,
      signal: handle.signal,
      onProgress: (p) => {
        const at = p.merge ? plan.merged(p.merge.level, p.merge.done) : plan.applying();
        void handle.progress(at, `${p.stage}: ${p.message}`);
      },
    });
    let usage = addUsage(handle.run.usage, result.usage);
    handle.usage(usage);
    await store.writeRunArtifact(handle.id, "final-patch", result.patch);
    // The draft is reviewed and checked on the held-out failures before it is stored (draft-checks.ts).
    const checked = sameFolder(result.folder, base.folder)
      ? { folder: result.folder, usage: emptyUsage() }
      : await this.checks.check({
          runId: handle.id,
          skill,
          base,
          config,
          provider,
          model,
          draft: result.folder,
          expectedById,
          concurrency: input.concurrency ?? this.deps.concurrency,
          signal: handle.signal,
          onStage: (message) => handle.stage("applying", message),
        });
    if (checked === "pending") {
      return this.awaitChecks(handle, await this.work.summary({ runId: handle.id }), finish, { ...empty, levels: result.levels });
    }
    const { folder, review, holdout } = checked;
    usage = addUsage(usage, checked.usage);
    handle.usage(usage);
    await handle.stage("applying", "storing the new version");
    const out: ConsolidateOutput = {
      ...empty,
      status: "no-change",
      levels: result.levels,
      applied: result.applied.length,
      dropped: result.dropped.length,
      skipped: result.skipped.length,
      blocked: result.violations.length,
      changelog: result.changelog,
      validation: result.validation,
      usage,
    };
    if (sameFolder(folder, base.folder)) return finish(out);
    // The same result as an existing version (e.g. a repeated run over the same analyses): point at it.
    const resultHash = contentHash(folder);
    const twin = (await store.listSkillVersions(skill)).find((v) => v.contentHash === resultHash);
    if (twin) {
      await handle.finish({ resultVersion: twin.version });
      return finish({ ...out, status: "existing", version: twin.version, changelog: [`Same result as v${twin.version} (${twin.status}); no new version stored.`, ...out.changelog] });
    }
    const diff = diffSkillFolders(base.folder, folder);
    const flags = riskyAdditions(base.folder, folder);
    const fresh = await this.withDiagnoses(skill, base, result.provenance);
    // The over-fitting audit is about what this evolve adds; rules carried over keep their provenance.
    const audit = auditDraft(fresh, await this.supportingRuns(fresh));
    const baseProvenance = (await store.getSkillVersion(skill, base.version))?.meta.provenance ?? [];
    const provenance = inheritProvenance(base.version, baseProvenance, folder, fresh);
    const weighed = settleRetirements(rules, folder);
    const audited = describeAudit(audit);
    const changelog = [
      ...result.changelog,
      ...describeRetirements(weighed),
      ...(review ? [describeReview(review)] : []),
      ...(holdout ? [describeHoldout(holdout)] : []),
      ...(audited ? [audited] : []),
      ...(flags.length === 0
        ? []
        : [`FLAGGED for review: ${flags.length} added line(s) look like planted commands or injected instructions; promote refuses until acknowledged.`]),
    ];
    // A draft made while some analyses failed says so, in its record and in promote's answer.
    const summary = await store.readRunArtifact<ProposeResult>(handle.id, "analysis-summary");
    const failedAnalyses = summary && summary.failures.length > 0
      ? { failed: summary.failures.length, attempted: summary.analysed + summary.cached + summary.failures.length, first: summary.failures[0]?.error ?? "" }
      : undefined;
    if (failedAnalyses) changelog.unshift(describeAnalysisFailures(failedAnalyses));
    const validation = folder === result.folder ? result.validation : validateSkill(folder);
    const meta = await store.addSkillVersion({
      skill,
      folder,
      detail: {
        parent: base.version,
        status: "draft",
        origin: "evolve",
        changelog,
        runId: handle.id,
        valid: validation.valid,
        diff,
        provenance,
        audit,
        review,
        holdout,
        analysisFailures: failedAnalyses,
        ...(weighed.length > 0 ? { rules: weighed } : {}),
        validation,
        usage,
        dropped: [
          ...result.dropped.map((d) => `${d.edit.op} ${d.edit.file}: ${d.reason}`),
          ...result.violations.map((v) => `${v.edit.op} ${v.edit.file}: ${v.guard}: ${v.message}`),
          ...result.skipped.map((s) => `${s.edit.op} ${s.edit.file}: ${s.reason}`),
        ],
        flags,
      },
    });
    await handle.finish({ resultVersion: meta.version });
    return finish({ ...out, status: "draft", version: meta.version, diff, changelog });
  }

  /** Agent mode: the draft waits for its review or held-out checks, listed by the work queue. */
  private async awaitChecks(
    handle: RunHandle,
    work: WorkSummary,
    finish: (out: ConsolidateOutput) => Promise<ConsolidateOutput>,
    empty: ConsolidateOutput,
  ): Promise<ConsolidateOutput> {
    const what = work.stage === "review" ? "review of the draft" : `${work.pending} held-out check(s)`;
    await handle.stage("applying", `agent mode: ${what} to do`);
    return finish({ ...empty, status: "needs-work", work });
  }

  private async supportingRuns(provenance: ProvenanceEntry[]): Promise<Map<string, Trajectory>> {
    const runs = new Map<string, Trajectory>();
    for (const id of new Set(provenance.flatMap((p) => p.support))) {
      const t = await this.deps.store.getTrajectory(id);
      if (t) runs.set(id, t);
    }
    return runs;
  }

  /** Each passage's provenance with the diagnoses of (a few of) its supporting runs. */
  private async withDiagnoses(skill: string, base: BaseVersion, provenance: ProvenanceEntry[]): Promise<ProvenanceEntry[]> {
    const byRun = new Map<string, Diagnosis>();
    for (const a of await this.deps.store.listAnalyses({ skill, baseHash: base.hash })) {
      const [only] = a.trajectoryIds;
      if (a.diagnosis && only && a.trajectoryIds.length === 1) byRun.set(only, a.diagnosis);
    }
    return provenance.map((p) => {
      const diagnoses = p.support.flatMap((id) => {
        const d = byRun.get(id);
        return d ? [{ trajectoryId: id, ...d }] : [];
      });
      return diagnoses.length > 0 ? { ...p, diagnoses: diagnoses.slice(0, MAX_DIAGNOSES) } : p;
    });
  }

  // ── both stages in one run ────────────────────────────────────────────────

  /** Start (or resume) an evolve run; returns at once with its handle, the run goes on. */
  async startEvolve(rawInput: ProposeInput & ConsolidateInput & { resumeRunId?: string }, ctx: CallContext): Promise<RunHandle> {
    const { store, runs } = this.deps;
    // The purpose is stored in the run record and becomes the scaffold's description: redacted first.
    const input = rawInput.purpose === undefined ? rawInput : { ...rawInput, purpose: redactSecrets(rawInput.purpose).value };
    chooseProvider(input.provider, this.providerContext(ctx));
    let run: Run;
    let args = input;
    if (input.resumeRunId) {
      const existing = await this.resumable(input.resumeRunId);
      args = { ...(existing.config as unknown as typeof input), ...stripUndefined({ provider: input.provider, concurrency: input.concurrency }) };
      run = { ...existing, stage: "queued", errors: [] };
    } else {
      // Resolve (and, in create mode, create) the base before the run starts, so the run records it.
      const base = await resolveBase(store, input.skill, input.baseVersion, input.purpose);
      // A share of the failures is kept out of the analyses, to check the draft on runs it was not made from.
      const { pool, failed } = await failedRunIds(store, input.skill, input.trajectoryIds);
      const heldOut = selectHoldout(failed, input.holdout ?? DEFAULT_HOLDOUT_SHARE);
      const kept = new Set(heldOut);
      args = heldOut.length > 0 ? { ...input, trajectoryIds: pool.filter((id) => !kept.has(id)) } : input;
      run = newRun("evolve", input.skill, {
        ...stripUndefined({ ...args }),
        ...(heldOut.length > 0 ? { heldOut } : {}),
        baseVersion: base.version,
        fanIn: input.fanIn ?? DEFAULT_FAN_IN,
        minSupport: input.minSupport ?? DEFAULT_MIN_SUPPORT,
      });
    }
    const runArgs = args;
    return runs.start(
      run,
      async (handle) => {
        reportTo(handle, ctx);
        const config = runConfig(handle.run);
        const analysable = await countRunsFor(store, handle.run.skill, runArgs.trajectoryIds);
        const provider = chooseProvider(config.provider, this.providerContext(ctx));
        // The heuristic reads every run at once and proposes one patch: one unit, nothing to merge.
        const analyses = provider === "heuristic" ? 1 : analysable;
        handle.plan(new ProgressPlan(analyses, provider === "heuristic" ? 1 : analysable, config.fanIn).total);
        await handle.stage("analysing", "analysing trajectories");
        const proposed = await this.propose({ ...runArgs, baseVersion: config.baseVersion, provider: config.provider, runId: handle.id }, {
          ...ctx,
          signal: handle.signal,
          onProgress: (done, _total, message) => void handle.progress(Math.min(done, analyses), `analysing: ${message}`),
        });
        handle.usage(addUsage(handle.run.usage, proposed.usage));
        await store.writeRunArtifact(handle.id, "analysis-summary", proposed);
        const failed = proposed.failures.length;
        if (failed > 0) {
          const attempted = proposed.analysed + proposed.cached + failed;
          const first = proposed.failures[0]?.error ?? "";
          if (failed === attempted) throw new ModelError(`All ${failed} analyses failed; the first: ${first}`);
          handle.warn(
            `${failed} of ${attempted} analyses failed (first: ${first}). The draft is made from the others; ` +
              `evolve again (or resume this run) to retry them: finished analyses are cached.`,
          );
        }
        if (proposed.work && (proposed.work.stage === "analysis" || proposed.work.stage === "judging")) {
          const work = proposed.work;
          const what = work.stage === "judging" ? "runs to judge" : "analyses to do";
          if (work.stage === "analysis") await handle.progress(work.done, `agent mode: ${work.pending} of ${work.total} ${what}`);
          await handle.stage(work.stage === "judging" ? "judging" : "analysing", `agent mode: ${work.pending} of ${work.total} ${what}`);
          await store.writeRunArtifact(handle.id, "result", {
            ...emptyOutput(handle, config.baseVersion ?? proposed.baseVersion),
            status: "needs-work",
            work,
          } satisfies ConsolidateOutput);
          return {};
        }
        await handle.progress(analyses, "analyses done");
        const out = await this.consolidateIn(handle, runArgs, config, ctx, analyses);
        if ((proposed.judging && proposed.judging.unlabelled > 0) || proposed.observations.length > 0) {
          const result = (await store.readRunArtifact<ConsolidateOutput>(handle.id, "result")) ?? out;
          const judged = proposed.judging && proposed.judging.unlabelled > 0 ? [describeJudging(proposed.judging)] : [];
          await store.writeRunArtifact(handle.id, "result", { ...result, changelog: [...judged, ...result.changelog], observations: proposed.observations });
        }
        if (out.status === "no-patches" && proposed.skipped.length > 0) {
          await store.writeRunArtifact(handle.id, "result", {
            ...out,
            changelog: [
              ...out.changelog,
              `${proposed.skipped.length} of ${proposed.trajectories} run(s) were skipped because their outcome is unknown: ` +
                `record outcomes with set_outcome (CLI: trace2skill outcome <id> --success|--failure) and evolve again.`,
            ],
          });
        }
        return { resultVersion: out.version };
      },
      ctx.signal,
    );
  }
}


/** The caller hears the run's forward-only progress. */
function reportTo(handle: RunHandle, ctx: CallContext): void {
  if (ctx.onProgress) handle.onProgress((p) => ctx.onProgress?.(p.done, p.total, p.message));
}

// ── helpers ────────────────────────────────────────────────────────────────

/** Lessons with the same kind and title, from different runs, counted as one with their joint support. */
function recurringLessons(lessons: Lesson[], limit = 20): { title: string; kind: string; support: number }[] {
  const byKey = new Map<string, { title: string; kind: string; ids: Set<string> }>();
  for (const l of lessons) {
    const key = `${l.kind}\u0000${l.title.trim().toLowerCase()}`;
    const entry = byKey.get(key) ?? { title: l.title, kind: l.kind, ids: new Set<string>() };
    for (const id of l.support) entry.ids.add(id);
    byKey.set(key, entry);
  }
  return [...byKey.values()]
    .map((e) => ({ title: e.title, kind: e.kind, support: e.ids.size }))
    .sort((a, b) => b.support - a.support)
    .slice(0, limit);
}

function emptyOutput(handle: RunHandle, baseVersion: number): ConsolidateOutput {
  return {
    runId: handle.id,
    skill: handle.run.skill,
    baseVersion,
    status: "no-patches",
    version: null,
    patches: 0,
    levels: 0,
    applied: 0,
    dropped: 0,
    skipped: 0,
    blocked: 0,
    changelog: [],
    validation: null,
    usage: handle.run.usage,
    diff: "",
    work: null,
  };
}

function newRun(kind: Run["kind"], skill: string, config: object): Run {
  const now = new Date().toISOString();
  return {
    id: newRunId(kind),
    skill,
    kind,
    stage: "queued",
    config: stripUndefined({ ...config }) as Record<string, unknown>,
    progress: { done: 0, total: 0, message: "queued" },
    usage: emptyUsage(),
    resultVersion: null,
    errors: [],
    createdAt: now,
    updatedAt: now,
    pid: process.pid,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function sameFolder(a: SkillFolder, b: SkillFolder): boolean {
  return contentHash(a) === contentHash(b);
}
