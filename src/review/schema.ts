import { z } from "zod";
import { EditReplySchema } from "../analysis/schema.js";

/** What a reviewer (a model, or the calling agent) returns for one draft. */
export const ReviewReplySchema = z.object({
  findings: z
    .array(
      z.object({
        kind: z.enum(["contradiction", "fused-rule", "invented-rule", "duplicate", "structure"]),
        file: z.string().min(1).max(200),
        excerpt: z.string().max(600).describe("The draft's text the finding is about, copied exactly"),
        detail: z.string().min(3).max(400).describe("What is wrong and why, in one sentence"),
      }),
    )
    .max(10),
  edits: z.array(EditReplySchema).max(8).describe("Typed edits against the DRAFT that fix the findings; none when it is sound"),
});
export type ReviewReply = z.infer<typeof ReviewReplySchema>;
