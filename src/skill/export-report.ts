import { z } from "zod";
import { SkillNameSchema } from "../trajectory/schema.js";

const FileList = z.array(z.string());
const Count = z.number().int().nonnegative();

/**
 * What an export did to the target skill folder, or in a dry run would do. Paths are relative
 * to `path`; dotfiles and node_modules (tooling, and the export manifest) are never touched
 * and not listed.
 */
export const ExportReportSchema = z
  .object({
    path: z.string().describe("The skill folder exported into (<target>/<skill>)"),
    skill: SkillNameSchema,
    version: z.number().int().positive(),
    dryRun: z.boolean().describe("True when nothing was changed: the lists say what the export would do"),
    counts: z.object({ written: Count, overwritten: Count, removed: Count, kept: Count, keptEdited: Count }),
    written: FileList.describe("Files of the version written where they replaced nothing but an earlier export's own content"),
    overwritten: FileList.describe(
      "Files of the version written over content trace2skill had not written (a file of yours at that path, or an exported file edited since)",
    ),
    removed: FileList.describe("Files an earlier export wrote, unchanged since, that this version no longer has"),
    kept: FileList.describe("Files trace2skill did not write, left as they are"),
    keptEdited: FileList.describe("Files an earlier export wrote that this version no longer has, left in place because they were edited since"),
  })
  .describe("Tool answers may shorten the file lists; counts are always complete");
export type ExportReport = z.infer<typeof ExportReportSchema>;

type ListKey = keyof ExportReport["counts"];
const LISTS: ListKey[] = ["written", "overwritten", "removed", "kept", "keptEdited"];

/** The report with every file list cut to at most `max` names (counts keep the totals). */
export function capExportReport(report: ExportReport, max: number): ExportReport {
  const capped = { ...report };
  for (const key of LISTS) capped[key] = report[key].slice(0, max);
  return capped;
}

function files(n: number): string {
  return n === 1 ? "1 file" : `${n} files`;
}

/**
 * One line per non-empty list, for people: "kept 2 files trace2skill did not write: a.md, notes/x.md".
 * Names beyond `maxNames` are summarised as "… and N more".
 */
export function exportReportLines(report: ExportReport, maxNames = Number.POSITIVE_INFINITY): string[] {
  const verb = (done: string, planned: string) => (report.dryRun ? `would ${planned}` : done);
  const phrases: Record<ListKey, string> = {
    written: `${verb("wrote", "write")} %n`,
    overwritten: `${verb("overwrote", "overwrite")} %n that trace2skill had not written (yours, or edited since the last export)`,
    removed: `${verb("removed", "remove")} %n an earlier export wrote that this version no longer has`,
    kept: `${verb("kept", "keep")} %n trace2skill did not write`,
    keptEdited: `${verb("kept", "keep")} %n an earlier export wrote but that were edited since`,
  };
  const lines: string[] = [];
  for (const key of LISTS) {
    const total = report.counts[key];
    if (total === 0 && key !== "written") continue;
    const shown = report[key].slice(0, maxNames);
    const more = total - shown.length;
    const names = shown.length === 0 ? "" : `: ${shown.join(", ")}${more > 0 ? ` … and ${more} more` : ""}`;
    lines.push(phrases[key].replace("%n", files(total)) + names);
  }
  return lines;
}
