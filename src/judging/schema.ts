import { z } from "zod";

/** What a judge (a model, or the calling agent) fills in for one run. */
export const JudgeReplySchema = z.object({
  verdict: z.enum(["success", "failure", "unknown"]).describe("Did the agent achieve the task?"),
  confidence: z.number().min(0).max(1).describe("0 to 1"),
  reason: z.string().min(3).max(400).describe("One sentence of evidence, citing step ids as #N"),
});
export type JudgeReply = z.infer<typeof JudgeReplySchema>;

export type JudgeProvider = "heuristic" | "openai-compatible" | "mcp-sampling" | "agent";
