import { createHash } from "node:crypto";
import { z } from "zod";
import { PatchSchema } from "../analysis/schema.js";

/**
 * The jobs a replica hands to `trace2skill worker` processes through the PostgreSQL queue
 * (pg-boss), one zod schema each; a worker checks every job against its schema before acting.
 * A job names what to read from the shared store, not the data itself, except what the
 * replica computed for the run (the shared context, a merge group).
 */

/**
 * One queue per kind of job and model: a worker takes only jobs for the model it runs (a job
 * for another model would fail on it and use up its retries).
 */
export function analysisQueue(model: string): string {
  return `trace2skill-analysis-${modelTag(model)}`;
}
export function mergeQueue(model: string): string {
  return `trace2skill-merge-${modelTag(model)}`;
}
function modelTag(model: string): string {
  return createHash("sha256").update(model).digest("hex").slice(0, 16);
}
/** NOTIFYed (payload: the queue) when a replica sends jobs, so idle workers fetch at once instead of at their next poll. */
export const JOBS_CHANNEL = "trace2skill_jobs";

/** One analyst over one run against a frozen base; the result is stored under `cacheKey`, so it takes effect once. */
export const AnalysisJobSchema = z.object({
  skill: z.string(),
  trajectoryId: z.string(),
  baseVersion: z.number().int().nonnegative(),
  baseHash: z.string(),
  cacheKey: z.string(),
  /** The model the replica expects: a worker configured with another refuses the job (its analysis would be another's). */
  model: z.string(),
  budgetTokens: z.number().int().positive().optional(),
  agentic: z.boolean(),
  /** Text every run of the evolve shares (e.g. a policy), given to each analyst once. */
  shared: z.unknown(),
});
export type AnalysisJob = z.infer<typeof AnalysisJobSchema>;

/** One merge group of the merge tree; the replica keeps the result as the group's checkpoint. */
export const MergeJobSchema = z.object({
  skill: z.string(),
  baseVersion: z.number().int().nonnegative(),
  baseHash: z.string(),
  model: z.string(),
  level: z.number().int().positive(),
  index: z.number().int().nonnegative(),
  group: z.array(PatchSchema),
  /** Outcome of each run the group's edits cite, for the merger to weigh support. */
  outcomes: z.array(z.tuple([z.string(), z.boolean().nullable()])),
});
export type MergeJob = z.infer<typeof MergeJobSchema>;
