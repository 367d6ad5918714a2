import { z } from "zod";
import { EditReplySchema, type Edit, type EditReply, type Patch } from "../analysis/schema.js";
import { hashJson } from "../util/hash.js";
import { EMPTY_USAGE } from "../llm/usage.js";
import { type DroppedEdit, type MergeResult } from "./merge-tree.js";

/**
 * The contract between a merger (model or agent) and code. The merger sees the input edits
 * numbered, with their support COUNTS, and answers with merged edits that cite the numbers
 * they merge. Code then computes support and lesson ids as the union over the cited inputs:
 * the merger never writes a support set, so support cannot be invented or lost.
 */

export const MergedEditSchema = z.object({
  sources: z
    .array(z.number().int().min(1))
    .min(1)
    .describe("Numbers of the input edits this edit merges (as shown in [N]); every kept insight must cite its inputs"),
  edit: EditReplySchema,
});

export const MergeReplySchema = z.object({
  edits: z.array(MergedEditSchema).describe("Merged edits; never more than the number of distinct input edits"),
  changelog: z.array(z.string().min(1).max(200)).max(10).default([]).describe("One line per notable change, for people"),
});
export type MergeReply = z.infer<typeof MergeReplySchema>;

/** The part of an edit the merger sees and writes (no support, no lesson ids). */
export function editReplyOf(edit: Edit): EditReply {
  const { support: _support, lessonIds: _lessons, ...reply } = edit;
  return reply as EditReply;
}

export function distinctEditCount(edits: Edit[]): number {
  return new Set(edits.map((e) => hashJson(editReplyOf(e)))).size;
}

/** The numbered inputs as the merger reads them: [N], support count, then the edit. */
export function renderMergeInputs(edits: Edit[], outcomes?: Map<string, boolean | null>): string {
  return edits
    .map((edit, i) => {
      const support = new Set(edit.support);
      let line = `[${i + 1}] support: ${support.size} trajectories`;
      if (outcomes) {
        let ok = 0;
        let failed = 0;
        for (const id of support) {
          const o = outcomes.get(id);
          if (o === true) ok++;
          else if (o === false) failed++;
        }
        line += ` (${ok} succeeded, ${failed} failed)`;
      }
      return `${line}\n${JSON.stringify(editReplyOf(edit), null, 2)}`;
    })
    .join("\n\n");
}

export type AcceptedMerge = { ok: true; result: MergeResult } | { ok: false; problem: string };

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

/**
 * Turn a merger's reply into a patch. Rejects (with a message the merger can act on) a
 * reply that grows, cites unknown inputs, or moves content to a file none of its sources
 * touched. Inputs not cited are dropped-by-merge, except exact duplicates of a cited input,
 * whose support joins that input's.
 */
export function acceptMergeReply(inputs: Edit[], reply: MergeReply, changelogFallback: string[] = []): AcceptedMerge {
  const distinct = distinctEditCount(inputs);
  if (reply.edits.length > distinct) {
    return {
      ok: false,
      problem: `The reply has ${reply.edits.length} edits but there are only ${distinct} distinct input edits; a merge must never grow. Combine duplicates and keep at most ${distinct} edits.`,
    };
  }
  for (const [i, merged] of reply.edits.entries()) {
    const unknown = merged.sources.filter((s) => s < 1 || s > inputs.length);
    if (unknown.length > 0) {
      return {
        ok: false,
        problem: `Merged edit ${i + 1} cites unknown input(s) ${unknown.join(", ")}; inputs are numbered 1 to ${inputs.length}.`,
      };
    }
    const files = new Set(merged.sources.map((s) => (inputs[s - 1] as Edit).file));
    if (!files.has(merged.edit.file)) {
      return {
        ok: false,
        problem: `Merged edit ${i + 1} targets "${merged.edit.file}", a file none of its sources (${merged.sources.join(", ")}) edits; keep each edit in its sources' file.`,
      };
    }
  }

  const hashes = inputs.map((e) => hashJson(editReplyOf(e)));
  const cited = new Set(reply.edits.flatMap((m) => m.sources.map((s) => s - 1)));
  const twinsOf = (index: number): number[] =>
    hashes.flatMap((h, j) => (h === hashes[index] && !cited.has(j) ? [j] : []));

  const edits: Edit[] = reply.edits.map((merged) => {
    const indices = [...new Set(merged.sources.map((s) => s - 1).flatMap((i) => [i, ...twinsOf(i)]))];
    const sources = indices.map((i) => inputs[i] as Edit);
    return {
      ...merged.edit,
      support: union(sources.map((e) => e.support)),
      lessonIds: union(sources.map((e) => e.lessonIds)),
    } as Edit;
  });

  const covered = new Set(reply.edits.flatMap((m) => m.sources.map((s) => s - 1).flatMap((i) => [i, ...twinsOf(i)])));
  const dropped: DroppedEdit[] = inputs.flatMap((edit, i) =>
    covered.has(i) ? [] : [{ edit, reason: "not kept by the merge (judged redundant, superseded or too specific)" }],
  );
  const changelog = reply.changelog.length > 0 ? reply.changelog : changelogFallback;
  return { ok: true, result: { patch: { edits, changelog }, dropped, usage: EMPTY_USAGE } };
}

/** The changelog lines of a group's patches, de-duplicated, in order. */
export function unionChangelog(group: Patch[]): string[] {
  return [...new Set(group.flatMap((p) => p.changelog))];
}
