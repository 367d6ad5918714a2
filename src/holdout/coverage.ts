import { z } from "zod";
import { normaliseError } from "../analysis/heuristic.js";
import { createLimiter } from "../util/limiter.js";
import { systemAndUser, type LanguageModel } from "../llm/port.js";
import { addUsage, EMPTY_USAGE, type Usage } from "../llm/usage.js";
import { renderSkillFiles } from "../skill/render.js";
import type { CoverageCheck, CoverageCounts, HoldoutReport, SkillFolder } from "../skill/types.js";
import { renderSharedContext, renderTrajectory, type SharedContext } from "../trajectory/render.js";
import type { Trajectory } from "../trajectory/schema.js";
import { errorMessage, InvalidInputError } from "../util/errors.js";
import { sha256 } from "../util/hash.js";
import { coveragePrompt } from "./prompts.js";
import { CoverageReplySchema, type CoverageReply } from "./schema.js";

/**
 * The held-out check (issue 10, item 6). An evolve keeps a share of the failed runs out of
 * the analyses; before the draft is stored, each held-out failure is read against the base and
 * against the draft: does a rule of that version address its cause? The two columns side by
 * side say whether the draft's rules carry over to runs they were not made from. A model (the
 * server's or the client's) or the calling agent judges; without one, the heuristic can only
 * match a failure's tool-error text against rules that quote it.
 */

export const DEFAULT_HOLDOUT_SHARE = 0.2;
/** Fewer failures than this and nothing is held out: every failure is needed as evidence. */
export const MIN_FAILURES_FOR_HOLDOUT = 10;

export type CoverageVersion = "base" | "draft";

/**
 * Which failed runs to hold out: a share of them (rounded, at least one) when there are at
 * least MIN_FAILURES_FOR_HOLDOUT. The choice is by hash of the run id, so the same runs are held
 * out every time (analyses stay cached, and two evolves of one pool compare on the same runs).
 */
export function selectHoldout(failedIds: readonly string[], share = DEFAULT_HOLDOUT_SHARE): string[] {
  if (!(share >= 0 && share <= 0.5)) throw new InvalidInputError(`holdout must be a share between 0 and 0.5 (got ${share}); 0 holds nothing out.`);
  const unique = [...new Set(failedIds)];
  if (share === 0 || unique.length < MIN_FAILURES_FOR_HOLDOUT) return [];
  const count = Math.max(1, Math.round(share * unique.length));
  return unique
    .map((id) => ({ id, key: sha256(`holdout:${id}`) }))
    .sort((a, b) => a.key.localeCompare(b.key))
    .slice(0, count)
    .map((x) => x.id)
    .sort();
}

/** What the judge of one version reads once (instructions, the version's files, the shared context). */
export function coverageInstructions(skill: SkillFolder, version: CoverageVersion, shared?: SharedContext): string {
  const files = renderSkillFiles(skill).replaceAll("<base_skill", "<skill").replaceAll("</base_skill>", "</skill>");
  const context = shared ? renderSharedContext(shared) : "";
  return [
    coveragePrompt(),
    `# The skill (${version === "base" ? "the version the draft was made from" : "the draft"})`,
    files,
    ...(context ? ["# Context shared by the runs", context] : []),
  ].join("\n\n");
}

/** The held-out run as the judge reads it (with its expected actions when the run has them). */
export function coverageInput(t: Trajectory, shared?: SharedContext): string {
  return `${renderTrajectory(t, { shared, showExpected: true }).text}\n\nDoes a rule of the skill address the cause of this failure?`;
}

function flatten(text: string): string {
  return text
    .replace(/^\s*(?:[-*+]|\d+[.)])\s+/gm, "")
    .replace(/[`*_]/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase();
}

/**
 * A judge's reply as a check. A rule credited with yes or partly must be in the version: an
 * agent is told to copy it again; a model's unverifiable quote counts as no (nothing is credited
 * that is not written down).
 */
export function acceptCoverage(reply: CoverageReply, skill: SkillFolder, strict: boolean): CoverageCheck {
  const credited = reply.verdict === "yes" || reply.verdict === "partly";
  if (!credited) return { verdict: reply.verdict, cause: reply.cause, rule: "", file: "" };
  const rule = flatten(reply.rule);
  const inFile = (path: string) => rule.length >= 8 && flatten(skill.files[path] ?? "").includes(rule);
  const file = inFile(reply.file) ? reply.file : Object.keys(skill.files).find(inFile);
  if (file) return { verdict: reply.verdict, cause: reply.cause, rule: reply.rule.trim(), file };
  if (strict) {
    throw new InvalidInputError(
      `The rule quoted for verdict "${reply.verdict}" is not in the skill: copy one sentence or bullet exactly from its files (or answer "no").`,
    );
  }
  return { verdict: "no", cause: `${reply.cause} (the judge credited a rule that is not in the skill: "${reply.rule.slice(0, 120)}")`, rule: "", file: "" };
}

export function parseCoverageSubmission(workItemId: string, reply: unknown, skill: SkillFolder): CoverageCheck {
  const parsed = CoverageReplySchema.safeParse(reply);
  if (!parsed.success) {
    throw new InvalidInputError(`The coverage check for work item ${workItemId} does not match its schema:\n${z.prettifyError(parsed.error)}`);
  }
  return acceptCoverage(parsed.data, skill, true);
}

export interface HoldoutInput {
  base: SkillFolder;
  draft: SkillFolder;
  /** The held-out failures. */
  trajectories: Trajectory[];
  shared?: SharedContext;
  /** A model judges; without one, the heuristic's error-text match does. */
  model?: LanguageModel;
  concurrency?: number;
  signal?: AbortSignal;
}

/** Check every held-out failure against base and draft. Never throws for a failed call: it is reported. */
export async function checkHoldout(input: HoldoutInput): Promise<{ report: HoldoutReport; usage: Usage }> {
  const { model } = input;
  if (!model) return { report: heuristicHoldout(input.base, input.draft, input.trajectories), usage: EMPTY_USAGE };
  const limit = createLimiter(Math.max(1, input.concurrency ?? 4));
  const systems = {
    base: coverageInstructions(input.base, "base", input.shared),
    draft: coverageInstructions(input.draft, "draft", input.shared),
  };
  let usage = EMPTY_USAGE;
  const failed: HoldoutReport["failed"] = [];
  const check = (t: Trajectory, version: CoverageVersion) =>
    limit(async (): Promise<CoverageCheck> => {
      try {
        const reply = await model.generate({
          schemaName: "coverage",
          schema: CoverageReplySchema,
          messages: systemAndUser(systems[version], coverageInput(t, input.shared)),
          signal: input.signal,
        });
        usage = addUsage(usage, reply.usage);
        return acceptCoverage(reply.value, version === "base" ? input.base : input.draft, false);
      } catch (err) {
        if (input.signal?.aborted) throw err;
        failed.push({ trajectoryId: t.id, version, error: errorMessage(err) });
        return { verdict: "unknown", cause: "", rule: "", file: "" };
      }
    });
  const runs = await Promise.all(
    input.trajectories.map(async (t) => {
      const [base, draft] = await Promise.all([check(t, "base"), check(t, "draft")]);
      return { trajectoryId: t.id, base, draft };
    }),
  );
  return { report: buildReport(model.provider, runs, failed), usage };
}

export function buildReport(judge: string, runs: HoldoutReport["runs"], failed: HoldoutReport["failed"] = []): HoldoutReport {
  const sorted = [...runs].sort((a, b) => a.trajectoryId.localeCompare(b.trajectoryId));
  return {
    judge,
    runs: sorted,
    base: countVerdicts(sorted.map((r) => r.base)),
    draft: countVerdicts(sorted.map((r) => r.draft)),
    failed,
  };
}

function countVerdicts(checks: CoverageCheck[]): CoverageCounts {
  const counts: CoverageCounts = { yes: 0, partly: 0, no: 0, notAgent: 0, unknown: 0 };
  for (const c of checks) counts[c.verdict === "not-agent" ? "notAgent" : c.verdict] += 1;
  return counts;
}

export const HEURISTIC_JUDGE = "heuristic (error-text match)";

/**
 * Without a model, the only cause code can read is a tool error: a held-out failure counts as
 * addressed when a line of the version quotes its error text (as the heuristic's rules do).
 * Anything else is "unknown", never "no": the heuristic cannot tell what went wrong.
 */
export function heuristicHoldout(base: SkillFolder, draft: SkillFolder, trajectories: Trajectory[]): HoldoutReport {
  const runs = trajectories.map((t) => {
    const errors = [...new Set(t.steps.flatMap((s) => (s.toolResult?.isError ? [normaliseError(s.toolResult.content)] : [])))].filter((e) => e.length >= 8);
    const checkIn = (skill: SkillFolder): CoverageCheck => {
      const cause = errors.length > 0 ? `tool error: "${errors[0]}"` : "no tool error in the run";
      for (const error of errors) {
        const probe = error.slice(0, 60).toLowerCase();
        for (const [file, text] of Object.entries(skill.files)) {
          const line = text.split("\n").find((l) => l.toLowerCase().includes(probe));
          if (line) return { verdict: "yes", cause: `tool error: "${error}"`, rule: line.replace(/^\s*[-*+]\s+/, "").trim(), file };
        }
      }
      return { verdict: "unknown", cause, rule: "", file: "" };
    };
    return { trajectoryId: t.id, base: checkIn(base), draft: checkIn(draft) };
  });
  return buildReport(HEURISTIC_JUDGE, runs);
}

/** One line for changelogs and promote: base and draft coverage side by side. */
export function describeHoldout(r: HoldoutReport): string {
  const n = r.runs.length;
  if (r.judge === HEURISTIC_JUDGE) {
    // Matching error texts credits only rules that quote them, as the heuristic's own rules do;
    // a base that says the same in other words is never credited, so no side-by-side gain is claimed.
    return (
      `Held-out check (${n} failed run(s) kept out of the evolve, heuristic error-text match): the draft quotes the tool error of ` +
      `${r.draft.yes} of them, the base of ${r.base.yes}. A rule in other words cannot be credited by this match, so this is not a measured gain; ` +
      `with a model or in agent mode each failure is judged against both versions.`
    );
  }
  const side = (c: CoverageCounts) => `${c.yes} addressed, ${c.partly} partly${c.unknown ? `, ${c.unknown} unknown` : ""}`;
  const notAgent = r.draft.notAgent || r.base.notAgent ? `; ${Math.max(r.draft.notAgent, r.base.notAgent)} not the agent's doing` : "";
  const failed = r.failed.length > 0 ? `; ${r.failed.length} check(s) could not be made` : "";
  return `Held-out check (${n} failed run(s) kept out of the evolve, judged by ${r.judge}): base ${side(r.base)}; draft ${side(r.draft)} of ${n}${notAgent}${failed}.`;
}
