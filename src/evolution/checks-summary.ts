import { z } from "zod";
import { describeAudit } from "../consolidation/audit.js";
import { describeHoldout } from "../holdout/coverage.js";
import { describeReview } from "../review/review.js";
import { CoverageCountsSchema, type SkillVersionDetail } from "../skill/types.js";

/**
 * What a person deciding on promote should see of a version's checks: the held-out coverage of
 * base and draft side by side, the review, and the over-fitting audit. Small enough for a tool
 * answer; the full record is the version's detail (skill_history / trace2skill show).
 */
export const VersionChecksSchema = z.object({
  holdout: z
    .object({ judge: z.string(), runs: z.number(), base: CoverageCountsSchema, draft: CoverageCountsSchema })
    .nullable()
    .describe("Failed runs kept out of the evolve: how many a rule of the base, and of this version, addresses (null: none held out)"),
  summary: z.array(z.string()).describe("The version's checks in words: held-out coverage, review, over-fitting audit"),
});
export type VersionChecks = z.infer<typeof VersionChecksSchema>;

export function versionChecks(detail: SkillVersionDetail): VersionChecks {
  const h = detail.holdout;
  const audit = detail.audit ? describeAudit(detail.audit) : null;
  return {
    holdout: h ? { judge: h.judge, runs: h.runs.length, base: h.base, draft: h.draft } : null,
    summary: [
      ...(h ? [describeHoldout(h)] : detail.origin === "evolve" ? ["No held-out check: fewer than 10 failed runs, or holdout 0."] : []),
      ...(detail.review ? [describeReview(detail.review)] : []),
      ...(audit ? [audit] : []),
    ],
  };
}
