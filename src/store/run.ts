import { z } from "zod";
import { UsageSchema } from "../llm/usage.js";

export const RunStageSchema = z.enum(["queued", "judging", "analysing", "merging", "applying", "done", "failed", "cancelled"]);
export type RunStage = z.infer<typeof RunStageSchema>;

/** An evolution run (propose + consolidate), persisted so it can be polled and resumed. */
export const RunSchema = z.object({
  id: z.string(),
  skill: z.string(),
  kind: z.enum(["analyse", "consolidate", "evolve"]),
  stage: RunStageSchema,
  config: z.record(z.string(), z.unknown()),
  progress: z.object({ done: z.number(), total: z.number(), message: z.string() }),
  usage: UsageSchema,
  resultVersion: z.number().int().positive().nullable().default(null),
  errors: z.array(z.string()).default([]),
  createdAt: z.string(),
  updatedAt: z.string(),
  pid: z.number().int().optional().describe("Process that runs it, to tell a crashed run from a live one"),
  host: z.string().optional().describe("Machine of that process: a pid means something only there"),
  heartbeatAt: z.string().optional().describe("Last sign of life of the process running it (written every few seconds while it runs)"),
});
export type Run = z.infer<typeof RunSchema>;
