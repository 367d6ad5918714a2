import { z } from "zod";
import { canonicalJson, sha256 } from "../util/hash.js";

/**
 * The canonical trajectory: one agent run, whatever format it was written in.
 * Every importer produces a `TrajectoryDraft`; `finaliseTrajectory` gives it its id.
 */

export const SKILL_NAME_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const SkillNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(
    SKILL_NAME_PATTERN,
    "Skill names are 1-64 lowercase letters, digits and single hyphens, with no leading or trailing hyphen (e.g. airline-support).",
  );

export const StepRoleSchema = z.enum(["system", "user", "assistant", "tool", "environment"]);
export type StepRole = z.infer<typeof StepRoleSchema>;

export const ToolCallSchema = z.object({
  id: z.string().optional().describe("Call id as the agent's format gave it, to pair with its result"),
  name: z.string().min(1),
  arguments: z.unknown().describe("Parsed arguments (JSON value); a string when the agent sent unparseable JSON"),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;

export const ToolResultSchema = z.object({
  callId: z.string().optional(),
  name: z.string().optional(),
  content: z.string(),
  isError: z.boolean().default(false),
});
export type ToolResult = z.infer<typeof ToolResultSchema>;

export const TokenUsageSchema = z.object({
  inputTokens: z.number().int().nonnegative().optional(),
  outputTokens: z.number().int().nonnegative().optional(),
});
export type TokenUsage = z.infer<typeof TokenUsageSchema>;

/** A step's id is its index in `steps`: lessons cite steps by that number. */
export const StepSchema = z.object({
  role: StepRoleSchema,
  source: z.string().optional().describe("Finer origin when the format gives one, e.g. 'subagent', 'user-simulator'"),
  text: z.string().optional(),
  toolCalls: z.array(ToolCallSchema).optional(),
  toolResult: ToolResultSchema.optional(),
  timestamp: z.string().optional(),
  usage: TokenUsageSchema.optional(),
  sidechain: z.boolean().optional().describe("True for steps of a nested run (sub-agent)"),
});
export type Step = z.infer<typeof StepSchema>;

export const OutcomeSchema = z.object({
  success: z.boolean().nullable().describe("true / false, or null while unknown"),
  score: z.number().optional(),
  feedback: z.string().optional(),
  expected: z
    .string()
    .optional()
    .describe("Ground truth (e.g. the expected actions). Shown to error analysts only; never copied into a skill."),
});
export type Outcome = z.infer<typeof OutcomeSchema>;

export const TrajectoryDraftSchema = z.object({
  skill: SkillNameSchema.nullable().default(null),
  task: z.string().default(""),
  steps: z.array(StepSchema).min(1, "A trajectory needs at least one step."),
  outcome: OutcomeSchema.default({ success: null }),
  skillVersion: z.number().int().positive().nullable().default(null),
  agent: z.string().optional(),
  model: z.string().optional(),
  source: z.string().default("canonical"),
  tags: z.array(z.string().max(100)).max(50).default([]),
  createdAt: z.string().optional(),
});
export type TrajectoryDraft = z.infer<typeof TrajectoryDraftSchema>;
export type TrajectoryDraftInput = z.input<typeof TrajectoryDraftSchema>;

/**
 * An outcome decided by a judge (a model, the calling agent, or the transcript heuristic) for a
 * run nobody labelled. Kept beside the submitted outcome, which always wins.
 */
export const JudgmentSchema = z.object({
  verdict: z.enum(["success", "failure", "unknown"]),
  confidence: z.number().min(0).max(1),
  reason: z.string(),
  judge: z.string().describe("Who judged: heuristic, openai-compatible, mcp-sampling or agent"),
  configHash: z.string().describe("Judge, prompt and settings: a run is judged again only when they change"),
  judgedAt: z.string(),
});
export type Judgment = z.infer<typeof JudgmentSchema>;

export const TrajectorySchema = TrajectoryDraftSchema.extend({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  judged: JudgmentSchema.optional(),
});
export type Trajectory = z.infer<typeof TrajectorySchema>;

/**
 * The identity of a run: what the agent did, for which skill. Outcome, judgment, tags and
 * createdAt are left out on purpose: they may be updated later without making it another run.
 */
export function trajectoryIdentity(t: TrajectoryDraft): unknown {
  return {
    skill: t.skill,
    task: t.task,
    steps: t.steps,
    skillVersion: t.skillVersion,
    agent: t.agent,
    model: t.model,
    source: t.source,
  };
}

export function trajectoryId(t: TrajectoryDraft): string {
  return sha256(canonicalJson(trajectoryIdentity(t)));
}

export function finaliseTrajectory(draft: TrajectoryDraft, now = new Date()): Trajectory {
  return { ...draft, id: trajectoryId(draft), createdAt: draft.createdAt ?? now.toISOString() };
}
