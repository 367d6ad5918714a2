import { z } from "zod";
import { EditReplySchema, type Edit, type EditReply, type Patch } from "../analysis/schema.js";
import { hashJson } from "../util/hash.js";
import { EMPTY_USAGE } from "../llm/usage.js";
import { type DroppedEdit, type MergeResult } from "./merge-tree.js";
import { addedText, bulletsOf, bulletSupportIn, findBullet } from "./bullets.js";

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
  bullets: z
    .array(
      z.object({
        opening: z.string().min(3).max(200).describe("The bullet's first words, copied exactly from the edit's content"),
        sources: z.array(z.number().int().min(1)).min(1).describe("Numbers [N] of the inputs this bullet comes from (among `sources`)"),
      }),
    )
    .max(30)
    .default([])
    .describe(
      "Optional, for an edit whose list gathers bullets from different inputs: the inputs behind each bullet. " +
        "Code then counts support bullet by bullet and drops the bullets backed by too few runs.",
    ),
});

export const MergeReplySchema = z.object({
  edits: z.array(MergedEditSchema).describe("Merged edits; never more than the number of distinct input edits"),
  changelog: z.array(z.string().min(1).max(200)).max(10).default([]).describe("One line per notable change, for people"),
});
export type MergeReply = z.infer<typeof MergeReplySchema>;

/** The part of an edit the merger sees and writes (no support, no lesson ids). */
export function editReplyOf(edit: Edit): EditReply {
  const { support: _support, lessonIds: _lessons, bullets: _bullets, ...reply } = edit;
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
      const perBullet = (edit.bullets ?? []).map((b) => `  bullet "${b.text.slice(0, 60)}": support ${new Set(b.support).size}`);
      return [line, ...perBullet, JSON.stringify(editReplyOf(edit), null, 2)].join("\n");
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
    for (const b of merged.bullets) {
      const text = addedText({ ...merged.edit, support: [], lessonIds: [] } as Edit);
      const outside = b.sources.filter((n) => !merged.sources.includes(n));
      if (outside.length > 0) {
        return { ok: false, problem: `Merged edit ${i + 1}: bullet "${b.opening}" cites ${outside.join(", ")}, which the edit's sources do not include.` };
      }
      if (text === null || findBullet(text, b.opening) < 0) {
        return { ok: false, problem: `Merged edit ${i + 1}: no bullet of its content starts with "${b.opening}"; copy each bullet's opening words exactly.` };
      }
    }
  }

  const hashes = inputs.map((e) => hashJson(editReplyOf(e)));
  const cited = new Set(reply.edits.flatMap((m) => m.sources.map((s) => s - 1)));
  const twinsOf = (index: number): number[] =>
    hashes.flatMap((h, j) => (h === hashes[index] && !cited.has(j) ? [j] : []));

  const edits: Edit[] = reply.edits.map((merged) => {
    const indices = [...new Set(merged.sources.map((s) => s - 1).flatMap((i) => [i, ...twinsOf(i)]))];
    const sources = indices.map((i) => inputs[i] as Edit);
    const edit = {
      ...merged.edit,
      support: union(sources.map((e) => e.support)),
      lessonIds: union(sources.map((e) => e.lessonIds)),
    } as Edit;
    const bullets = bulletSupport(edit, merged, inputs, sources);
    return bullets ? { ...edit, bullets } : edit;
  });

  const covered = new Set(reply.edits.flatMap((m) => m.sources.map((s) => s - 1).flatMap((i) => [i, ...twinsOf(i)])));
  const dropped: DroppedEdit[] = inputs.flatMap((edit, i) =>
    covered.has(i) ? [] : [{ edit, reason: "not kept by the merge (judged redundant, superseded or too specific)" }],
  );
  const changelog = reply.changelog.length > 0 ? reply.changelog : changelogFallback;
  return { ok: true, result: { patch: { edits, changelog }, dropped, usage: EMPTY_USAGE } };
}

/**
 * Each bullet's support: the named inputs' (their own per-bullet support when they kept one);
 * bullets the merger did not name carry the edit's. Null when nobody kept support per bullet.
 */
function bulletSupport(edit: Edit, merged: z.infer<typeof MergedEditSchema>, inputs: Edit[], sources: Edit[]) {
  const text = addedText(edit);
  if (text === null || (merged.bullets.length === 0 && !sources.some((s) => s.bullets?.length))) return null;
  return bulletsOf(text).map((bullet) => {
    const named = merged.bullets.find((b) => findBullet(bullet.text, b.opening) === 0 || bullet.text.startsWith(b.opening));
    const from = named ? named.sources.map((n) => inputs[n - 1] as Edit) : sources;
    // Inputs the merger named back the bullet even when worded differently; others only if they hold it.
    const support = union(
      from.map((input) => {
        const own = bulletSupportIn(input, bullet.text);
        return named && own.length === 0 ? input.support : own;
      }),
    );
    return { text: bullet.text.slice(0, 120), support: support.length > 0 ? support : edit.support };
  });
}

/** The changelog lines of a group's patches, de-duplicated, in order. */
export function unionChangelog(group: Patch[]): string[] {
  return [...new Set(group.flatMap((p) => p.changelog))];
}
