import type { Edit, Patch } from "../analysis/schema.js";
import { countLines, findSection, frontmatterLineCount, listSections, splitLines, type Section } from "../skill/markdown.js";
import { normRuleText } from "../skill/rule-text.js";
import type { ProvenanceEntry, SkillFolder } from "../skill/types.js";

/**
 * Stage 4, part one: the final patch applied by code to the frozen base. Pure: the base is
 * never mutated. An edit whose anchor, section or text cannot be found is skipped and
 * reported, never guessed at.
 */

export interface SkippedEdit {
  edit: Edit;
  reason: string;
}

export interface ApplyResult {
  folder: SkillFolder;
  applied: Edit[];
  skipped: SkippedEdit[];
  provenance: ProvenanceEntry[];
}

/** Offsets of a match in the original text. */
interface Span {
  start: number;
  end: number;
}

/**
 * Find `needle` in `text`: exactly first, then tolerantly (runs of whitespace collapsed,
 * case ignored). Offsets always refer to the original text.
 */
export function findTolerant(text: string, needle: string): Span | null {
  const exact = text.indexOf(needle);
  if (exact >= 0) return { start: exact, end: exact + needle.length };
  const wanted = needle.replace(/\s+/g, " ").trim().toLowerCase();
  if (wanted === "") return null;
  let collapsed = "";
  const origin: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      if (collapsed.endsWith(" ")) continue;
      collapsed += " ";
    } else {
      collapsed += ch.toLowerCase();
    }
    origin.push(i);
  }
  const at = collapsed.indexOf(wanted);
  if (at < 0) return null;
  const last = origin[at + wanted.length - 1] as number;
  return { start: origin[at] as number, end: last + 1 };
}

const BULLET = /^\s*[-*+]\s+/;
const NUMBERED = /^\s*\d+[.)]\s+/;

/** Blank line between two blocks, except between items of the same kind of list. */
function needsGap(before: string | undefined, after: string | undefined): boolean {
  if (before === undefined || after === undefined) return false;
  if (before.trim() === "" || after.trim() === "") return false;
  const sameList = (BULLET.test(before) && BULLET.test(after)) || (NUMBERED.test(before) && NUMBERED.test(after));
  return !sameList;
}

function contentLines(content: string): string[] {
  const lines = splitLines(content.replace(/^\s*\n|\s+$/g, ""));
  return lines.length > 0 ? lines : [""];
}

/** Insert a block of lines before index `at` of `lines`, with blank-line gaps where prose needs them. */
function insertBlock(lines: string[], at: number, block: string[]): string[] {
  const before = lines[at - 1];
  const after = lines[at];
  const head = needsGap(before, block[0]) ? [""] : [];
  const tail = needsGap(block[block.length - 1], after) ? [""] : [];
  return [...lines.slice(0, at), ...head, ...block, ...tail, ...lines.slice(at)];
}

function joinLines(lines: string[]): string {
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

/** Line index (0-based) of a character offset. */
function lineAt(text: string, offset: number): number {
  let n = 0;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === "\n") n++;
  return n;
}

/** Last index (0-based, exclusive) of a section's own body: before its first subsection, trailing blanks trimmed. */
function ownBodyEnd(lines: string[], section: Section, sections: Section[]): number {
  const sub = sections.find((s) => s.startLine > section.startLine && s.startLine <= section.endLine);
  let end = sub ? sub.startLine - 1 : section.endLine;
  while (end > section.startLine && (lines[end - 1] ?? "").trim() === "") end--;
  return end;
}

type Outcome = { text: string } | { skip: string };

function applyToText(text: string, edit: Edit): Outcome {
  const lines = splitLines(text);
  const frontmatter = frontmatterLineCount(lines);
  switch (edit.op) {
    case "insert_after":
    case "insert_before": {
      const span = findTolerant(text, edit.anchor);
      if (!span) return { skip: `anchor not found: "${edit.anchor.slice(0, 80)}"` };
      const first = lineAt(text, span.start);
      if (first < frontmatter) return { skip: "anchor is inside the frontmatter; edit the body instead" };
      const at = edit.op === "insert_after" ? lineAt(text, span.end - 1) + 1 : first;
      return { text: joinLines(insertBlock(lines, at, contentLines(edit.content))) };
    }
    case "append_to_section": {
      const section = findSection(text, edit.section);
      if (!section) return { skip: `section not found: "${edit.section}"` };
      const at = ownBodyEnd(lines, section, listSections(text));
      return { text: joinLines(insertBlock(lines, at, contentLines(edit.content))) };
    }
    case "replace_in_section": {
      const section = findSection(text, edit.section);
      if (!section) return { skip: `section not found: "${edit.section}"` };
      const head = joinLines(lines.slice(0, section.startLine - 1));
      const body = joinLines(lines.slice(section.startLine - 1, section.endLine));
      const rest = joinLines(lines.slice(section.endLine));
      const span = findTolerant(body, edit.find);
      if (!span) return { skip: `text to replace not found in section "${edit.section}": "${edit.find.slice(0, 80)}"` };
      return { text: head + body.slice(0, span.start) + edit.replace + body.slice(span.end) + rest };
    }
    case "add_section": {
      const existing = findSection(text, edit.heading);
      if (existing) {
        const at = ownBodyEnd(lines, existing, listSections(text));
        return { text: joinLines(insertBlock(lines, at, contentLines(edit.content))) };
      }
      const block = [`${"#".repeat(edit.level)} ${edit.heading.trim()}`, "", ...contentLines(edit.content)];
      const after = edit.after === null ? undefined : findSection(text, edit.after);
      let at = after ? after.endLine : lines.length;
      while (at > frontmatter && (lines[at - 1] ?? "").trim() === "") at--;
      const gapBefore = at > 0 && (lines[at - 1] ?? "").trim() !== "" ? [""] : [];
      const gapAfter = at < lines.length ? [""] : [];
      const trailing = lines.slice(at);
      while (trailing.length > 0 && (trailing[0] ?? "").trim() === "") trailing.shift();
      return { text: joinLines([...lines.slice(0, at), ...gapBefore, ...block, ...(trailing.length > 0 ? gapAfter : []), ...trailing]) };
    }
    case "delete_section": {
      const section = findSection(text, edit.section);
      if (!section) return { skip: `section not found: "${edit.section}"` };
      const kept = [...lines.slice(0, section.startLine - 1), ...lines.slice(section.endLine)];
      const i = section.startLine - 1;
      // Two blank lines meeting at the cut become one.
      if (i > 0 && (kept[i - 1] ?? "").trim() === "" && (kept[i] ?? "x").trim() === "") kept.splice(i, 1);
      return { text: joinLines(kept) };
    }
    case "create_file":
    case "delete_file":
      return { skip: "internal: file operations are not text edits" };
  }
}

function excerptOf(edit: Edit): string {
  const added =
    edit.op === "replace_in_section"
      ? edit.replace.trim() === "" ? `(removed) ${edit.find}` : edit.replace
      : edit.op === "delete_section"
        ? `(deleted section) ${edit.section}`
        : edit.op === "delete_file"
          ? `(deleted file) ${edit.file}`
          : edit.op === "add_section"
            ? `${edit.heading}: ${edit.content}`
            : edit.content;
  const firstLines = added
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .slice(0, 2)
    .join(" ");
  return firstLines.length > 200 ? `${firstLines.slice(0, 199)}…` : firstLines;
}

/** One entry per added passage; a list whose bullets kept their own support gives one per bullet. */
function provenanceOf(edit: Edit): ProvenanceEntry[] {
  if (edit.bullets && edit.bullets.length > 0) {
    return edit.bullets.map((b) => ({
      file: edit.file,
      excerpt: b.text.length > 200 ? `${b.text.slice(0, 199)}…` : b.text,
      op: edit.op,
      lessonIds: [...edit.lessonIds],
      support: [...new Set(b.support)].sort(),
    }));
  }
  return [{ file: edit.file, excerpt: excerptOf(edit), op: edit.op, lessonIds: [...edit.lessonIds], support: [...edit.support] }];
}

/** Bullets of added content long enough to be a rule of their own (shorter ones, "- Example:", are left alone). */
const MIN_RESTATED_CHARS = 20;

/** The list items of a text outside fenced code: what a restated rule looks like. */
function ruleLines(text: string): string[] {
  const out: string[] = [];
  let fence = false;
  for (const line of splitLines(text)) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    else if (!fence && BULLET.test(line) || !fence && NUMBERED.test(line)) out.push(line);
  }
  return out;
}

/**
 * An edit never adds a rule (a list item) the skill already has, in any of its files: such
 * bullets are taken out of its content, and an edit left with nothing new is skipped. (A second
 * evolve over the same runs used to copy the first one's bullets again.) Tables, code and prose
 * are left alone, and so is a bullet that the same patch removes elsewhere (`leaving`: a move).
 */
function withoutRestated(folder: SkillFolder, edit: Edit, leaving: ReadonlySet<string> = new Set()): { edit: Edit } | { skip: string } {
  if (edit.op !== "insert_after" && edit.op !== "insert_before" && edit.op !== "append_to_section" && edit.op !== "add_section") return { edit };
  const known = new Set(
    Object.values(folder.files)
      .flatMap((t) => ruleLines(t).map(normRuleText))
      .filter((n) => n.length >= MIN_RESTATED_CHARS && !leaving.has(n)),
  );
  const restated = new Set(ruleLines(edit.content).filter((l) => known.has(normRuleText(l))));
  if (restated.size === 0) return { edit };
  // A dropped bullet takes its continuation lines (indented, up to the next item or blank line) with it.
  const lines = splitLines(edit.content);
  const kept: string[] = [];
  let dropping = false;
  for (const l of lines) {
    if (restated.has(l)) {
      dropping = true;
      continue;
    }
    if (dropping && /^\s+\S/.test(l) && !(BULLET.test(l) && !/^\s/.test(l))) continue;
    dropping = false;
    kept.push(l);
  }
  if (kept.every((l) => l.trim() === "" || /^#+\s/.test(l.trim()))) {
    return { skip: `already in the skill: "${[...restated][0]?.trim().slice(0, 80) ?? ""}"` };
  }
  const content = kept.join("\n");
  const bullets = edit.bullets?.filter((b) => normRuleText(content).includes(normRuleText(b.text).slice(0, 60)));
  return { edit: { ...edit, content, ...(edit.bullets ? { bullets } : {}) } };
}

/** Bullets the patch's replacements and section deletions take out: adding them elsewhere is a move. */
function removedBy(base: SkillFolder, edits: readonly Edit[]): Set<string> {
  const out = new Set<string>();
  for (const e of edits) {
    if (e.op === "replace_in_section") {
      const kept = new Set(ruleLines(e.replace).map(normRuleText));
      for (const l of ruleLines(e.find)) if (!kept.has(normRuleText(l))) out.add(normRuleText(l));
    } else if (e.op === "delete_section") {
      const text = base.files[e.file] ?? "";
      const sec = findSection(text, e.section);
      if (sec) for (const l of ruleLines(splitLines(text).slice(sec.startLine - 1, sec.endLine).join("\n"))) out.add(normRuleText(l));
    }
  }
  return out;
}

/** Apply one edit to a folder: the new folder, or the reason it cannot apply. */
export function applyEdit(folder: SkillFolder, edit: Edit, leaving?: ReadonlySet<string>): { folder: SkillFolder; applied?: Edit } | { skip: string } {
  const exists = folder.files[edit.file] !== undefined || folder.binaries[edit.file] !== undefined;
  if (edit.op === "create_file") {
    if (exists) return { skip: `file already exists: ${edit.file}` };
    const content = edit.content.endsWith("\n") ? edit.content : `${edit.content}\n`;
    return { folder: { ...folder, files: { ...folder.files, [edit.file]: content } } };
  }
  if (edit.op === "delete_file") {
    if (!exists) return { skip: `file not found: ${edit.file}` };
    const { [edit.file]: _file, ...files } = folder.files;
    const { [edit.file]: _binary, ...binaries } = folder.binaries;
    return { folder: { ...folder, files, binaries } };
  }
  if (folder.binaries[edit.file] !== undefined) return { skip: `file is binary: ${edit.file}` };
  const text = folder.files[edit.file];
  if (text === undefined) return { skip: `file not found: ${edit.file}` };
  const fresh = withoutRestated(folder, edit, leaving);
  if ("skip" in fresh) return fresh;
  const outcome = applyToText(text, fresh.edit);
  if ("skip" in outcome) return outcome;
  return { folder: { ...folder, files: { ...folder.files, [edit.file]: outcome.text } }, applied: fresh.edit };
}

/** Apply a patch in order; each edit sees the result of the ones before it. */
export function applyPatch(base: SkillFolder, patch: Patch): ApplyResult {
  let folder: SkillFolder = { ...base, files: { ...base.files }, binaries: { ...base.binaries } };
  const applied: Edit[] = [];
  const skipped: SkippedEdit[] = [];
  const provenance: ProvenanceEntry[] = [];
  const leaving = removedBy(base, patch.edits);
  for (const edit of patch.edits) {
    const result = applyEdit(folder, edit, leaving);
    if ("skip" in result) {
      skipped.push({ edit, reason: result.skip });
      continue;
    }
    folder = result.folder;
    // What went in: an edit whose lines the skill partly had already is recorded without them.
    const done = result.applied ?? edit;
    applied.push(done);
    provenance.push(...provenanceOf(done));
  }
  return { folder, applied, skipped, provenance };
}

/** Lines a size cap applies to: the body of SKILL.md (after its frontmatter), the whole of other files. */
export function cappedLineCount(file: string, text: string): number {
  if (file !== "SKILL.md") return countLines(text);
  return countLines(text) - frontmatterLineCount(splitLines(text));
}
