import { z } from "zod";
import { describeAudit } from "../consolidation/audit.js";
import { describeHoldout } from "../holdout/coverage.js";
import { describeReview } from "../review/review.js";
import { describeRetirements } from "./retirement.js";
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

/** The first line of the changelog of a draft made while some analyses failed. */
export function describeAnalysisFailures(f: { failed: number; attempted: number; first: string }): string {
  return `INCOMPLETE: ${f.failed} of ${f.attempted} analyses failed, so this draft is made from the other ${f.attempted - f.failed} (first error: ${f.first.slice(0, 300)}). Evolve again, or resume the run, to retry them.`;
}

export function versionChecks(detail: SkillVersionDetail): VersionChecks {
  const h = detail.holdout;
  const audit = detail.audit ? describeAudit(detail.audit) : null;
  return {
    holdout: h ? { judge: h.judge, runs: h.runs.length, base: h.base, draft: h.draft } : null,
    summary: [
      ...(detail.origin !== "evolve" ? [`v${detail.version} was ${detail.origin === "rollback" ? "restored by a rollback" : detail.origin === "create" ? "created from a purpose" : "imported"}, not evolved: it has no held-out check, review or audit.`] : []),
      ...(detail.analysisFailures ? [describeAnalysisFailures(detail.analysisFailures)] : []),
      ...(h ? [describeHoldout(h)] : detail.origin === "evolve" ? ["No held-out check: fewer than 10 failed runs, or holdout 0."] : []),
      ...(detail.review ? [describeReview(detail.review)] : []),
      ...(audit ? [audit] : []),
      ...describeRetirements(detail.rules ?? []),
    ],
  };
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * A version's report, compact enough for a tool answer: its checks, each added passage with
 * its support and (a few of) its runs' diagnoses, the review's findings and each held-out
 * failure's verdicts. The whole record stays in the version's folder (version.json).
 */
export const VersionReportSchema = VersionChecksSchema.extend({
  passages: z
    .array(z.object({ file: z.string(), excerpt: z.string(), support: z.number(), diagnoses: z.array(z.string()), since: z.number().nullable() }))
    .describe("Added passages: how many runs back each, and why those runs went as they did (up to 2 diagnoses)"),
  findings: z.array(z.object({ kind: z.string(), file: z.string(), excerpt: z.string(), detail: z.string() })).describe("The review's findings"),
  heldOut: z
    .array(z.object({ trajectoryId: z.string(), cause: z.string(), base: z.string(), draft: z.string(), rule: z.string() }))
    .describe("Each held-out failure: its cause, the verdict for base and for this version, and the rule of this version credited"),
  rules: z
    .array(
      z.object({
        file: z.string(),
        excerpt: z.string(),
        since: z.number(),
        support: z.number(),
        helped: z.number(),
        misled: z.number(),
        outcome: z.enum(["retired", "kept by the merge or review", "stands"]),
        why: z.array(z.string()),
      }),
    )
    .describe("The parent's learned rules that later runs gave verdicts on: runs behind each, runs it helped and misled, and what became of it"),
});
export type VersionReport = z.infer<typeof VersionReportSchema>;

const MAX_PASSAGES = 40;
const MAX_HELD_OUT = 50;

export function versionReport(detail: SkillVersionDetail): VersionReport {
  return {
    ...versionChecks(detail),
    passages: detail.provenance.slice(0, MAX_PASSAGES).map((p) => ({
      file: p.file,
      excerpt: clip(p.excerpt, 200),
      support: new Set(p.support).size,
      diagnoses: (p.diagnoses ?? []).slice(0, 2).map((d) => clip(d.rootCause, 200)),
      since: p.since ?? null,
    })),
    findings: (detail.review?.findings ?? []).map((f) => ({ ...f, excerpt: clip(f.excerpt, 200), detail: clip(f.detail, 300) })),
    heldOut: (detail.holdout?.runs ?? []).slice(0, MAX_HELD_OUT).map((r) => ({
      trajectoryId: r.trajectoryId,
      cause: clip(r.draft.cause || r.base.cause, 200),
      base: r.base.verdict,
      draft: r.draft.verdict,
      rule: clip(r.draft.rule, 200),
    })),
    rules: (detail.rules ?? []).map((r) => ({
      file: r.file,
      excerpt: clip(r.excerpt, 200),
      since: r.since,
      support: r.support.length,
      helped: r.helped.length,
      misled: r.misled.length,
      outcome: r.retired ? "retired" : r.proposed ? "kept by the merge or review" : "stands",
      why: r.why.map((w) => clip(w, 200)),
    })),
  };
}

/** The report as lines for a terminal. */
export function reportLines(r: VersionReport): string[] {
  const lines = [...r.summary];
  if (r.heldOut.length > 0) {
    lines.push("", "Held-out failures (base → this version):");
    for (const h of r.heldOut) lines.push(`  ${h.trajectoryId.slice(0, 12)}  ${h.base} → ${h.draft}  ${h.cause}${h.rule ? `\n      rule: ${h.rule}` : ""}`);
  }
  if (r.findings.length > 0) {
    lines.push("", "Review findings:");
    for (const f of r.findings) lines.push(`  [${f.kind}] ${f.file}: ${f.detail}`);
  }
  if (r.rules.length > 0) {
    lines.push("", "Learned rules weighed against later runs (support / helped / misled):");
    for (const w of r.rules) lines.push(`  [${w.support}/${w.helped}/${w.misled}] ${w.outcome} (since v${w.since}) ${w.file}: ${w.excerpt}`);
  }
  if (r.passages.length > 0) {
    lines.push("", "Added passages (support; why those runs went as they did):");
    for (const p of r.passages) {
      lines.push(`  [${p.support}]${p.since ? ` (since v${p.since})` : ""} ${p.file}: ${p.excerpt}`);
      for (const d of p.diagnoses) lines.push(`      - ${d}`);
    }
  }
  return lines;
}
