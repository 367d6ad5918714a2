import type { SkillFolder } from "./types.js";

/**
 * The whole frozen skill as an analyst or a merger reads it: SKILL.md first, then every other
 * text file (references/ first), each in its own `<base_skill file="…">` block, within a
 * character budget; files that do not fit, and binaries, are listed with their sizes. Seeing
 * the references lets an analyst tell what is already covered and edit the file where a rule
 * belongs.
 */

export const DEFAULT_SKILL_BUDGET_CHARS = 40_000;

function order(path: string): number {
  if (path === "SKILL.md") return 0;
  if (path.startsWith("references/")) return 1;
  return 2;
}

export function renderSkillFiles(folder: SkillFolder, budgetChars = DEFAULT_SKILL_BUDGET_CHARS): string {
  const texts = Object.entries(folder.files).sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b));
  const blocks: string[] = [];
  const listed: string[] = [];
  let used = 0;
  for (const [path, content] of texts) {
    const block = `<base_skill file="${path}">\n${content}\n</base_skill>`;
    // SKILL.md is always shown (its own size cap is the validator's business).
    if (path !== "SKILL.md" && used + block.length > budgetChars) {
      listed.push(`${path} (${Buffer.byteLength(content, "utf8")} bytes, not shown: over the budget)`);
      continue;
    }
    blocks.push(block);
    used += block.length;
  }
  for (const [path, base64] of Object.entries(folder.binaries)) listed.push(`${path} (${Buffer.from(base64, "base64").length} bytes, binary)`);
  if (!folder.files["SKILL.md"]) blocks.unshift('<base_skill file="SKILL.md">\n(SKILL.md is missing: propose one with create_file only if the runs justify it)\n</base_skill>');
  return [...blocks, ...(listed.length > 0 ? [`Other files: ${listed.join("; ")}`] : [])].join("\n\n");
}
