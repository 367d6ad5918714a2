import { z } from "zod";
import type { Patch } from "../analysis/schema.js";
import type { SkillFolder } from "../skill/types.js";
import { toJsonSchema } from "../llm/json-schema.js";
import { InvalidInputError } from "../util/errors.js";
import { acceptMergeReply, MergeReplySchema, unionChangelog } from "./merge-reply.js";
import { flattenGroup, groupInputHash, type MergeResult } from "./merge-tree.js";
import { renderMergeTask, renderSkillContext } from "./model-merge.js";
import { loadPrompt } from "./prompts.js";

/**
 * Agent mode: a merge handed to the calling agent. What every merge of a run shares (the
 * merger's instructions, the frozen base skill, the reply schema) is one brief; each item
 * carries only its numbered input edits. Acceptance goes through the same code path as a
 * model merge, so support is unioned by code here too.
 */

export interface MergeBrief {
  instructions: string;
  responseSchema: Record<string, unknown>;
}

export function mergeBrief(base: SkillFolder): MergeBrief {
  return {
    instructions: `${loadPrompt("merger")}\n\n${renderSkillContext(base)}`,
    responseSchema: toJsonSchema(MergeReplySchema),
  };
}

export interface MergeWork {
  /** Hash of the group the item was built from: a submission must answer that very group. */
  inputHash: string;
  input: string;
  patches: number;
  edits: number;
}

export function mergeWork(group: Patch[], outcomes?: Map<string, boolean | null>): MergeWork {
  const edits = flattenGroup(group);
  return { inputHash: groupInputHash(group), input: renderMergeTask(edits, outcomes), patches: group.length, edits: edits.length };
}

/** Check an agent's merge of `group` and turn it into the group's merge result. */
export function acceptMergeSubmission(workItemId: string, group: Patch[], reply: unknown): MergeResult {
  const parsed = MergeReplySchema.safeParse(reply);
  if (!parsed.success) {
    throw new InvalidInputError(
      `The merge for work item ${workItemId} does not match its response schema: ${z.prettifyError(parsed.error)}`,
    );
  }
  const accepted = acceptMergeReply(flattenGroup(group), parsed.data, unionChangelog(group));
  if (!accepted.ok) throw new InvalidInputError(`The merge for work item ${workItemId} was rejected: ${accepted.problem}`);
  return accepted.result;
}
