import type { Edit, Patch } from "../analysis/schema.js";
import { EMPTY_USAGE } from "../llm/usage.js";
import { flattenGroup, type DroppedEdit, type MergeFn, type MergeResult } from "./merge-tree.js";
import { unionChangelog } from "./merge-reply.js";

/**
 * The model-less merge (heuristic provider, tests, fallback when a model's merge keeps
 * being rejected). Edits aimed at the same target are clustered by token similarity; a
 * cluster becomes its best-supported member with the union of all members' support.
 * Output never has more edits than input.
 */

export const SIMILARITY_THRESHOLD = 0.6;

function norm(text: string): string {
  return text.replace(/\s+/g, " ").trim().toLowerCase();
}

/** Where an edit acts: edits with different targets never merge. */
export function targetKey(edit: Edit): string {
  switch (edit.op) {
    case "insert_after":
    case "insert_before":
      return `${edit.op}|${edit.file}|${norm(edit.anchor)}`;
    case "append_to_section":
    case "delete_section":
      return `${edit.op}|${edit.file}|${norm(edit.section)}`;
    case "replace_in_section":
      return `${edit.op}|${edit.file}|${norm(edit.section)}|${norm(edit.find)}`;
    case "add_section":
      return `${edit.op}|${edit.file}|${norm(edit.heading)}`;
    case "create_file":
    case "delete_file":
      return `${edit.op}|${edit.file}`;
  }
}

/** The words an edit adds (empty for deletions, which merge on target alone). */
export function editText(edit: Edit): string {
  switch (edit.op) {
    case "replace_in_section":
      return edit.replace;
    case "delete_section":
    case "delete_file":
      return "";
    default:
      return edit.content;
  }
}

export function tokens(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []);
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const t of a) if (b.has(t)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Stronger support first; ties go to the earlier edit so the result is stable. */
function stronger(a: Edit, b: Edit): Edit {
  return new Set(b.support).size > new Set(a.support).size ? b : a;
}

function unionSorted(lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

interface Cluster {
  key: string;
  best: Edit;
  members: Edit[];
  /** Tokens of every member: an edit joins when it is similar to any of them. */
  memberTokens: Set<string>[];
}

/**
 * Paragraphs of `extra` not already said (by similarity) in `base`, appended to it. Used for
 * two new sections or files of the same name: both bodies' unique insights are kept.
 */
function combineContent(base: string, extra: string): string {
  const paragraphs = (t: string) => t.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 0);
  const kept = paragraphs(base);
  const keptTokens = kept.map(tokens);
  for (const p of paragraphs(extra)) {
    const pt = tokens(p);
    if (!keptTokens.some((k) => jaccard(k, pt) >= SIMILARITY_THRESHOLD)) {
      kept.push(p);
      keptTokens.push(pt);
    }
  }
  return kept.join("\n\n");
}

export function mergeEdits(inputs: Edit[]): { edits: Edit[]; dropped: DroppedEdit[] } {
  const clusters: Cluster[] = [];
  const dropped: DroppedEdit[] = [];

  for (const edit of inputs) {
    const key = targetKey(edit);
    const t = tokens(editText(edit));
    const similar = clusters.find((c) => c.key === key && c.memberTokens.some((m) => jaccard(m, t) >= SIMILARITY_THRESHOLD));
    if (similar) {
      similar.members.push(edit);
      similar.memberTokens.push(t);
      similar.best = stronger(similar.best, edit);
      continue;
    }
    const rival = clusters.find((c) => c.key === key);
    if (rival && (edit.op === "add_section" || edit.op === "create_file")) {
      const best = stronger(rival.best, edit);
      const other = best === edit ? rival.best : edit;
      const content = combineContent(editText(best), editText(other));
      rival.best = { ...best, content } as Edit;
      rival.members.push(edit);
      rival.memberTokens = [tokens(content)];
      continue;
    }
    if (rival && edit.op === "replace_in_section") {
      // Two different replacements of the same text: the better-supported one wins (ties: the earlier).
      const rivalSupport = new Set(rival.members.flatMap((m) => m.support)).size;
      if (new Set(edit.support).size > rivalSupport) {
        for (const m of rival.members) dropped.push({ edit: m, reason: "conflicting replacement with weaker support" });
        rival.best = edit;
        rival.members = [edit];
        rival.memberTokens = [t];
      } else {
        dropped.push({ edit, reason: "conflicting replacement with weaker support" });
      }
      continue;
    }
    clusters.push({ key, best: edit, members: [edit], memberTokens: [t] });
  }

  const edits = clusters.map(
    (c) =>
      ({
        ...c.best,
        support: unionSorted(c.members.map((m) => m.support)),
        lessonIds: unionSorted(c.members.map((m) => m.lessonIds)),
      }) as Edit,
  );
  return { edits, dropped };
}

export function mergePatches(group: Patch[]): MergeResult {
  const { edits, dropped } = mergeEdits(flattenGroup(group));
  return { patch: { edits, changelog: unionChangelog(group) }, dropped, usage: EMPTY_USAGE };
}

export const deterministicMerge: MergeFn = async (group) => mergePatches(group);
