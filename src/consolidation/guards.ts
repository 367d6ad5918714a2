import type { Edit, Patch } from "../analysis/schema.js";
import { groundTruthLiterals, findLeak } from "../analysis/ground-truth.js";
import { findSection, linkLines, listSections, splitLines } from "../skill/markdown.js";
import type { SkillFolder } from "../skill/types.js";
import { BODY_LINE_LIMIT, REFERENCE_LINE_LIMIT } from "../skill/validate.js";
import { errorMessage } from "../util/errors.js";
import { safeRelativePath } from "../util/fsx.js";
import { applyPatch, cappedLineCount } from "./apply.js";
import { supportCount } from "./placement.js";

/**
 * Deterministic guards (DESIGN.md §1.4, §9), run on merge outputs and on the final patch
 * before it is applied. An offending edit is removed and reported as a violation; guards
 * never rewrite an edit's content. The one thing they add is the SKILL.md link a new file
 * needs (and the removal of a link to a deleted file).
 */

export type GuardName = "path" | "protected" | "injection" | "ground-truth" | "overlap" | "file-exists" | "size";

export interface Violation {
  edit: Edit;
  guard: GuardName;
  message: string;
}

export interface GuardOptions {
  /** Expected outcome (ground truth) of each trajectory, by id. */
  expectedById: Map<string, string | undefined>;
  /** Glob-ish patterns ("LICENSE", "scripts/**", "assets/*.png") of files no edit may touch. */
  protectedFiles?: string[];
  /** Most lines the SKILL.md body may have; the validator wants fewer than 500. */
  maxSkillLines?: number;
  maxReferenceLines?: number;
}

export interface GuardResult {
  patch: Patch;
  violations: Violation[];
  /** Edits the guards added: SKILL.md links for new files, removals of links to deleted ones. */
  added: Edit[];
}

export const DEFAULT_PROTECTED_FILES = ["LICENSE", "LICENSE.txt", "LICENSE.md", "scripts/**"];
export const DEFAULT_MAX_SKILL_LINES = BODY_LINE_LIMIT - 1;
export const DEFAULT_MAX_REFERENCE_LINES = REFERENCE_LINE_LIMIT;

/** Top-level places a new file may go (Agent Skills layout). */
const NEW_FILE_DIRS = ["references/", "assets/"];

/** `**` any path, `*` any name part, `?` one character; anything else literal. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(String.raw`^${re}$`);
}

export function isProtected(file: string, patterns: string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(file));
}

import { commandLines, dangerousBehaviour } from "./screening.js";

/** Planted commands, attempts to steer the reader, and secrets: never let them into a skill unreviewed. */
/** Interpreters a downloaded script can be piped or handed to. */
const SHELLS = String.raw`(?:sudo\s+(?:-\S+\s+)*)?(?:\/\S*\/)?(?:ba|z|k|da|fi)?sh|(?:sudo\s+(?:-\S+\s+)*)?(?:\/\S*\/)?(?:python[0-9.]*|perl|ruby|node|php)`;
const DOWNLOAD = String.raw`\b(?:curl|wget|fetch|iwr|invoke-webrequest)\b`;

const INJECTION_PATTERNS: { re: RegExp; what: string }[] = [
  { re: new RegExp(String.raw`${DOWNLOAD}[^\n]*\|\s*(?:${SHELLS})\b`, "i"), what: "a download piped into a shell or interpreter" },
  { re: new RegExp(String.raw`(?:${SHELLS})\s+(?:-c\s+)?["']?\$\(\s*${DOWNLOAD}`, "i"), what: "a shell running a downloaded script" },
  { re: new RegExp(String.raw`(?:${SHELLS})\s+<\(\s*${DOWNLOAD}`, "i"), what: "a shell running a downloaded script" },
  { re: new RegExp(String.raw`${DOWNLOAD}[^\n]*(?:-o|-O|--output)\s*\S+[^\n]*(?:&&|;)\s*(?:chmod\s+\S+\s+\S+\s*(?:&&|;)\s*)?(?:${SHELLS}|\.\/)`, "i"), what: "a downloaded file executed" },
  { re: /\beval\s+["']?\$\(/i, what: "eval of command output" },
  { re: /\b(?:iex|invoke-expression)\b[^\n]*\b(?:iwr|invoke-webrequest|downloadstring)\b/i, what: "a download run by PowerShell" },
  { re: /base64\s+(?:-d|--decode)\b[^\n]*\|\s*(?:ba|z)?sh\b/i, what: "decoded data piped into a shell" },
  { re: /\brm\s+-[a-z]*r[a-z]*f?\s+(?:~|\/)(?:\s|$)/i, what: "a command deleting a home or root folder" },
  {
    re: /\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+)?(?:(?:previous|prior|above|earlier|preceding|system)\s+(?:instructions|prompts?|rules|messages)|(?:instructions|prompts?)\s+(?:above|before|you\s+were\s+given))/i,
    what: "an instruction to ignore previous instructions",
  },
  { re: /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}/, what: "an API key" },
  { re: /\bAKIA[0-9A-Z]{16}\b/, what: "an AWS access key" },
  { re: /\bgh[pousr]_[A-Za-z0-9]{30,}/, what: "a GitHub token" },
  { re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/, what: "a Slack token" },
  { re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: "a private key" },
  { re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:[^\s@/]+@/i, what: "a password in a URL" },
];

/** Every piece of text an edit would put into (or match against) the skill. */
export function editTexts(edit: Edit): string {
  const e = edit as Record<string, unknown>;
  return ["anchor", "section", "find", "replace", "heading", "after", "content", "linkText"]
    .map((k) => e[k])
    .filter((v): v is string => typeof v === "string")
    .join("\n");
}

/** Lines continued with a trailing backslash are one command: join them before matching. */
function joinContinuations(text: string): string {
  return text.replace(/\\\r?\n\s*/g, " ");
}

export function findInjection(text: string): string | null {
  const joined = joinContinuations(text);
  for (const line of joined.split("\n")) {
    const behaviour = dangerousBehaviour(line);
    if (behaviour) return behaviour;
  }
  return INJECTION_PATTERNS.find((p) => p.re.test(joined))?.what ?? null;
}

/**
 * Risky lines a new version ADDS to its skill (lines that are not in the base), whatever edit
 * produced them — edits can combine with base text into a command neither shows alone.
 */
export function riskyAdditions(base: SkillFolder, result: SkillFolder): string[] {
  const flags: string[] = [];
  for (const [file, text] of Object.entries(result.files)) {
    const before = new Set(joinContinuations(base.files[file] ?? "").split("\n"));
    const joined = joinContinuations(text);
    const flagged = new Set<string>();
    for (const line of joined.split("\n")) {
      if (before.has(line)) continue;
      const what = findInjection(line);
      if (what) {
        flags.push(`${file}: ${what}: ${line.trim().slice(0, 160)}`);
        flagged.add(line);
      }
    }
    // Any command line or link to code the base does not have is for a person to read first.
    for (const { line, why } of commandLines(joined)) {
      if (before.has(line) || flagged.has(line)) continue;
      flags.push(`${file}: ${why} the base does not have: ${line.trim().slice(0, 160)}`);
    }
  }
  return flags;
}

/**
 * Guards that judge one edit on its own: path, protected files, injection, ground truth.
 * Cheap and merge-invariant, so they also run on every merge output.
 */
export function checkEdit(edit: Edit, opts: Pick<GuardOptions, "expectedById" | "protectedFiles">): Violation | null {
  try {
    safeRelativePath(edit.file, "edit's file");
  } catch (err) {
    return { edit, guard: "path", message: errorMessage(err) };
  }
  if (edit.op === "create_file" && !NEW_FILE_DIRS.some((d) => edit.file.startsWith(d))) {
    return { edit, guard: "path", message: `New file "${edit.file}" must go under ${NEW_FILE_DIRS.join(" or ")}.` };
  }
  const patterns = opts.protectedFiles ?? DEFAULT_PROTECTED_FILES;
  if (isProtected(edit.file, patterns)) {
    return { edit, guard: "protected", message: `"${edit.file}" is protected (${patterns.join(", ")}); edits to it are not allowed.` };
  }
  if (edit.op === "delete_file" && edit.file === "SKILL.md") {
    return { edit, guard: "protected", message: "SKILL.md cannot be deleted: every skill needs one." };
  }
  const text = editTexts(edit);
  const injection = findInjection(text);
  if (injection) {
    return { edit, guard: "injection", message: `Contains ${injection}; removed so it cannot reach a skill unreviewed.` };
  }
  for (const id of new Set(edit.support)) {
    const literal = findLeak(text, groundTruthLiterals(opts.expectedById.get(id)));
    if (literal !== null) {
      return {
        edit,
        guard: "ground-truth",
        message: `Contains "${literal}" from the expected outcome of trajectory ${id.slice(0, 12)}; a skill must teach rules, not one task's answer.`,
      };
    }
  }
  return null;
}

export function checkEdits(edits: Edit[], opts: Pick<GuardOptions, "expectedById" | "protectedFiles">): { kept: Edit[]; violations: Violation[] } {
  const kept: Edit[] = [];
  const violations: Violation[] = [];
  for (const edit of edits) {
    const v = checkEdit(edit, opts);
    if (v) violations.push(v);
    else kept.push(edit);
  }
  return { kept, violations };
}

function norm(text: string): string {
  return text.replace(/\s+/g, " ").trim().toLowerCase();
}

function overlaps(a: string, b: string): boolean {
  const x = norm(a);
  const y = norm(b);
  return x.includes(y) || y.includes(x);
}

/** The text an edit rewrites or positions itself on, per op. */
function touchOf(edit: Edit): { section?: string; find?: string; anchor?: string; heading?: string } {
  switch (edit.op) {
    case "insert_after":
    case "insert_before":
      return { anchor: edit.anchor };
    case "append_to_section":
      return { section: edit.section };
    case "replace_in_section":
      return { section: edit.section, find: edit.find };
    case "delete_section":
      return { section: edit.section };
    case "add_section":
      return { heading: edit.heading };
    default:
      return {};
  }
}

/** Why two edits cannot both apply cleanly, or null. Only edits of the same file can clash. */
export function clash(a: Edit, b: Edit): string | null {
  if (a.file !== b.file) return null;
  if (a.op === "delete_file" || b.op === "delete_file") return `both touch ${a.file}, which one of them deletes`;
  if (a.op === "create_file" && b.op === "create_file") return `both create ${a.file}`;
  const ta = touchOf(a);
  const tb = touchOf(b);
  const sameSection = ta.section !== undefined && tb.section !== undefined && norm(ta.section) === norm(tb.section);
  if (sameSection && (a.op === "delete_section" || b.op === "delete_section")) return `one deletes section "${ta.section}" the other edits`;
  if (a.op === "replace_in_section" && b.op === "replace_in_section" && sameSection && overlaps(a.find, b.find)) {
    return `both replace overlapping text in section "${a.section}"`;
  }
  if (a.op === b.op && ta.anchor !== undefined && tb.anchor !== undefined && norm(ta.anchor) === norm(tb.anchor)) {
    return `both ${a.op} the same anchor`;
  }
  const find = ta.find ?? tb.find;
  const anchor = ta.anchor ?? tb.anchor;
  if (find !== undefined && anchor !== undefined && overlaps(find, anchor)) return "one replaces the text the other is anchored on";
  if (ta.heading !== undefined && tb.heading !== undefined && norm(ta.heading) === norm(tb.heading)) {
    return `both add a section "${ta.heading}"`;
  }
  return null;
}

/** Keep the better-supported edit of every clashing pair (ties: the earlier one); order preserved. */
function resolveClashes(edits: Edit[]): { kept: Edit[]; violations: Violation[] } {
  const ranked = edits.map((edit, i) => ({ edit, i })).sort((x, y) => supportCount(y.edit) - supportCount(x.edit) || x.i - y.i);
  const accepted: { edit: Edit; i: number }[] = [];
  const violations: Violation[] = [];
  for (const candidate of ranked) {
    const against = accepted.map((a) => ({ a, why: clash(a.edit, candidate.edit) })).find((c) => c.why !== null);
    if (against) {
      violations.push({
        edit: candidate.edit,
        guard: "overlap",
        message: `Clashes with a better-supported edit (${supportCount(against.a.edit)} vs ${supportCount(candidate.edit)} trajectories): ${against.why}.`,
      });
    } else accepted.push(candidate);
  }
  return { kept: accepted.sort((x, y) => x.i - y.i).map((a) => a.edit), violations };
}

function unionSorted(lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

function linksTo(markdown: string, file: string): boolean {
  return linkLines(markdown).some((l) => l.target.replace(/^\.\//, "") === file);
}

export function linkLine(file: string, linkText: string): string {
  return `- [${file}](${file}): ${linkText.replace(/\s+/g, " ").trim()}`;
}

/** The SKILL.md link every new file needs, unless the base or another edit already links it. */
function linkEditsFor(edits: Edit[], skillMd: string): Edit[] {
  const skillContent = edits.filter((e) => e.file === "SKILL.md").map(editTexts).join("\n");
  const unlinked = edits.filter(
    (e): e is Extract<Edit, { op: "create_file" }> =>
      e.op === "create_file" && !linksTo(skillMd, e.file) && !linksTo(skillContent, e.file),
  );
  if (unlinked.length === 0) return [];
  const content = unlinked.map((e) => linkLine(e.file, e.linkText)).join("\n");
  const support = unionSorted(unlinked.map((e) => e.support));
  const lessonIds = unionSorted(unlinked.map((e) => e.lessonIds));
  const existing = ["References", "Reference files", "Additional resources"]
    .map((h) => findSection(skillMd, h))
    .find((s) => s !== undefined);
  if (existing) return [{ op: "append_to_section", file: "SKILL.md", section: existing.heading, content, support, lessonIds }];
  return [{ op: "add_section", file: "SKILL.md", heading: "References", level: 2, content, after: null, support, lessonIds }];
}

const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s+/;

/**
 * Removal of the list-item lines of SKILL.md that link a deleted file. Links inside prose
 * are left to removeDanglingLinks after apply, which keeps the sentence and drops the link.
 */
function unlinkEditsFor(edits: Edit[], skillMd: string): Edit[] {
  const lines = splitLines(skillMd);
  const sections = listSections(skillMd);
  const out: Edit[] = [];
  for (const del of edits.filter((e) => e.op === "delete_file")) {
    for (const link of linkLines(skillMd).filter((l) => l.target.replace(/^\.\//, "") === del.file)) {
      const text = lines[link.line - 1] ?? "";
      const section = sections.filter((s) => s.startLine <= link.line && link.line <= s.endLine).pop();
      if (!section || !LIST_ITEM.test(text)) continue;
      out.push({
        op: "replace_in_section",
        file: "SKILL.md",
        section: `${"#".repeat(section.level)} ${section.heading}`,
        find: `${text}\n`,
        replace: "",
        support: del.support,
        lessonIds: del.lessonIds,
      });
    }
  }
  return out;
}

function growsFile(edit: Edit): boolean {
  return edit.op !== "delete_section" && edit.op !== "delete_file";
}

/**
 * Size caps on the applied result: while a file the patch grew is over its cap, the
 * lowest-supported edit growing it is dropped (a new file's own create_file last).
 */
function enforceSizeCaps(base: SkillFolder, edits: Edit[], opts: GuardOptions): { kept: Edit[]; violations: Violation[] } {
  const maxSkill = opts.maxSkillLines ?? DEFAULT_MAX_SKILL_LINES;
  const maxRef = opts.maxReferenceLines ?? DEFAULT_MAX_REFERENCE_LINES;
  const capOf = (file: string) => (file === "SKILL.md" ? maxSkill : file.endsWith(".md") ? maxRef : Infinity);
  let kept = edits;
  const violations: Violation[] = [];
  for (;;) {
    const { folder } = applyPatch(base, { edits: kept, changelog: [] });
    const over = Object.entries(folder.files).find(([file, text]) => {
      const lines = cappedLineCount(file, text);
      const before = base.files[file] === undefined ? 0 : cappedLineCount(file, base.files[file] as string);
      return lines > capOf(file) && lines > before;
    });
    if (!over) return { kept, violations };
    const [file, text] = over;
    const candidates = kept
      .filter((e) => e.file === file && growsFile(e))
      .sort((a, b) => Number(a.op === "create_file") - Number(b.op === "create_file") || supportCount(a) - supportCount(b));
    const victim = candidates[0];
    if (!victim) return { kept, violations };
    violations.push({
      edit: victim,
      guard: "size",
      message: `${file} would have ${cappedLineCount(file, text)} lines, over its cap of ${capOf(file)}; dropped this edit, the least supported one growing it (${supportCount(victim)} trajectories).`,
    });
    kept = kept.filter((e) => e !== victim);
  }
}

/** All guards over a final patch, in order: per-edit checks, existing files, clashes, link pairing, size caps. */
export function checkPatch(patch: Patch, base: SkillFolder, opts: GuardOptions): GuardResult {
  const content = checkEdits(patch.edits, opts);
  const violations = [...content.violations];
  const fresh = content.kept.filter((edit) => {
    const exists = base.files[edit.file] !== undefined || base.binaries[edit.file] !== undefined;
    if (edit.op === "create_file" && exists) {
      violations.push({ edit, guard: "file-exists", message: `${edit.file} already exists; edit it instead of creating it.` });
      return false;
    }
    return true;
  });
  const clashes = resolveClashes(fresh);
  violations.push(...clashes.violations);
  const skillMd = base.files["SKILL.md"] ?? "";
  const added = [...linkEditsFor(clashes.kept, skillMd), ...unlinkEditsFor(clashes.kept, skillMd)];
  const sized = enforceSizeCaps(base, [...clashes.kept, ...added], opts);
  violations.push(...sized.violations);
  return {
    patch: { edits: sized.kept, changelog: patch.changelog },
    violations,
    added: added.filter((e) => sized.kept.includes(e)),
  };
}
