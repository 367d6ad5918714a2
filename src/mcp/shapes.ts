import { z } from "zod";
import { SkillVersionMetaSchema, ValidationReportSchema } from "../skill/types.js";

/** Output shapes shared by several tools, derived from the domain schemas (one schema per shape). */

export const ValidationOutput = ValidationReportSchema;

/** What a caller needs of a version's metadata (not its content hash or run bookkeeping). */
export const VersionMetaOutput = SkillVersionMetaSchema.pick({
  skill: true,
  version: true,
  parent: true,
  status: true,
  origin: true,
  createdAt: true,
  changelog: true,
  valid: true,
});

export const SkipOutput = z.array(z.object({ what: z.string(), reason: z.string(), count: z.number() }));

export const SkillName = z.string().max(64).describe("Skill name: lowercase letters, digits and hyphens, e.g. airline-support");

/** The guard's comparison of a version with its parent (stats/regression.ts). */
export const RegressionSchema = z.object({
  version: z.number(),
  parent: z.number(),
  successRate: z.number(),
  parentRate: z.number(),
  runs: z.number(),
  parentRuns: z.number(),
});

/** A flagged version and its status now (the flag history). */
export const FlagSchema = RegressionSchema.extend({ status: z.string() });
