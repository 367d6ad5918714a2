import type { Edit, Patch } from "../analysis/schema.js";
import { listSections, splitLines } from "../skill/markdown.js";
import type { SkillFolder } from "../skill/types.js";
import { dropThinBullets } from "./bullets.js";
import { InvalidInputError } from "../util/errors.js";
import { findTolerant } from "./apply.js";
import type { DroppedEdit } from "./merge-tree.js";

/**
 * Prevalence decides where an edit lands (DESIGN.md §1.3): well supported → SKILL.md;
 * rare but valid → a references/ file linked from SKILL.md; below the minimum → dropped.
 * Support counts every backing trajectory, successful or failed alike.
 */

export const DEFAULT_MIN_SUPPORT = 2;
/** Share of all trajectories an edit needs (besides minSupport) to stay in SKILL.md. */
export const DEFAULT_REFERENCE_SHARE = 0.1;

export interface PlacementOptions {
  /** The frozen base: where anchors sit, which reference files exist. */
  base: SkillFolder;
  totalTrajectories: number;
  minSupport?: number;
  /** Support at which an edit stays in SKILL.md; default max(minSupport, ⌈share × total⌉). */
  referenceSupport?: number;
  referenceShare?: number;
  outcomes?: Map<string, boolean | null>;
}

export type Placement = "skill" | "reference" | "dropped" | "in-place";

export interface EditEvidence {
  edit: Edit;
  support: number;
  successes: number;
  failures: number;
  unknown: number;
  placement: Placement;
}

export interface PlacementResult {
  patch: Patch;
  dropped: DroppedEdit[];
  /** Edits moved out of SKILL.md, with the reference file they went to. */
  moved: { edit: Edit; to: string }[];
  evidence: EditEvidence[];
  thresholds: { minSupport: number; referenceSupport: number };
}

export function supportCount(edit: Edit): number {
  return new Set(edit.support).size;
}

export function outcomeCounts(edit: Edit, outcomes?: Map<string, boolean | null>) {
  let successes = 0;
  let failures = 0;
  let unknown = 0;
  for (const id of new Set(edit.support)) {
    const o = outcomes?.get(id);
    if (o === true) successes++;
    else if (o === false) failures++;
    else unknown++;
  }
  return { successes, failures, unknown };
}

export function placementThresholds(opts: Pick<PlacementOptions, "minSupport" | "referenceSupport" | "referenceShare" | "totalTrajectories">) {
  const minSupport = opts.minSupport ?? DEFAULT_MIN_SUPPORT;
  if (!Number.isInteger(minSupport) || minSupport < 1) {
    throw new InvalidInputError(`min_support must be a positive integer (got ${minSupport}).`);
  }
  const share = opts.referenceShare ?? DEFAULT_REFERENCE_SHARE;
  const referenceSupport = opts.referenceSupport ?? Math.max(minSupport, Math.ceil(share * opts.totalTrajectories));
  return { minSupport, referenceSupport: Math.max(minSupport, referenceSupport) };
}

type MovableEdit = Extract<Edit, { op: "insert_after" | "insert_before" | "append_to_section" | "add_section" }>;

/** Edits that only add prose to SKILL.md can move to a reference file; rewrites and deletions cannot. */
function movable(edit: Edit): edit is MovableEdit {
  return (
    edit.file === "SKILL.md" &&
    (edit.op === "insert_after" || edit.op === "insert_before" || edit.op === "append_to_section" || edit.op === "add_section")
  );
}

export function slugify(text: string): string {
  const slug = text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
  return slug || "notes";
}

/** The SKILL.md section an edit would have landed in: its topic once moved to a reference. */
function topicOf(edit: Edit, skillMd: string): string {
  if (edit.op === "append_to_section") return edit.section.replace(/^#+\s*/, "");
  if (edit.op === "add_section") return edit.heading;
  if (edit.op === "insert_after" || edit.op === "insert_before") {
    const span = findTolerant(skillMd, edit.anchor);
    if (span) {
      const line = splitLines(skillMd.slice(0, span.start)).length || 1;
      const enclosing = listSections(skillMd).filter((s) => s.startLine <= line && s.level > 1).pop();
      if (enclosing) return enclosing.heading;
    }
  }
  return "Notes";
}

function unionSorted(lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

function firstHeading(text: string): string | undefined {
  return listSections(text)[0]?.heading;
}

/** The moved edit rewritten to land in `file` (whose main section is `section`). */
function retarget(edit: MovableEdit, file: string, section: string): Edit {
  const meta = { support: edit.support, lessonIds: edit.lessonIds, ...(edit.bullets ? { bullets: edit.bullets } : {}) };
  if (edit.op === "add_section") {
    return { op: "add_section", file, heading: edit.heading, level: 2, content: edit.content, after: null, ...meta };
  }
  return { op: "append_to_section", file, section, content: edit.content, ...meta };
}

/** A moved passage as prose inside a combined section (its heading, if any, in bold). */
function passageOf(edit: MovableEdit): string {
  return edit.op === "add_section" ? `**${edit.heading}**\n\n${edit.content}` : edit.content;
}

export function placeEdits(patch: Patch, opts: PlacementOptions): PlacementResult {
  const thresholds = placementThresholds(opts);
  const skillMd = opts.base.files["SKILL.md"] ?? "";
  const dropped: DroppedEdit[] = [];
  const evidence: EditEvidence[] = [];
  const kept: Edit[] = [];
  const toMove = new Map<string, { topic: string; edits: MovableEdit[] }>();

  for (const original of patch.edits) {
    // Bullets the merge kept per-bullet support for are counted one by one first.
    const thinned = dropThinBullets(original, thresholds.minSupport);
    for (const b of thinned.dropped) {
      const { bullets: _bullets, ...rest } = original;
      dropped.push({
        edit: { ...rest, support: b.support },
        reason: `bullet "${b.text.slice(0, 80)}": support ${new Set(b.support).size} is below the minimum of ${thresholds.minSupport}`,
      });
    }
    if (!thinned.edit) continue;
    const edit = thinned.edit;
    const support = supportCount(edit);
    const counts = outcomeCounts(edit, opts.outcomes);
    let placement: Placement;
    if (support < thresholds.minSupport) {
      placement = "dropped";
      dropped.push({ edit, reason: `support ${support} is below the minimum of ${thresholds.minSupport}` });
    } else if (!movable(edit)) {
      placement = "in-place";
      kept.push(edit);
    } else if (support >= thresholds.referenceSupport) {
      placement = "skill";
      kept.push(edit);
    } else {
      placement = "reference";
      const topic = topicOf(edit, skillMd);
      const slug = slugify(topic);
      const group = toMove.get(slug) ?? { topic, edits: [] };
      group.edits.push(edit);
      toMove.set(slug, group);
    }
    evidence.push({ edit, support, ...counts, placement });
  }

  const createdByPatch = new Set(kept.filter((e) => e.op === "create_file").map((e) => e.file));
  const moved: { edit: Edit; to: string }[] = [];
  const referenceEdits: Edit[] = [];
  for (const [slug, { topic, edits }] of toMove) {
    let file = `references/${slug}.md`;
    if (createdByPatch.has(file)) file = `references/${slug}-cases.md`;
    const existing = opts.base.files[file];
    let section = existing === undefined ? topic : firstHeading(existing);
    if (existing === undefined) {
      referenceEdits.push({
        op: "create_file",
        file,
        content: `# ${topic}\n\nLess common cases, each seen in only a few runs.\n`,
        linkText: linkTextFor(topic, edits),
        support: unionSorted(edits.map((e) => e.support)),
        lessonIds: unionSorted(edits.map((e) => e.lessonIds)),
      });
    }
    if (section === undefined) {
      // An existing reference without headings: its passages become one new section.
      section = topic;
      const combined: Edit = {
        op: "add_section",
        file,
        heading: topic,
        level: 2,
        content: edits.map(passageOf).join("\n\n"),
        after: null,
        support: unionSorted(edits.map((e) => e.support)),
        lessonIds: unionSorted(edits.map((e) => e.lessonIds)),
      };
      const bullets = edits.flatMap((e) => e.bullets ?? []);
      referenceEdits.push(bullets.length > 0 ? { ...combined, bullets } : combined);
      for (const edit of edits) moved.push({ edit, to: file });
      continue;
    }
    for (const edit of edits) {
      referenceEdits.push(retarget(edit, file, section));
      moved.push({ edit, to: file });
    }
  }

  return { patch: { edits: [...kept, ...referenceEdits], changelog: patch.changelog }, dropped, moved, evidence, thresholds };
}

/**
 * The line that links a new reference file: it says when to read it. The tools the moved
 * rules are about say that best ("before calling `x` or `y`"); without any, the topic.
 */
function linkTextFor(topic: string, edits: readonly Edit[]): string {
  const tools = [
    ...new Set(edits.flatMap((e) => ("content" in e && typeof e.content === "string" ? (e.content.match(/`[A-Za-z_][\w.-]{1,60}`/g) ?? []) : []))),
  ].slice(0, 3);
  if (tools.length > 0) {
    const list = tools.length === 1 ? tools[0] : `${tools.slice(0, -1).join(", ")} or ${tools.at(-1)}`;
    return `Read before calling ${list}: less common cases, each seen in only a few runs.`;
  }
  return `Read when a task touches ${topic.toLowerCase()} in a way the rules above do not cover: less common cases.`;
}
