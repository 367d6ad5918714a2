import { z } from "zod";
import { UsageSchema } from "../llm/usage.js";

/**
 * Lessons and patches. Two layers for each shape:
 * - the *reply* schemas are what an analyst (a model, or an agent in agent mode) fills in;
 *   they never carry support sets, which are data counted by code;
 * - the stored shapes add ids and `support` (the trajectory ids that back the item).
 */

export const LessonKindSchema = z.enum(["failure-cause", "success-habit", "tool-usage", "domain-fact"]);
export type LessonKind = z.infer<typeof LessonKindSchema>;

export const EvidenceSchema = z.object({
  trajectoryId: z.string().describe("Id of the trajectory the lesson comes from"),
  stepIds: z.array(z.number().int().nonnegative()).describe("Step numbers (#N in the rendering) that show it"),
});
export type Evidence = z.infer<typeof EvidenceSchema>;

export const LessonReplySchema = z.object({
  kind: LessonKindSchema,
  title: z.string().min(3).max(120).describe("Short imperative title"),
  rule: z.string().min(10).max(600).describe("The general rule, 1-3 sentences, free of task-specific values"),
  appliesWhen: z.string().min(3).max(300).describe("The situations in which the rule applies"),
  evidence: z.array(EvidenceSchema).min(1).max(5),
  generalityNote: z.string().max(400).describe("Why this generalises beyond this one run"),
});
export type LessonReply = z.infer<typeof LessonReplySchema>;

export const LessonSchema = LessonReplySchema.extend({
  id: z.string(),
  support: z.array(z.string()).min(1),
});
export type Lesson = z.infer<typeof LessonSchema>;

const file = z
  .string()
  .min(1)
  .max(200)
  .describe('Path inside the skill folder, e.g. "SKILL.md" or "references/booking.md"');
const section = z.string().min(1).max(200).describe("Heading text of the section, without the leading #");
const content = z.string().min(1).max(8000).describe("Markdown to add");

export const EditReplySchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("insert_after"), file, anchor: z.string().min(1).max(1000), content }),
  z.object({ op: z.literal("insert_before"), file, anchor: z.string().min(1).max(1000), content }),
  z.object({ op: z.literal("append_to_section"), file, section, content }),
  z.object({
    op: z.literal("replace_in_section"),
    file,
    section,
    find: z.string().min(1).max(2000).describe("Exact text to replace within that section"),
    replace: z.string().max(8000),
  }),
  z.object({
    op: z.literal("add_section"),
    file,
    heading: z.string().min(1).max(200),
    level: z.number().int().min(2).max(4).default(2),
    content,
    after: z.string().max(200).nullable().default(null).describe("Heading of the section to place it after; null = at the end"),
  }),
  z.object({ op: z.literal("delete_section"), file, section }),
  z.object({
    op: z.literal("create_file"),
    file,
    content,
    linkText: z.string().min(3).max(300).describe("When to read this file; becomes its link line in SKILL.md"),
  }),
  z.object({ op: z.literal("delete_file"), file }),
]);
export type EditReply = z.infer<typeof EditReplySchema>;
export type EditOp = EditReply["op"];

/**
 * The support of one bullet of an edit's list, when a merge combined bullets from different
 * runs: code then counts (and drops below the minimum) bullet by bullet, and provenance says
 * which runs back each bullet. `text` is the bullet's opening words as they stand in `content`.
 */
export const BulletSupportSchema = z.object({ text: z.string().min(1), support: z.array(z.string()).min(1) });
export type BulletSupport = z.infer<typeof BulletSupportSchema>;

/** A stored edit: the reply plus the trajectory ids (support) and lesson ids behind it. */
export type Edit = EditReply & { support: string[]; lessonIds: string[]; bullets?: BulletSupport[] };
export const EditSchema = z.intersection(
  EditReplySchema,
  z.object({
    support: z.array(z.string()).min(1),
    lessonIds: z.array(z.string()).default([]),
    bullets: z.array(BulletSupportSchema).optional(),
  }),
) as unknown as z.ZodType<Edit>;

export const PatchSchema = z.object({
  edits: z.array(EditSchema),
  changelog: z.array(z.string()).default([]),
});
export type Patch = z.infer<typeof PatchSchema>;

/** The analyst's reading of the run, before any rule: what went wrong (or right), and where. */
export const DiagnosisSchema = z.object({
  rootCause: z
    .string()
    .min(10)
    .max(600)
    .describe("Error analyst: the root cause of the failure in a sentence or two. Success analyst: what made the run succeed."),
  firstWrongStep: z
    .number()
    .int()
    .nonnegative()
    .nullable()
    .describe("Step id (#N) where the agent first went wrong; null for a success, or when no step of the agent is to blame"),
});
export type Diagnosis = z.infer<typeof DiagnosisSchema>;

/**
 * What the run says about a rule the skill already has: following it is what led the agent
 * wrong, or what made the run go right. Evidence for a rule's lifecycle (evolution/retirement.ts):
 * later runs a learned rule misled, once they outweigh the runs behind it, propose its retirement.
 */
export const RuleVerdictReplySchema = z.object({
  quote: z.string().min(8).max(400).describe("The rule, copied exactly as it stands in the base skill (one bullet or sentence)"),
  effect: z
    .enum(["misled", "helped"])
    .describe("misled: the agent followed this rule and that is what went wrong; helped: following it is what made the run go right"),
  why: z.string().min(10).max(300).describe("How the run shows it, with step ids"),
});
export type RuleVerdictReply = z.infer<typeof RuleVerdictReplySchema>;

/** A verdict as stored: the quote checked against the base, and the file it was found in. */
export const RuleVerdictSchema = RuleVerdictReplySchema.extend({ file: z.string() });
export type RuleVerdict = z.infer<typeof RuleVerdictSchema>;

/** What one analyst returns for one trajectory (model reply / agent-mode submission). */
export const AnalysisReplySchema = z.object({
  diagnosis: DiagnosisSchema,
  lessons: z.array(LessonReplySchema).max(3).describe("At most 3 lessons; none if the run teaches nothing general"),
  edits: z.array(EditReplySchema).max(6).describe("Small typed edits against the base skill"),
  changelog: z.array(z.string().max(200)).max(6).default([]),
  ruleVerdicts: z
    .array(RuleVerdictReplySchema)
    .max(3)
    .optional()
    .describe("Rules of the base skill this run shows misleading the agent, or helping it; none is the usual answer"),
});
export type AnalysisReply = z.infer<typeof AnalysisReplySchema>;

export const AnalystKindSchema = z.enum(["error", "success", "heuristic"]);
export type AnalystKind = z.infer<typeof AnalystKindSchema>;


export const AnalysisSchema = z.object({
  id: z.string().describe("Cache key: hash of (trajectory id, base version content hash, analyst config hash)"),
  skill: z.string(),
  trajectoryIds: z.array(z.string()).min(1).describe("One for model analysts; many for the heuristic miner"),
  baseVersion: z.number().int().nonnegative().describe("0 = created-from-scratch base"),
  baseHash: z.string(),
  analyst: AnalystKindSchema,
  configHash: z.string(),
  provider: z.string(),
  lessons: z.array(LessonSchema),
  /** The analyst's diagnosis of its one run (absent for the heuristic and for older analyses). */
  diagnosis: DiagnosisSchema.optional(),
  /** What was seen but is not a rule (the heuristic's correlations): for reports, never for the skill. */
  observations: z.array(z.string()).optional(),
  patch: PatchSchema,
  /** Rules of the base the analyst found misleading or helping in this run, quotes checked (absent on older analyses). */
  ruleVerdicts: z.array(RuleVerdictSchema).optional(),
  usage: UsageSchema,
  createdAt: z.string(),
});
export type Analysis = z.infer<typeof AnalysisSchema>;
