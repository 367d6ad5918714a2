import { z } from "zod";
import type { Usage } from "../llm/usage.js";
import { systemAndUser, type LanguageModel } from "../llm/port.js";
import type { SkillFolder, ValidationReport } from "../skill/types.js";
import { formatProblems, removeDanglingLinks, validateSkill } from "../skill/validate.js";
import { safeRelativePath } from "../util/fsx.js";
import { DEFAULT_PROTECTED_FILES, isProtected } from "./guards.js";
import { addUsage, EMPTY_USAGE } from "../llm/usage.js";
import { loadPrompt } from "./prompts.js";

/**
 * Stage 4, part two: Agent Skills validation with a bounded repair loop. Dangling links are
 * removed by code; any other error goes to the model (when there is one) for at most
 * `maxRounds` rounds, each re-validated. Without a model nothing else is rewritten: size
 * caps are already enforced by the guards (they drop the least-supported growing edits), so
 * what remains invalid is reported as it is.
 */

export const RepairReplySchema = z.object({
  files: z
    .array(
      z.object({
        path: z.string().min(1).max(200).describe("One of the failing files, exactly as named"),
        content: z.string().min(1).max(200_000).describe("The full corrected text of that file"),
      }),
    )
    .min(1)
    .max(10),
  note: z.string().max(300).default("").describe("What was changed, in one line"),
});
export type RepairReply = z.infer<typeof RepairReplySchema>;

export interface RepairOptions {
  model?: LanguageModel;
  maxRounds?: number;
  protectedFiles?: string[];
  signal?: AbortSignal;
}

export interface RepairResult {
  folder: SkillFolder;
  report: ValidationReport;
  /** Model rounds used. */
  rounds: number;
  usage: Usage;
  removedLinks: string[];
  /** What each round did (or why its reply was not used). */
  notes: string[];
}

/** Text files named by the report's errors (SKILL.md when an error names no file). */
export function failingFiles(folder: SkillFolder, report: ValidationReport): string[] {
  const files = new Set<string>();
  for (const p of report.problems) {
    if (p.severity !== "error") continue;
    const file = p.file ?? "SKILL.md";
    if (folder.files[file] !== undefined || file === "SKILL.md") files.add(file);
  }
  return [...files].sort();
}

export function renderRepairRequest(folder: SkillFolder, report: ValidationReport, files: string[]): string {
  const problems = formatProblems(report.problems.filter((p) => p.severity === "error"));
  return [
    `Skill folder name: ${folder.name}`,
    `Files in the skill: ${Object.keys(folder.files).sort().join(", ")}`,
    "",
    "Validation problems:",
    ...problems.map((p) => `- ${p}`),
    "",
    ...files.flatMap((f) => [`<file path="${f}">`, folder.files[f] ?? "(missing)", "</file>", ""]),
    `Return the corrected full text of: ${files.join(", ")}.`,
  ].join("\n");
}

/** Apply a repair reply, keeping only files the round asked for and that may be written. */
function applyRepair(
  folder: SkillFolder,
  reply: RepairReply,
  allowed: string[],
  protectedFiles: string[],
): { folder: SkillFolder; ignored: string[] } {
  const files = { ...folder.files };
  const ignored: string[] = [];
  for (const { path, content } of reply.files) {
    let clean: string;
    try {
      clean = safeRelativePath(path, "repaired file");
    } catch {
      ignored.push(path);
      continue;
    }
    if (!allowed.includes(clean) || isProtected(clean, protectedFiles)) {
      ignored.push(path);
      continue;
    }
    files[clean] = content.endsWith("\n") ? content : `${content}\n`;
  }
  return { folder: { ...folder, files }, ignored };
}

export async function validateAndRepair(input: SkillFolder, opts: RepairOptions = {}): Promise<RepairResult> {
  const maxRounds = opts.maxRounds ?? 3;
  const protectedFiles = opts.protectedFiles ?? DEFAULT_PROTECTED_FILES;
  const cleaned = removeDanglingLinks(input);
  let folder = cleaned.folder;
  const removedLinks = [...cleaned.removed];
  let report = validateSkill(folder);
  let usage = EMPTY_USAGE;
  const notes: string[] = [];
  let rounds = 0;

  while (!report.valid && opts.model && rounds < maxRounds) {
    opts.signal?.throwIfAborted();
    rounds++;
    const files = failingFiles(folder, report);
    const reply = await opts.model.generate<RepairReply>({
      schemaName: "repair",
      schema: RepairReplySchema,
      messages: systemAndUser(loadPrompt("repair"), renderRepairRequest(folder, report, files)),
      signal: opts.signal,
    });
    usage = addUsage(usage, reply.usage);
    const repaired = applyRepair(folder, reply.value, files, protectedFiles);
    const relinked = removeDanglingLinks(repaired.folder);
    removedLinks.push(...relinked.removed);
    folder = relinked.folder;
    report = validateSkill(folder);
    const ignored = repaired.ignored.length > 0 ? ` (ignored files not asked for: ${repaired.ignored.join(", ")})` : "";
    notes.push(`repair round ${rounds}: ${reply.value.note || "rewrote " + files.join(", ")}${ignored}; ${report.valid ? "now valid" : "still invalid"}`);
  }
  return { folder, report, rounds, usage, removedLinks, notes };
}
