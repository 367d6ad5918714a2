import { createLimiter } from "../util/limiter.js";
import type { LanguageModel, ProviderName } from "../llm/port.js";
import { addUsage, emptyUsage } from "../llm/usage.js";
import type { SkillFolder } from "../skill/types.js";
import type { Store } from "../store/store.js";
import { DEFAULT_RENDER_BUDGET_TOKENS, findSharedContext } from "../trajectory/render.js";
import type { Trajectory } from "../trajectory/schema.js";
import { InvalidInputError, errorMessage } from "../util/errors.js";
import { hashJson } from "../util/hash.js";
import { log } from "../util/log.js";
import type { AnalysisJob } from "../fleet/jobs.js";
import { analyseTrajectory, analystFor, type AnalystResult } from "./analysts.js";
import { mineHeuristicLessons } from "./heuristic.js";
import { analystPromptHash } from "./prompts.js";
import type { Usage } from "../llm/usage.js";
import type { Analysis, AnalystKind } from "./schema.js";

/**
 * Run the analysts of one skill over many trajectories against one frozen base version:
 * concurrently (wall time ≈ ceil(N / concurrency) model round-trips), cached (the same
 * trajectory, base content and analyst config is never paid for twice), and isolated
 * (one analyst's failure never loses the others; each analysis is stored as it finishes).
 */

/** Bumped when the heuristic miner changes what it would mine from the same runs. */
const HEURISTIC_MINER_VERSION = 2;

export interface AnalystConfig {
  provider: ProviderName;
  model: string;
  analyst: AnalystKind;
  prompt: string;
  budgetTokens: number;
  agentic: boolean;
  minSupport?: number;
}

export function analystConfig(input: {
  provider: ProviderName;
  model: string;
  kind: AnalystKind;
  budgetTokens?: number;
  agentic?: boolean;
  minSupport?: number;
}): AnalystConfig {
  const heuristic = input.kind === "heuristic";
  return {
    provider: input.provider,
    model: input.model,
    analyst: input.kind,
    prompt: heuristic ? `heuristic-miner-v${HEURISTIC_MINER_VERSION}` : analystPromptHash(),
    budgetTokens: heuristic ? 0 : (input.budgetTokens ?? DEFAULT_RENDER_BUDGET_TOKENS),
    agentic: input.agentic === true,
    minSupport: input.minSupport,
  };
}

/**
 * Cache key of one analysis. The shared context is left out on purpose: it only moves the
 * common text from the rendering to the instructions; the analyst sees the same content.
 */
export function analysisKey(input: { trajectoryId: string; base: SkillFolder; config: AnalystConfig }): string {
  return hashJson({ trajectoryId: input.trajectoryId, baseHash: hashJson(input.base), config: input.config });
}

export type AnalysisProvider = "openai-compatible" | "mcp-sampling" | "heuristic";

export interface RunAnalysesInput {
  store: Store;
  skill: string;
  base: { version: number; folder: SkillFolder };
  trajectories: Trajectory[];
  provider: AnalysisProvider;
  model?: LanguageModel;
  concurrency: number;
  onProgress?(done: number, total: number, message: string): void;
  signal?: AbortSignal;
  agentic?: boolean;
  budgetTokens?: number;
  /** Heuristic provider only: fewest runs behind a mined lesson. */
  minSupport?: number;
  /** Hand each analysis to a worker of the fleet instead of calling the model here (fleet/dispatch.ts). */
  remote?: (job: AnalysisJob, signal?: AbortSignal) => Promise<Analysis | null>;
}

export interface RunAnalysesResult {
  analyses: Analysis[];
  failures: Array<{ trajectoryId: string; error: string }>;
  /** Runs no analyst can judge (unknown outcome), with the reason. */
  skipped: Array<{ trajectoryId: string; reason: string }>;
  /** How many analyses came from the store instead of a model. */
  cached: number;
  /** Usage of this call only: cached analyses cost nothing now. */
  usage: Usage;
}

/** The stored analysis of one model analyst's reply (also made by fleet workers, so both store the same record). */
export function modelAnalysis(input: {
  key: string;
  skill: string;
  trajectoryId: string;
  base: { version: number; folder: SkillFolder };
  config: AnalystConfig;
  provider: ProviderName;
  result: AnalystResult;
}): Analysis {
  const { result } = input;
  if (result.dropped.length > 0) log.info("analyst output dropped", { trajectoryId: input.trajectoryId, dropped: result.dropped });
  return {
    id: input.key,
    skill: input.skill,
    trajectoryIds: [input.trajectoryId],
    baseVersion: input.base.version,
    baseHash: hashJson(input.base.folder),
    analyst: input.config.analyst,
    configHash: hashJson(input.config),
    provider: input.provider,
    lessons: result.lessons,
    diagnosis: result.diagnosis,
    patch: result.patch,
    ...(result.ruleVerdicts.length > 0 ? { ruleVerdicts: result.ruleVerdicts } : {}),
    usage: result.usage,
    createdAt: new Date().toISOString(),
  };
}

export async function runAnalyses(input: RunAnalysesInput): Promise<RunAnalysesResult> {
  if (!Number.isInteger(input.concurrency) || input.concurrency < 1) {
    throw new InvalidInputError(`Concurrency must be a whole number of at least 1, got ${input.concurrency}.`);
  }
  const skipped: RunAnalysesResult["skipped"] = [];
  const known = input.trajectories.filter((t) => {
    const choice = analystFor(t);
    if ("skip" in choice) skipped.push({ trajectoryId: t.id, reason: choice.skip });
    return !("skip" in choice);
  });
  if (input.provider === "heuristic") return { ...(await runHeuristic(input, known)), skipped };
  if (!input.model) {
    throw new InvalidInputError(
      `The ${input.provider} provider needs a model. Configure one (OPENAI_BASE_URL, OPENAI_API_KEY, TRACE2SKILL_MODEL) or use the heuristic provider.`,
    );
  }
  return { ...(await runModelAnalysts(input, input.model, known)), skipped };
}

type BatchOutcome = Omit<RunAnalysesResult, "skipped">;

async function runModelAnalysts(input: RunAnalysesInput, model: LanguageModel, ts: Trajectory[]): Promise<BatchOutcome> {
  const limit = createLimiter(input.concurrency);
  const shared = findSharedContext(input.trajectories);
  const baseHash = hashJson(input.base.folder);
  const agentic = input.agentic === true && model.supportsTools;
  let done = 0;
  let cached = 0;

  const analyse = async (t: Trajectory): Promise<{ analysis: Analysis; fromCache: boolean }> => {
    const choice = analystFor(t);
    if ("skip" in choice) throw new InvalidInputError(choice.skip);
    const kind = choice.kind;
    const config = analystConfig({ provider: input.provider, model: model.model, kind, budgetTokens: input.budgetTokens, agentic });
    const key = analysisKey({ trajectoryId: t.id, base: input.base.folder, config });
    const hit = await input.store.getAnalysis(key);
    if (hit) return { analysis: hit, fromCache: true };
    if (input.remote) {
      // A worker of the fleet makes it (fleet/worker.ts) and stores it under the same key.
      const job = { skill: input.skill, trajectoryId: t.id, baseVersion: input.base.version, baseHash, cacheKey: key, model: model.model, agentic, shared };
      const made = await input.remote({ ...job, ...(input.budgetTokens ? { budgetTokens: input.budgetTokens } : {}) }, input.signal);
      // null: no worker left for it, so it is made here after all.
      if (made) return { analysis: made, fromCache: false };
    }
    const result = await limit(
      () =>
        analyseTrajectory({
          model,
          trajectory: t,
          base: input.base.folder,
          shared,
          budgetTokens: input.budgetTokens,
          agentic,
          signal: input.signal,
        }),
      input.signal,
    );
    const analysis = modelAnalysis({ key, skill: input.skill, trajectoryId: t.id, base: input.base, config, provider: input.provider, result });
    await input.store.putAnalysis(analysis);
    return { analysis, fromCache: false };
  };

  const settled = await Promise.allSettled(
    ts.map(async (t) => {
      try {
        const r = await analyse(t);
        if (r.fromCache) cached++;
        input.onProgress?.(++done, ts.length, `${r.fromCache ? "cached" : "analysed"} ${t.id.slice(0, 12)}`);
        return r;
      } catch (err) {
        input.onProgress?.(++done, ts.length, `failed ${t.id.slice(0, 12)}: ${errorMessage(err)}`);
        throw err;
      }
    }),
  );

  const analyses: Analysis[] = [];
  const failures: BatchOutcome["failures"] = [];
  let usage = emptyUsage();
  settled.forEach((s, i) => {
    const t = ts[i] as Trajectory;
    if (s.status === "fulfilled") {
      analyses.push(s.value.analysis);
      if (!s.value.fromCache) usage = addUsage(usage, s.value.analysis.usage);
    } else {
      failures.push({ trajectoryId: t.id, error: errorMessage(s.reason) });
    }
  });
  return { analyses, failures, cached, usage };
}

/** The statistical baseline: one analysis over every run with a known outcome. */
async function runHeuristic(input: RunAnalysesInput, ts: Trajectory[]): Promise<BatchOutcome> {
  const none: BatchOutcome = { analyses: [], failures: [], cached: 0, usage: emptyUsage() };
  if (ts.length === 0) return none;
  const config = analystConfig({ provider: "heuristic", model: "none", kind: "heuristic", minSupport: input.minSupport });
  const runs = ts.map((t) => [t.id, t.outcome.success] as const).sort((a, b) => a[0].localeCompare(b[0]));
  const key = analysisKey({ trajectoryId: `runs:${hashJson(runs)}`, base: input.base.folder, config });
  const hit = await input.store.getAnalysis(key);
  if (hit) {
    input.onProgress?.(1, 1, "heuristic analysis cached");
    return { ...none, analyses: [hit], cached: 1 };
  }
  const mined = mineHeuristicLessons(ts, { minSupport: input.minSupport, base: input.base.folder });
  const analysis: Analysis = {
    id: key,
    skill: input.skill,
    trajectoryIds: runs.map(([id]) => id),
    baseVersion: input.base.version,
    baseHash: hashJson(input.base.folder),
    analyst: "heuristic",
    configHash: hashJson(config),
    provider: "heuristic",
    lessons: mined.lessons,
    observations: mined.observations,
    patch: {
      edits: mined.edits,
      changelog: mined.lessons.map((l) => `Heuristic: ${l.title}`),
    },
    usage: emptyUsage(),
    createdAt: new Date().toISOString(),
  };
  await input.store.putAnalysis(analysis);
  input.onProgress?.(1, 1, `heuristic analysis: ${mined.lessons.length} lessons from ${ts.length} runs`);
  return { ...none, analyses: [analysis] };
}
