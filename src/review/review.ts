import { applyPatch } from "../consolidation/apply.js";
import { checkPatch } from "../consolidation/guards.js";
import { systemAndUser, type LanguageModel } from "../llm/port.js";
import { EMPTY_USAGE, type Usage } from "../llm/usage.js";
import { renderSkillFiles } from "../skill/render.js";
import type { ReviewReport, SkillFolder } from "../skill/types.js";
import { validateSkill } from "../skill/validate.js";
import { errorMessage } from "../util/errors.js";
import { reviewerPrompt } from "./prompts.js";
import { ReviewReplySchema, type ReviewReply } from "./schema.js";

/**
 * The last stage before a draft is stored: a reviewer reads the draft against the frozen base
 * and the context the runs shared, and returns findings (contradictions, fused or invented
 * rules, duplicates, structure) with typed edits that fix them. The edits pass the same guards
 * as every other edit and are applied to the draft; a fix that would leave the draft invalid is
 * not kept. Findings go in the draft's record whatever happens to the edits.
 */

export interface ReviewInput {
  model: LanguageModel;
  base: SkillFolder;
  draft: SkillFolder;
  /** The text every run shared (e.g. the agent's system prompt with its policy), if any. */
  sharedContext: string;
  /** Who the review's edits are credited to in provenance (e.g. "review:<run id>"). */
  source: string;
  expectedById: Map<string, string | undefined>;
  signal?: AbortSignal;
}

export interface ReviewResult {
  folder: SkillFolder;
  report: ReviewReport;
  usage: Usage;
}

export function reviewMessages(base: SkillFolder, draft: SkillFolder, sharedContext: string): { system: string; user: string } {
  const draftFiles = renderSkillFiles(draft).replaceAll("<base_skill", "<draft_skill").replaceAll("</base_skill>", "</draft_skill>");
  return {
    system: reviewerPrompt(),
    user: [
      "# Base skill (frozen)",
      renderSkillFiles(base),
      "# Draft",
      draftFiles,
      ...(sharedContext ? ["# Context shared by the runs", sharedContext] : []),
      "Review the draft as instructed.",
    ].join("\n\n"),
  };
}

/** Apply a reviewer's reply to the draft through the guards; what was kept and what was not. */
export function applyReview(reply: ReviewReply, input: Omit<ReviewInput, "model" | "signal">, reviewer: string): Omit<ReviewResult, "usage"> {
  const edits = reply.edits.map((e) => ({ ...e, support: [input.source], lessonIds: [] }));
  const guarded = checkPatch({ edits, changelog: [] }, input.draft, { expectedById: input.expectedById });
  const applied = applyPatch(input.draft, guarded.patch);
  const dropped = [
    ...guarded.violations.map((v) => `${v.edit.op} ${v.edit.file}: ${v.guard}: ${v.message}`),
    ...applied.skipped.map((s) => `${s.edit.op} ${s.edit.file}: ${s.reason}`),
  ];
  const valid = validateSkill(applied.folder).valid;
  if (!valid && applied.applied.length > 0) dropped.push("the fixes together would leave the draft invalid, so none was applied");
  return {
    folder: valid ? applied.folder : input.draft,
    report: { reviewer, findings: reply.findings, applied: valid ? applied.applied.length : 0, dropped, error: null },
  };
}

export async function reviewDraft(input: ReviewInput): Promise<ReviewResult> {
  const { system, user } = reviewMessages(input.base, input.draft, input.sharedContext);
  try {
    const reply = await input.model.generate({
      schemaName: "review",
      schema: ReviewReplySchema,
      messages: systemAndUser(system, user),
      signal: input.signal,
    });
    return { ...applyReview(reply.value, input, input.model.provider), usage: reply.usage };
  } catch (err) {
    if (input.signal?.aborted) throw err;
    // A failed review never loses the draft: it is stored unreviewed, and says so.
    return {
      folder: input.draft,
      report: { reviewer: input.model.provider, findings: [], applied: 0, dropped: [], error: errorMessage(err) },
      usage: EMPTY_USAGE,
    };
  }
}

export function describeReview(r: ReviewReport): string {
  if (r.error) return `Review (${r.reviewer}) could not be made: ${r.error}. The draft is stored unreviewed.`;
  if (r.findings.length === 0) return `Review (${r.reviewer}): no problem found.`;
  const kinds = [...new Set(r.findings.map((f) => f.kind))].join(", ");
  return `Review (${r.reviewer}): ${r.findings.length} finding(s) (${kinds}); ${r.applied} fix(es) applied${r.dropped.length ? `, ${r.dropped.length} refused` : ""}.`;
}
