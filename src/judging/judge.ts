import { createLimiter } from "../util/limiter.js";
import { systemAndUser, type LanguageModel } from "../llm/port.js";
import { addUsage, EMPTY_USAGE, type Usage } from "../llm/usage.js";
import type { Store } from "../store/store.js";
import { renderTrajectory } from "../trajectory/render.js";
import type { Judgment, Trajectory } from "../trajectory/schema.js";
import { errorMessage } from "../util/errors.js";
import { hashJson } from "../util/hash.js";
import { HEURISTIC_JUDGE_VERSION, judgeHeuristically } from "./heuristic.js";
import { judgePrompt, judgePromptHash } from "./prompts.js";
import { JudgeReplySchema, type JudgeProvider, type JudgeReply } from "./schema.js";

/**
 * Outcomes for runs nobody labelled (coding sessions rarely carry one). A judge reads each
 * unlabelled run and decides success / failure / unknown with a confidence and a reason,
 * stored beside the submitted outcome (which always wins). Cached like analyses: a run is
 * judged again only when the judge, its prompt or its rules change.
 */

export function judgeConfigHash(judge: JudgeProvider, model?: string): string {
  return hashJson(
    judge === "heuristic" ? { judge, rules: HEURISTIC_JUDGE_VERSION } : { judge, model: model ?? judge, prompt: judgePromptHash() },
  ).slice(0, 16);
}

/** Who marked a run's outcome unknown by hand: no judge may decide it afterwards. */
export const MARKED_UNKNOWN = "submitted";

/** Needs a judge: no submitted outcome, not marked unknown by hand, and no verdict from this very judge yet. */
export function needsJudging(t: Trajectory, configHash: string): boolean {
  return t.outcome.success === null && t.judged?.judge !== MARKED_UNKNOWN && t.judged?.configHash !== configHash;
}

/** What `outcome --unknown` records: unknown stays unknown, whatever a judge would say. */
export function markedUnknown(): Judgment {
  return { verdict: "unknown", confidence: 1, reason: "Marked unknown by hand.", judge: MARKED_UNKNOWN, configHash: MARKED_UNKNOWN, judgedAt: new Date().toISOString() };
}

/** The run as evolution sees it: a decided verdict stands in for a missing submitted outcome. */
export function withJudgedOutcome(t: Trajectory): Trajectory {
  if (t.outcome.success !== null || !t.judged || t.judged.verdict === "unknown") return t;
  const { verdict, judge, confidence, reason } = t.judged;
  return {
    ...t,
    outcome: {
      ...t.outcome,
      success: verdict === "success",
      feedback: t.outcome.feedback ?? `Judged ${verdict} by the ${judge} judge (confidence ${confidence.toFixed(2)}): ${reason}`,
    },
  };
}

export function judgmentOf(reply: JudgeReply, judge: JudgeProvider, configHash: string): Judgment {
  return { ...reply, judge, configHash, judgedAt: new Date().toISOString() };
}

/** The judge's request: its prompt, then the run (no ground truth: a judge decides without it). */
export function judgeMessages(t: Trajectory): { system: string; user: string } {
  return { system: judgePrompt(), user: `${renderTrajectory(t, { showExpected: false }).text}\n\nJudge the outcome of this run.` };
}

export interface JudgeRunsInput {
  store: Store;
  trajectories: Trajectory[];
  judge: Exclude<JudgeProvider, "agent">;
  model?: LanguageModel;
  concurrency: number;
  signal?: AbortSignal;
}

export interface JudgeSummary {
  judge: JudgeProvider;
  /** Runs without a submitted outcome. */
  unlabelled: number;
  /** Judged now; the others of `unlabelled` had this judge's verdict already. */
  judged: number;
  success: number;
  failure: number;
  unknown: number;
  failures: { trajectoryId: string; error: string }[];
  usage: Usage;
}

export async function judgeRuns(input: JudgeRunsInput): Promise<JudgeSummary> {
  const { store } = input;
  const configHash = judgeConfigHash(input.judge, input.model?.model);
  const unlabelled = input.trajectories.filter((t) => t.outcome.success === null);
  const summary: JudgeSummary = { judge: input.judge, unlabelled: unlabelled.length, judged: 0, success: 0, failure: 0, unknown: 0, failures: [], usage: EMPTY_USAGE };
  const count = (verdict: Judgment["verdict"]) => void (summary[verdict] += 1);
  const limit = createLimiter(Math.max(1, input.concurrency));
  await Promise.all(
    unlabelled.map(async (t) => {
      if (!needsJudging(t, configHash)) {
        count(t.judged!.verdict);
        return;
      }
      try {
        let reply: JudgeReply;
        if (input.judge === "heuristic" || !input.model) {
          reply = judgeHeuristically(t);
        } else {
          const model = input.model;
          const { system, user } = judgeMessages(t);
          const result = await limit(() =>
            model.generate({
              schemaName: "judgment",
              schema: JudgeReplySchema,
              messages: systemAndUser(system, user),
              signal: input.signal,
            }),
          );
          summary.usage = addUsage(summary.usage, result.usage);
          reply = result.value;
        }
        await store.setJudgment(t.id, judgmentOf(reply, input.judge, configHash));
        summary.judged += 1;
        count(reply.verdict);
      } catch (err) {
        if (input.signal?.aborted) throw err;
        summary.failures.push({ trajectoryId: t.id, error: errorMessage(err) });
      }
    }),
  );
  return summary;
}

export function describeJudging(s: JudgeSummary): string {
  return (
    `Judged ${s.unlabelled} run(s) without a recorded outcome (${s.judge} judge${s.judged < s.unlabelled ? `, ${s.unlabelled - s.judged} from earlier verdicts` : ""}): ` +
    `${s.success} succeeded, ${s.failure} failed, ${s.unknown} unknown` +
    (s.failures.length > 0 ? `; ${s.failures.length} could not be judged (${s.failures[0]?.error})` : "") +
    "."
  );
}
