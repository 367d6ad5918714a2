import type { Edit, Patch } from "../analysis/schema.js";
import { addUsage, EMPTY_USAGE, type Usage } from "../llm/usage.js";
import { systemAndUser, type ChatMessage, type LanguageModel } from "../llm/port.js";
import type { SkillFolder } from "../skill/types.js";
import { log } from "../util/log.js";
import { mergePatches } from "./deterministic-merge.js";
import {
  acceptMergeReply,
  distinctEditCount,
  MergeReplySchema,
  renderMergeInputs,
  unionChangelog,
  type MergeReply,
} from "./merge-reply.js";
import { flattenGroup, type MergeFn, type MergeResult } from "./merge-tree.js";
import { renderSkillFiles } from "../skill/render.js";
import { loadPrompt } from "./prompts.js";


export interface ModelMergeOptions {
  /** Replies rejected by code (growth, unknown sources) are retried with the reason, this many times in all. */
  maxAttempts?: number;
  outcomes?: Map<string, boolean | null>;
}

/** The frozen base the edits apply to: every text file, so a merge can tell what is covered and where a rule belongs. */
export function renderSkillContext(base: SkillFolder): string {
  return ["The skill the edits apply to (frozen base), every file:", renderSkillFiles(base)].join("\n\n");
}

/** The numbered inputs of one merge and the size bound: what differs from merge to merge. */
export function renderMergeTask(edits: Edit[], outcomes?: Map<string, boolean | null>): string {
  const distinct = distinctEditCount(edits);
  return [
    `Input edits (${edits.length}, of which ${distinct} distinct):`,
    "<input_edits>",
    renderMergeInputs(edits, outcomes),
    "</input_edits>",
    "",
    `Return at most ${distinct} merged edits, each citing its sources by number.`,
  ].join("\n");
}

/** The user message of a merge: base context, then the numbered inputs and the size bound. */
export function renderMergeRequest(base: SkillFolder, edits: Edit[], outcomes?: Map<string, boolean | null>): string {
  return [renderSkillContext(base), "", renderMergeTask(edits, outcomes)].join("\n");
}

/**
 * A merge that asks `model` to merge a group; code checks and books the reply
 * (acceptMergeReply). After `maxAttempts` rejected replies the group falls back to the
 * deterministic merge, so one stubborn group never loses a run's insights.
 */
export function modelMerge(model: LanguageModel, base: SkillFolder, opts: ModelMergeOptions = {}): MergeFn {
  const maxAttempts = opts.maxAttempts ?? 3;
  return async (group: Patch[], ctx): Promise<MergeResult> => {
    const inputs = flattenGroup(group);
    if (inputs.length === 0) return { patch: { edits: [], changelog: unionChangelog(group) }, dropped: [], usage: EMPTY_USAGE };
    const messages: ChatMessage[] = systemAndUser(loadPrompt("merger"), renderMergeRequest(base, inputs, opts.outcomes));
    let usage: Usage = EMPTY_USAGE;
    let problem = "";
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const reply = await model.generate<MergeReply>({
        schemaName: "merge",
        schema: MergeReplySchema,
        messages,
        signal: ctx.signal,
      });
      usage = addUsage(usage, reply.usage);
      const accepted = acceptMergeReply(inputs, reply.value, unionChangelog(group));
      if (accepted.ok) return { ...accepted.result, usage };
      problem = accepted.problem;
      messages.push(
        { role: "assistant", content: JSON.stringify(reply.value) },
        { role: "user", content: `Your merge was rejected: ${problem} Answer again with a corrected merge.` },
      );
    }
    log.warn("model merge rejected repeatedly; merging this group deterministically", {
      level: ctx.level,
      group: ctx.index,
      problem,
    });
    return { ...mergePatches(group), usage };
  };
}
