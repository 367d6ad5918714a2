import type { Analysis, Lesson, Patch } from "../analysis/schema.js";
import type { Usage } from "../llm/usage.js";
import { runAnalyses } from "../analysis/run-analysis.js";
import { acceptAnalysisSubmission, buildWorkItem, type AnalysisWorkItem } from "../analysis/work-items.js";
import { runArtifactCheckpoints } from "../consolidation/checkpoints.js";
import { consolidate, DEFAULT_FAN_IN, precheckPatches } from "../consolidation/consolidate.js";
import { nextMergeWork } from "../consolidation/merge-tree.js";
import { acceptMergeSubmission, buildMergeWorkItem, type MergeWorkItem } from "../consolidation/work-items.js";
import type { ModelConfig } from "../llm/config.js";
import type { LanguageModel, ProviderName } from "../llm/port.js";
import { addUsage, emptyUsage } from "../llm/usage.js";
import { diffSkillFolders } from "../skill/diff.js";
import { contentHash } from "../skill/content-hash.js";
import { riskyAdditions } from "../consolidation/guards.js";
import type { SkillFolder, ValidationReport } from "../skill/types.js";
import type { Run } from "../store/run.js";
import type { Store } from "../store/store.js";
import { findSharedContext } from "../trajectory/render.js";
import type { Trajectory } from "../trajectory/schema.js";
import { InvalidInputError, ModelError, TrajectoryNotFoundError } from "../util/errors.js";
import { hashJson } from "../util/hash.js";
import { resolveBase, type BaseVersion } from "./base.js";
import { chooseProvider, modelFor, type ProviderContext } from "./providers.js";
import { newRunId, type RunHandle, type RunTracker } from "./runs.js";
import { analysisWorkItemId, mergeWorkItemId, parseWorkItemId } from "./work-item-ids.js";

export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_MIN_SUPPORT = 2;
export const DEFAULT_MAX_WORK_ITEMS = 5;

export interface EvolutionDeps {
  store: Store;
  runs: RunTracker;
  modelConfig: ModelConfig | null;
  concurrency: number;
}

/** What the caller brings per call: which surface, and the client's model for sampling. */
export interface CallContext {
  surface: "mcp" | "cli";
  sampling?: LanguageModel;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message: string) => void;
}

/** An analysis work item as the calling agent gets it. */
export type AgentAnalysisItem = Omit<AnalysisWorkItem, "id" | "baseSkill"> & { workItemId: string };

/** A merge work item as the calling agent gets it. */
export type AgentMergeItem = Omit<MergeWorkItem, "id"> & { workItemId: string };

export interface ProposeInput {
  skill: string;
  trajectoryIds?: string[];
  baseVersion?: number;
  purpose?: string;
  provider?: ProviderName;
  concurrency?: number;
  agentic?: boolean;
  maxWorkItems?: number;
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
  /** Agent mode: analyses for the calling agent to do, and how many remain after these. */
  workItems: AgentAnalysisItem[];
  remainingWorkItems: number;
}

export interface ConsolidateInput {
  skill: string;
  baseVersion?: number;
  fanIn?: number;
  minSupport?: number;
  provider?: ProviderName;
  concurrency?: number;
  maxWorkItems?: number;
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
  /** Agent mode: analyses or merges for the calling agent to do before calling again. */
  workItems: (AgentAnalysisItem | AgentMergeItem)[];
}

/**
 * The method's stages put together over the store: analyse (propose lessons), merge and
 * apply (consolidate) and both in one run (evolve). Work items for agent mode carry ids
 * that name what they are for, so accepting them back needs no server-side session state.
 */
export class Evolution {
  constructor(private readonly deps: EvolutionDeps) {}

  private providerContext(ctx: CallContext): ProviderContext {
    return { modelConfig: this.deps.modelConfig, sampling: ctx.sampling, surface: ctx.surface };
  }

  // ── stage 2: analysis ─────────────────────────────────────────────────────

  async propose(input: ProposeInput, ctx: CallContext): Promise<ProposeResult> {
    const { store } = this.deps;
    const provider = chooseProvider(input.provider, this.providerContext(ctx));
    const base = await resolveBase(store, input.skill, input.baseVersion, input.purpose);
    const trajectories = await this.trajectoriesFor(input.skill, input.trajectoryIds);
    const summary = {
      skill: input.skill,
      baseVersion: base.version,
      createdSkill: base.created,
      provider,
      trajectories: trajectories.length,
    };
    if (provider === "agent") {
      const { items, remaining, skipped } = await this.pendingAnalysisItems(input.skill, base, trajectories, input.maxWorkItems);
      return {
        ...summary,
        analysed: 0,
        cached: trajectories.length - skipped.length - remaining - items.length,
        failures: [],
        skipped,
        lessons: [],
        edits: 0,
        usage: emptyUsage(),
        workItems: items,
        remainingWorkItems: remaining,
      };
    }
    const result = await runAnalyses({
      store,
      skill: input.skill,
      base: { version: base.version, folder: base.folder },
      trajectories,
      provider,
      model: modelFor(provider, this.providerContext(ctx)),
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
      usage: result.usage,
      workItems: [],
      remainingWorkItems: 0,
    };
  }

  private async trajectoriesFor(skill: string, ids?: string[]): Promise<Trajectory[]> {
    const { store } = this.deps;
    if (ids && ids.length > 0) {
      const found = await Promise.all(ids.map((id) => store.getTrajectory(id)));
      return found.map((t, i) => {
        if (!t) throw new TrajectoryNotFoundError(ids[i] as string);
        return t;
      });
    }
    const rows = latestPerSession(await store.listTrajectories({ skill }));
    const all = await Promise.all(rows.map((r) => store.getTrajectory(r.id)));
    return all.filter((t): t is Trajectory => t !== null);
  }

  private async pendingAnalysisItems(skill: string, base: BaseVersion, trajectories: Trajectory[], max = DEFAULT_MAX_WORK_ITEMS) {
    const shared = findSharedContext(trajectories);
    const skipped: { trajectoryId: string; reason: string }[] = [];
    const pending: AgentAnalysisItem[] = [];
    for (const t of trajectories) {
      if (t.outcome.success === null) {
        skipped.push({ trajectoryId: t.id, reason: "outcome unknown: record it with set_outcome first" });
        continue;
      }
      const item = buildWorkItem(t, base.folder, { shared });
      if (await this.deps.store.getAnalysis(item.id)) continue;
      // Handed out without the internal cache key and the base skill (already in the instructions).
      const { id: _cacheKey, baseSkill: _inInstructions, ...handedOut } = item;
      pending.push({ ...handedOut, workItemId: analysisWorkItemId(skill, base.version, t.id) });
    }
    return { items: pending.slice(0, Math.max(1, max)), remaining: Math.max(0, pending.length - Math.max(1, max)), skipped };
  }

  // ── agent mode: results handed back ──────────────────────────────────────

  async submitWork(results: { workItemId: string; result: unknown }[]): Promise<{ accepted: string[]; rejected: { workItemId: string; error: string }[] }> {
    const accepted: string[] = [];
    const rejected: { workItemId: string; error: string }[] = [];
    for (const r of results) {
      try {
        const parsed = parseWorkItemId(r.workItemId);
        if (parsed.kind === "analysis") await this.acceptAnalysis(parsed, r.result);
        else await this.acceptMerge(parsed, r.result);
        accepted.push(r.workItemId);
      } catch (err) {
        rejected.push({ workItemId: r.workItemId, error: err instanceof Error ? err.message : String(err) });
      }
    }
    return { accepted, rejected };
  }

  private async acceptAnalysis(id: { skill: string; version: number; trajectoryId: string }, reply: unknown): Promise<void> {
    const { store } = this.deps;
    const base = await resolveBase(store, id.skill, id.version);
    const trajectory = await store.getTrajectory(id.trajectoryId);
    if (!trajectory || trajectory.skill !== id.skill) throw new TrajectoryNotFoundError(id.trajectoryId);
    const item = buildWorkItem(trajectory, base.folder);
    const processed = acceptAnalysisSubmission(item, reply, { trajectory, base: base.folder });
    const analysis: Analysis = {
      id: item.id,
      skill: id.skill,
      trajectoryIds: [trajectory.id],
      baseVersion: base.version,
      baseHash: base.hash,
      analyst: item.analyst,
      configHash: hashJson({ provider: "agent", analyst: item.analyst }),
      provider: "agent",
      lessons: processed.lessons,
      patch: processed.patch,
      usage: emptyUsage(),
      createdAt: new Date().toISOString(),
    };
    await store.putAnalysis(analysis);
  }

  private async acceptMerge(id: { runId: string; level: number; index: number }, reply: unknown): Promise<void> {
    const { store } = this.deps;
    const run = await store.getRun(id.runId);
    if (!run) throw new InvalidInputError(`Run ${id.runId} not found; call consolidate_skill again to get current work items.`);
    const config = runConfig(run);
    const base = await resolveBase(store, run.skill, config.baseVersion);
    const patches = await this.patchesFor(run.skill, base);
    const checkpoints = runArtifactCheckpoints(store, run.id);
    const guarded = precheckPatches(patches, { expectedById: await this.expectedFor(patches) }).patches;
    const next = await nextMergeWork({ patches: guarded, fanIn: config.fanIn, checkpoints });
    if (next.done || next.level !== id.level) {
      throw new InvalidInputError(`Merge ${id.level}.${id.index} of run ${run.id} is not pending any more; call consolidate_skill with run_id ${run.id} for the current items.`);
    }
    const group = next.pending.find((p) => p.index === id.index)?.group;
    if (!group) throw new InvalidInputError(`Merge ${id.level}.${id.index} of run ${run.id} is already done or does not exist.`);
    const item = buildMergeWorkItem(group, id.level, id.index, base.folder);
    const result = acceptMergeSubmission(item, group, reply);
    await checkpoints.saveGroup(id.level, id.index, { inputHash: item.inputHash, result });
  }

  // ── stages 3–4: consolidation ────────────────────────────────────────────

  /** Ground truth of every run that backs an edit: the guards keep its literals out of the skill. */
  private async expectedFor(patches: Patch[]): Promise<Map<string, string | undefined>> {
    const expected = new Map<string, string | undefined>();
    const supporting = new Set(patches.flatMap((p) => p.edits.flatMap((e) => e.support)));
    for (const id of supporting) expected.set(id, (await this.deps.store.getTrajectory(id))?.outcome.expected);
    return expected;
  }

  /** The proposed patches against a base: every analysis made for it (one heuristic analysis: the newest). */
  private async patchesFor(skill: string, base: BaseVersion) {
    const analyses = await this.deps.store.listAnalyses({ skill, baseHash: base.hash });
    const heuristic = analyses.filter((a) => a.provider === "heuristic").sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const chosen = [...analyses.filter((a) => a.provider !== "heuristic"), ...heuristic.slice(0, 1)];
    return chosen
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((a) => a.patch)
      .filter((p) => p.edits.length > 0);
  }

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
        const out = await this.consolidateIn(handle, input, runConfig(handle.run), ctx);
        return { resultVersion: out.version };
      },
      ctx.signal,
    );
  }

  /** A run that may be started again: not live, and not finished (unless it waits for agent work). */
  private async resumable(runId: string): Promise<Run> {
    const existing = await this.deps.runs.get(runId);
    if (!existing) throw new InvalidInputError(`Run ${runId} not found. Omit the run id to start a new run.`);
    if (this.deps.runs.isLive(runId)) throw new InvalidInputError(`Run ${runId} is still running; poll it with get_run.`);
    if (existing.stage === "done") {
      const result = await this.deps.store.readRunArtifact<{ status?: string }>(runId, "result");
      if (result?.status !== "needs-work") {
        throw new InvalidInputError(`Run ${runId} already finished (version ${existing.resultVersion ?? "none"}); start a new run instead.`);
      }
    }
    return existing;
  }

  /** The consolidation stage inside a run; writes its output as the run's "result" artefact. */
  async consolidateIn(
    handle: RunHandle,
    input: { skill: string; concurrency?: number; maxWorkItems?: number },
    config: RunConfig,
    ctx: CallContext,
  ): Promise<ConsolidateOutput> {
    const { store } = this.deps;
    const skill = handle.run.skill;
    const base = await resolveBase(store, skill, config.baseVersion);
    const provider = chooseProvider(config.provider, this.providerContext(ctx));
    const patches = await this.patchesFor(skill, base);
    const empty: ConsolidateOutput = { ...emptyOutput(handle, base.version), patches: patches.length };
    const finish = async (out: ConsolidateOutput) => {
      await store.writeRunArtifact(handle.id, "result", out);
      return out;
    };
    if (patches.length === 0) {
      return finish({ ...empty, changelog: ["No proposed edits for this base version: either the runs have not been analysed yet (propose_lessons, or trace2skill analyse; runs with an unknown outcome are skipped) or their analyses proposed no change."] });
    }
    const checkpoints = runArtifactCheckpoints(store, handle.id);
    const expectedById = await this.expectedFor(patches);
    if (provider === "agent") {
      // The same guarded patches consolidate() starts from, so the groups handed out are the ones it merges.
      const guarded = precheckPatches(patches, { expectedById }).patches;
      const next = await nextMergeWork({ patches: guarded, fanIn: config.fanIn, checkpoints });
      if (!next.done) {
        const items = next.pending.slice(0, input.maxWorkItems ?? DEFAULT_MAX_WORK_ITEMS).map(({ index, group }) => {
          const { id: _internalId, ...handedOut } = buildMergeWorkItem(group, next.level, index, base.folder);
          return { ...handedOut, workItemId: mergeWorkItemId(handle.id, next.level, index) };
        });
        await handle.stage("merging", `agent mode: ${next.pending.length} merge(s) of level ${next.level}/${next.levels} to do`);
        return finish({ ...empty, status: "needs-work", levels: next.levels, workItems: items });
      }
    }
    const outcomes = new Map<string, boolean | null>();
    const rows = await store.listTrajectories({ skill });
    for (const row of rows) outcomes.set(row.id, row.success);

    await handle.stage("merging", `merging ${patches.length} patch(es), fan-in ${config.fanIn}`);
    const model = modelFor(provider, this.providerContext(ctx));
    const result = await consolidate({
      base: { version: base.version, folder: base.folder },
      patches,
      merge: provider === "agent" ? "agent" : model ? "model" : "deterministic",
      model,
      expectedById,
      outcomes,
      totalTrajectories: rows.filter((r) => r.success !== null).length,
      fanIn: config.fanIn,
      minSupport: config.minSupport,
      concurrency: input.concurrency ?? this.deps.concurrency,
      checkpoints,
      signal: handle.signal,
      onProgress: (p) => {
        void handle.progress(p.merge?.done ?? 0, p.merge?.total ?? 0, p.message);
        ctx.onProgress?.(p.merge?.done ?? 0, p.merge?.total ?? 0, p.message);
      },
    });
    const usage = addUsage(handle.run.usage, result.usage);
    handle.usage(usage);
    await store.writeRunArtifact(handle.id, "final-patch", result.patch);
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
    if (sameFolder(result.folder, base.folder)) return finish(out);
    // The same result as an existing version (e.g. a repeated run over the same analyses): point at it.
    const resultHash = contentHash(result.folder);
    const twin = (await store.listSkillVersions(skill)).find((v) => v.contentHash === resultHash);
    if (twin) {
      await handle.finish({ resultVersion: twin.version });
      return finish({ ...out, status: "existing", version: twin.version, changelog: [`Same result as v${twin.version} (${twin.status}); no new version stored.`, ...out.changelog] });
    }
    const diff = diffSkillFolders(base.folder, result.folder);
    const flags = riskyAdditions(base.folder, result.folder);
    const changelog = flags.length === 0 ? result.changelog : [
      ...result.changelog,
      `FLAGGED for review: ${flags.length} added line(s) look like planted commands or injected instructions; promote refuses until acknowledged.`,
    ];
    const meta = await store.addSkillVersion({
      skill,
      folder: result.folder,
      detail: {
        parent: base.version,
        status: "draft",
        origin: "evolve",
        changelog,
        runId: handle.id,
        valid: result.validation.valid,
        diff,
        provenance: result.provenance,
        validation: result.validation,
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

  // ── both stages in one run ────────────────────────────────────────────────

  /** Start (or resume) an evolve run; returns at once with its handle, the run goes on. */
  async startEvolve(input: ProposeInput & ConsolidateInput & { resumeRunId?: string }, ctx: CallContext): Promise<RunHandle> {
    const { store, runs } = this.deps;
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
      run = newRun("evolve", input.skill, {
        ...stripUndefined({ ...input }),
        baseVersion: base.version,
        fanIn: input.fanIn ?? DEFAULT_FAN_IN,
        minSupport: input.minSupport ?? DEFAULT_MIN_SUPPORT,
      });
    }
    const runArgs = args;
    return runs.start(
      run,
      async (handle) => {
        const config = runConfig(handle.run);
        await handle.stage("analysing", "analysing trajectories");
        const proposed = await this.propose({ ...runArgs, baseVersion: config.baseVersion, provider: config.provider }, {
          ...ctx,
          signal: handle.signal,
          onProgress: (done, total, message) => {
            void handle.progress(done, total, message);
            ctx.onProgress?.(done, total, message);
          },
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
        if (proposed.workItems.length > 0) {
          await handle.stage("analysing", `agent mode: ${proposed.workItems.length + proposed.remainingWorkItems} analyses to do`);
          await store.writeRunArtifact(handle.id, "result", {
            ...emptyOutput(handle, config.baseVersion ?? proposed.baseVersion),
            status: "needs-work",
            workItems: proposed.workItems,
          });
          return {};
        }
        const out = await this.consolidateIn(handle, runArgs, config, ctx);
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

/**
 * A Claude Code Stop hook fires after every answer, so one session arrives as a series of
 * growing snapshots tagged `session:<id>`. They are all kept (nothing submitted is lost), but
 * only the most complete snapshot of a session counts as evidence.
 */
export function latestPerSession<T extends { tags: string[]; steps: number; createdAt: string }>(rows: T[]): T[] {
  const best = new Map<string, T>();
  const rest: T[] = [];
  for (const row of rows) {
    const session = row.tags.find((t) => t.startsWith("session:"));
    if (!session) {
      rest.push(row);
      continue;
    }
    const current = best.get(session);
    if (!current || row.steps > current.steps || (row.steps === current.steps && row.createdAt > current.createdAt)) best.set(session, row);
  }
  return [...rest, ...best.values()];
}

interface RunConfig {
  baseVersion?: number;
  fanIn: number;
  minSupport: number;
  provider?: ProviderName;
}

function runConfig(run: Run): RunConfig {
  const c = run.config as Partial<RunConfig>;
  return {
    baseVersion: typeof c.baseVersion === "number" ? c.baseVersion : undefined,
    fanIn: typeof c.fanIn === "number" ? c.fanIn : DEFAULT_FAN_IN,
    minSupport: typeof c.minSupport === "number" ? c.minSupport : DEFAULT_MIN_SUPPORT,
    provider: typeof c.provider === "string" ? (c.provider as ProviderName) : undefined,
  };
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
    workItems: [],
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
