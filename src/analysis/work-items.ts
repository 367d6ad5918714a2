import { z } from "zod";
import { toJsonSchema } from "../llm/json-schema.js";
import type { SkillFolder } from "../skill/types.js";
import { renderTrajectory, type SharedContext } from "../trajectory/render.js";
import type { Trajectory } from "../trajectory/schema.js";
import { InvalidInputError } from "../util/errors.js";
import { analystFor, analystInstructions, processReply, type ModelAnalystKind, type ProcessedReply } from "./analysts.js";
import { analysisKey, analystConfig } from "./run-analysis.js";
import { AnalysisReplySchema } from "./schema.js";

/**
 * Agent mode: no model in the server. The calling agent (or its parallel subagents) gets
 * the same instructions and rendering a model analyst would get, split in two: a brief per
 * analyst kind (role, frozen base skill, shared context, the JSON Schema to fill), the same
 * for every run, and one small item per run (its rendering). The filled reply is validated
 * and post-processed by exactly the code that handles a model's reply.
 */

export interface AnalysisBrief {
  analyst: ModelAnalystKind;
  instructions: string;
  responseSchema: Record<string, unknown>;
}

export function analysisBrief(analyst: ModelAnalystKind, base: SkillFolder, shared?: SharedContext): AnalysisBrief {
  return {
    analyst,
    instructions: analystInstructions(analyst, base, { shared }),
    responseSchema: toJsonSchema(AnalysisReplySchema),
  };
}

export interface AnalysisWork {
  /** The analysis cache key: the item is done once an analysis with this id is stored. */
  cacheKey: string;
  trajectoryId: string;
  analyst: ModelAnalystKind;
}

/** Which analyst a run needs and the key its analysis is stored under; null when its outcome is unknown. */
export function analysisWork(trajectory: Trajectory, base: SkillFolder): AnalysisWork | null {
  const choice = analystFor(trajectory);
  if ("skip" in choice) return null;
  const config = analystConfig({ provider: "agent", model: "calling-agent", kind: choice.kind });
  return { cacheKey: analysisKey({ trajectoryId: trajectory.id, base, config }), trajectoryId: trajectory.id, analyst: choice.kind };
}

/** The run as the analyst reads it (step ids as #N; the ground truth for the error analyst). */
export function renderAnalysisInput(trajectory: Trajectory, analyst: ModelAnalystKind, shared?: SharedContext): string {
  const ask =
    analyst === "error"
      ? "Find the root cause of this failure and propose lessons and edits as the brief instructs."
      : "Find the lean path and the habits behind this success and propose lessons and edits as the brief instructs.";
  return `${renderTrajectory(trajectory, { shared, showExpected: analyst === "error" }).text}\n\n${ask}`;
}

/**
 * Validate an agent's filled reply like a model's and post-process it the same way.
 * `trajectory` and `base` are the server's own copies (never taken from the submission),
 * so ground-truth checks and path checks use trusted data.
 */
export function acceptAnalysisSubmission(
  workItemId: string,
  reply: unknown,
  context: { trajectory: Trajectory; base: SkillFolder },
): ProcessedReply {
  const parsed = AnalysisReplySchema.safeParse(reply);
  if (!parsed.success) {
    throw new InvalidInputError(
      `The analysis for work item ${workItemId} does not match its schema:\n${z.prettifyError(parsed.error)}\n` +
        `Fix these fields and submit it again; the brief's responseSchema lists every field.`,
    );
  }
  return processReply(parsed.data, context.trajectory, context.base);
}
