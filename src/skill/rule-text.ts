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

/** Find the rule in the folder (in `file`, or in any text file): its best-matching prose line, or null. */
export function locateRule(folder: SkillFolder, text: string, file?: string): LocatedRule | null {
  const probe = ruleProbe(text);
  if (probe.length < 8) return null;
  const files = file !== undefined ? [file] : ["SKILL.md", ...Object.keys(folder.files).filter((f) => f !== "SKILL.md").sort()];
  // The best match wins, in whichever file (SKILL.md first on a tie): the line that is the rule,
  // then one that starts with it (an excerpt cut short), then one it starts with (a quote running
  // past the line), and last a line that holds it in its middle. A person's line quoting a
  // learned rule, or a short line the rule begins with, must not be taken for the rule itself.
  const whole = normRuleText(text);
  const rank = (line: string): number => {
    const n = normRuleText(line);
    if (n.length < 8 || /^#/.test(line.trim())) return 0;
    if (n === whole) return 4;
    if (n.startsWith(probe)) return 3;
    if (whole.startsWith(n) && n.length >= probe.length * 0.8) return 2;
    return n.includes(probe) ? 1 : 0;
  };
  let found: { name: string; lines: string[]; at: number; body: string } | null = null;
  let best = 0;
  let bestGap = Infinity;
  for (const name of files) {
    const body = folder.files[name];
    if (body === undefined) continue;
    const lines = splitLines(body);
    lines.forEach((line, i) => {
      const r = rank(line);
      // On a tie, the line closest in length to the rule (a person's longer line that starts with it loses).
      const gap = Math.abs(normRuleText(line).length - whole.length);
      if (r > best || (r === best && r > 0 && gap < bestGap)) [found, best, bestGap] = [{ name, lines, at: i, body }, r, gap];
    });
  }
  if (!found) return null;
  const { name, lines, at, body } = found as { name: string; lines: string[]; at: number; body: string };
  let end = at + 1;
  // A list item's continuation lines (indented, not a new item) belong to it.
  if (LIST_ITEM.test(lines[at] ?? "")) {
    while (end < lines.length && /^\s+\S/.test(lines[end] ?? "") && !LIST_ITEM.test(lines[end] ?? "")) end++;
  }
  const section = listSections(body)
    .filter((sec) => sec.startLine <= at + 1 && at + 1 <= sec.endLine)
    .pop();
  return {
    file: name,
    block: lines.slice(at, end).map((l) => `${l}\n`).join(""),
    section: section ? `${"#".repeat(section.level)} ${section.heading}` : null,
  };
}
