import { z } from "zod";
import { SkillNameSchema } from "../trajectory/schema.js";

/**
 * A skill folder in memory. `files` maps a relative path ("SKILL.md", "references/x.md")
 * to its UTF-8 text; files that are not valid UTF-8 (images and other assets) are kept
 * byte-exact as base64 in `binaries`. Paths always use forward slashes.
 */
export const SkillFolderSchema = z.object({
  name: SkillNameSchema,
  files: z.record(z.string(), z.string()),
  binaries: z.record(z.string(), z.string()).default({}),
});
export type SkillFolder = z.infer<typeof SkillFolderSchema>;

export const ValidationProblemSchema = z.object({
  severity: z.enum(["error", "warning"]),
  file: z.string().optional(),
  line: z.number().int().positive().optional(),
  message: z.string(),
});
export type ValidationProblem = z.infer<typeof ValidationProblemSchema>;

export const ValidationReportSchema = z.object({
  valid: z.boolean(),
  problems: z.array(ValidationProblemSchema),
});
export type ValidationReport = z.infer<typeof ValidationReportSchema>;

export const VersionStatusSchema = z.enum(["draft", "active", "rejected", "retired"]);
export type VersionStatus = z.infer<typeof VersionStatusSchema>;

/** One added passage of a version, traced back to the lessons and trajectories behind it. */
export const ProvenanceEntrySchema = z.object({
  file: z.string(),
  excerpt: z.string().describe("First line(s) of the passage as it stands in the version"),
  op: z.string(),
  lessonIds: z.array(z.string()),
  support: z.array(z.string()),
  /** The version that added this rule, when an earlier one did (the rule was carried over); absent: this version. */
  since: z.number().optional(),
  /** Supporting runs deleted since (their ids stay in `support`); filled in when the version is read. */
  deletedSupport: z.array(z.string()).optional(),
  /** Why the supporting runs went as they did, by their analysts (a few): each rule traces to its runs and their diagnoses. */
  diagnoses: z
    .array(z.object({ trajectoryId: z.string(), rootCause: z.string(), firstWrongStep: z.number().nullable() }))
    .optional(),
});
export type ProvenanceEntry = z.infer<typeof ProvenanceEntrySchema>;

/**
 * How a learned rule of the base fared in the runs after it (evolution/retirement.ts): the runs
 * it misled against those behind it and those it helped. `proposed`: its retirement went into
 * the merge as a delete edit; `retired`: the stored draft no longer has it.
 */
export const RuleRetirementSchema = z.object({
  file: z.string(),
  excerpt: z.string(),
  since: z.number(),
  support: z.array(z.string()),
  helped: z.array(z.string()),
  misled: z.array(z.string()),
  /** Verdicts from runs that did not have the rule, or of an unknown version, or among its own supporting runs. */
  uncounted: z.number(),
  /** Up to 2 analysts' accounts of how it misled. */
  why: z.array(z.string()),
  proposed: z.boolean(),
  retired: z.boolean().optional(),
});
export type RuleRetirement = z.infer<typeof RuleRetirementSchema>;

export const VersionOriginSchema = z.enum(["import", "create", "evolve", "rollback"]);

/** Index-level metadata of an immutable version snapshot (the files live on disk). */
export const SkillVersionMetaSchema = z.object({
  skill: SkillNameSchema,
  version: z.number().int().positive(),
  parent: z.number().int().positive().nullable(),
  status: VersionStatusSchema,
  origin: VersionOriginSchema,
  contentHash: z.string(),
  createdAt: z.string(),
  changelog: z.array(z.string()).default([]),
  runId: z.string().nullable().default(null),
  fileCount: z.number().int().nonnegative(),
  valid: z.boolean(),
});
export type SkillVersionMeta = z.infer<typeof SkillVersionMetaSchema>;

/** Everything stored beside the snapshot of a version (version.json in its folder). */
/** What in a draft may be one run's story rather than a rule (see consolidation/audit.ts). */
export const DraftAuditSchema = z.object({
  singleRunLiterals: z.array(z.object({ literal: z.string(), file: z.string(), excerpt: z.string(), trajectoryId: z.string() })),
  singleSupport: z.array(z.object({ file: z.string(), excerpt: z.string(), trajectoryId: z.string() })),
  thinChanges: z.array(z.object({ file: z.string(), op: z.string(), excerpt: z.string(), support: z.number() })),
});
export type DraftAudit = z.infer<typeof DraftAuditSchema>;

/** The review of a draft (review/review.ts): what the reviewer found and what of its fixes was applied. */
export const ReviewReportSchema = z.object({
  reviewer: z.string(),
  findings: z.array(z.object({ kind: z.string(), file: z.string(), excerpt: z.string(), detail: z.string() })),
  applied: z.number().describe("Fixes applied to the draft"),
  dropped: z.array(z.string()).describe("Fixes the guards, the anchors or validation refused"),
  error: z.string().nullable().describe("Why the review could not be made (the draft is then stored unreviewed)"),
});
export type ReviewReport = z.infer<typeof ReviewReportSchema>;

/** One held-out failure checked against one version (holdout/coverage.ts). */
export const CoverageCheckSchema = z.object({
  verdict: z.enum(["yes", "partly", "no", "not-agent", "unknown"]),
  cause: z.string(),
  rule: z.string().describe("The rule that addresses the cause, quoted from the version; empty when none"),
  file: z.string(),
});
export type CoverageCheck = z.infer<typeof CoverageCheckSchema>;

export const CoverageCountsSchema = z.object({
  yes: z.number(),
  partly: z.number(),
  no: z.number(),
  notAgent: z.number(),
  unknown: z.number(),
});
export type CoverageCounts = z.infer<typeof CoverageCountsSchema>;

/**
 * The held-out check: failed runs kept out of the evolve, and for each whether a rule of the
 * base and of the draft addresses its cause. Base and draft side by side say what the draft adds.
 */
export const HoldoutReportSchema = z.object({
  judge: z.string().describe("Who checked: the provider, or the heuristic's error-text match"),
  runs: z.array(z.object({ trajectoryId: z.string(), base: CoverageCheckSchema, draft: CoverageCheckSchema })),
  base: CoverageCountsSchema,
  draft: CoverageCountsSchema,
  failed: z.array(z.object({ trajectoryId: z.string(), version: z.enum(["base", "draft"]), error: z.string() })),
});
export type HoldoutReport = z.infer<typeof HoldoutReportSchema>;

export const SkillVersionDetailSchema = SkillVersionMetaSchema.extend({
  diff: z.string().default(""),
  provenance: z.array(ProvenanceEntrySchema).default([]),
  validation: ValidationReportSchema,
  usage: z
    .object({ inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number(), calls: z.number() })
    .nullable()
    .default(null),
  dropped: z.array(z.string()).default([]).describe("Edits dropped (below min support, guards, missing anchors)"),
  flags: z
    .array(z.string())
    .default([])
    .describe("Added lines that look like planted commands or injected instructions; promote refuses until acknowledged"),
  /** The over-fitting audit (consolidation/audit.ts); absent on imported versions. */
  audit: DraftAuditSchema.optional(),
  /** The review before storing (model or sampling runs); absent when none was made. */
  review: ReviewReportSchema.optional(),
  /** The held-out check of base and draft (evolve runs with held-out failures). */
  holdout: HoldoutReportSchema.optional(),
  /** The base's learned rules that later runs gave verdicts on, with what became of those proposed for retirement. */
  rules: z.array(RuleRetirementSchema).optional(),
  /** Analyses that failed in the evolve that made this draft: it was made from the others. */
  analysisFailures: z.object({ failed: z.number(), attempted: z.number(), first: z.string() }).optional(),
});
export type SkillVersionDetail = z.infer<typeof SkillVersionDetailSchema>;
/** What a caller gives when storing a version: fields with defaults may be left out. */
export type SkillVersionDetailInput = z.input<typeof SkillVersionDetailSchema>;
