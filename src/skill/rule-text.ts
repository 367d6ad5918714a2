import { listSections, splitLines } from "./markdown.js";
import type { SkillFolder } from "./types.js";

/**
 * A rule's text as people and models quote it: list marks, emphasis and code marks, case and
 * spacing do not matter. Used to carry a rule's provenance into later versions
 * (evolution/lineage.ts) and to match what an analyst quotes against the skill it read
 * (analysis/analysts.ts, evolution/retirement.ts).
 */
export function normRuleText(text: string): string {
  return text
    .replace(/…$/, "")
    .replace(/^\s*(?:[-*+]|\d+[.)])\s+/, "")
    .replace(/[`*_]/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase();
}

/** The first 80 normalised characters: what identifies a rule in a file (excerpts are first lines, often cut). */
export function ruleProbe(text: string): string {
  return normRuleText(text).slice(0, 80);
}

/** Whether a file of the folder holds the rule (by its probe); probes under 8 characters match nothing. */
export function holdsRule(folder: SkillFolder, file: string, text: string): boolean {
  const probe = ruleProbe(text);
  const body = folder.files[file];
  return probe.length >= 8 && body !== undefined && normRuleText(body).includes(probe);
}

/** A rule located in a file: its lines as written (a list item with its continuation lines) and its section. */
export interface LocatedRule {
  file: string;
  /** The rule's lines as they stand, each ended by a newline: what a delete edit finds. */
  block: string;
  /** The heading of its section with its `#` marks (it pins the level), or null above the first heading. */
  section: string | null;
}

const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s+/;

/**
 * Find the rule in the folder: the first prose line (of `file`, or of any text file, SKILL.md
 * first) whose normalised text contains the probe of `text`, or that the probe contains when
 * the quote spans more than the line. Null when no line does.
 */
export function locateRule(folder: SkillFolder, text: string, file?: string): LocatedRule | null {
  const probe = ruleProbe(text);
  if (probe.length < 8) return null;
  const files = file !== undefined ? [file] : ["SKILL.md", ...Object.keys(folder.files).filter((f) => f !== "SKILL.md").sort()];
  for (const name of files) {
    const body = folder.files[name];
    if (body === undefined) continue;
    const lines = splitLines(body);
    const at = lines.findIndex((line) => {
      const n = normRuleText(line);
      return n.length >= 8 && !/^#/.test(line.trim()) && (n.includes(probe) || probe.startsWith(n.slice(0, 80)));
    });
    if (at < 0) continue;
    let end = at + 1;
    // A list item's continuation lines (indented, not a new item) belong to it.
    if (LIST_ITEM.test(lines[at] ?? "")) {
      while (end < lines.length && /^\s+\S/.test(lines[end] ?? "") && !LIST_ITEM.test(lines[end] ?? "")) end++;
    }
    const section = listSections(body)
      .filter((s) => s.startLine <= at + 1 && at + 1 <= s.endLine)
      .pop();
    return {
      file: name,
      block: lines.slice(at, end).map((l) => `${l}\n`).join(""),
      section: section ? `${"#".repeat(section.level)} ${section.heading}` : null,
    };
  }
  return null;
}
