import { z } from "zod";

/** What a coverage judge (a model, or the calling agent) returns for one held-out failure and one skill version. */
export const CoverageReplySchema = z.object({
  cause: z.string().min(10).max(600).describe("The root cause of this failure, in a sentence or two"),
  verdict: z
    .enum(["yes", "partly", "no", "not-agent"])
    .describe(
      "yes: a rule of the skill, followed, would have prevented this failure; partly: a rule touches the cause but would not " +
        "surely have prevented it; no: no rule addresses it; not-agent: the failure was not the agent's doing (the user, the task, the environment)",
    ),
  rule: z
    .string()
    .max(600)
    .describe("For yes or partly: the rule, copied exactly from the skill (one sentence or bullet). Empty otherwise"),
  file: z.string().max(200).describe("For yes or partly: the skill file that rule is in (e.g. SKILL.md). Empty otherwise"),
});
export type CoverageReply = z.infer<typeof CoverageReplySchema>;
