import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { reportLines, versionReport, VersionChecksSchema, VersionReportSchema } from "../../evolution/checks-summary.js";
import { ExportReportSchema, capExportReport, exportReportLines, type ExportReport } from "../../skill/export-report.js";
import { InvalidInputError } from "../../util/errors.js";
import { isInside, resolveUserPath } from "../../util/user-path.js";
import type { Engine } from "../../engine.js";
import { defineTool } from "../define-tool.js";
import { FlagSchema, SkillName, VersionMetaOutput } from "../shapes.js";
import { describeFlag } from "../../stats/regression.js";

/**
 * Where an MCP caller may export: the server's skills dir, anything under the folder the
 * server runs in (the project, e.g. .claude/skills), or ~/.claude/skills. A tool call is an
 * agent's request, not the user's own command: it must not write anywhere the server can.
 * `~` and file:// are read as a shell would; symlinks are followed before the check, so a link
 * inside the project that points elsewhere does not open a way out (nor does the skill's own
 * folder inside the target being such a link).
 */
export async function exportTarget(requested: string | undefined, skill?: string): Promise<string | undefined> {
  if (requested === undefined) return undefined;
  if (requested.trim() === "") throw new InvalidInputError("exportTo is empty; omit it to export to the server's skills dir.");
  const target = resolveUserPath(requested, "exportTo");
  const allowed = toolRoots();
  const inside = (await isInside(target, allowed)) && (skill === undefined || (await isInside(path.join(target, skill), allowed)));
  if (!inside) {
    throw new InvalidInputError(
      `exportTo "${requested}" is outside the places a tool call may write (symlinks followed): the server's folder (${process.cwd()}) and ~/.claude/skills. ` +
        `Omit it to use the server's skills dir (set by TRACE2SKILL_SKILLS_DIR), or export from the CLI: trace2skill export <skill> --to <dir>.`,
    );
  }
  return target;
}

/** The folders a tool call may read skills from or write them to (besides the server's skills dir). */
export function toolRoots(): string[] {
  return [process.cwd(), path.join(os.homedir(), ".claude", "skills")];
}

/** File names per list in an answer: enough to act on, small enough for a model's context. */
const MAX_LISTED_FILES = 20;

const EXPORT_SAFETY =
  "An export only replaces or removes files an earlier export of the skill wrote (removed if unchanged); it never deletes other files.";

function exportAnswer(report: ExportReport | null): { structured: ExportReport | null; text: string } {
  if (!report) return { structured: null, text: "" };
  return { structured: capExportReport(report, MAX_LISTED_FILES), text: exportReportLines(report, 10).map((line) => `\n- ${line}`).join("") };
}

export function registerPromoteTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "promote_skill_version",
    title: "Promote a draft version",
    description:
      "Make a reviewed draft the active version (served by get_skill and skill:// resources) and export it as a plain skill folder " +
      "(default: the server's skills dir; `exportTo` e.g. .claude/skills). The previous active version is retired, never deleted. " +
      EXPORT_SAFETY,
    input: {
      skill: SkillName,
      version: z.number().int().positive().describe("The draft version to make active"),
      exportTo: z.string().optional().describe("Folder to export into (the skill lands in <exportTo>/<skill>/)"),
      acceptFlagged: z
        .boolean()
        .optional()
        .describe("Promote despite lines flagged as possible planted commands (after a person has read them)"),
    },
    output: {
      ...VersionMetaOutput.shape,
      previous: z.number().nullable(),
      exportedTo: z.string().nullable(),
      exportReport: ExportReportSchema.nullable(),
      checks: VersionChecksSchema.describe("The version's checks: held-out coverage of base and this version side by side, review, audit"),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async handle(args) {
      const result = await engine.promote(args.skill, args.version, { to: await exportTarget(args.exportTo, args.skill), acceptFlagged: args.acceptFlagged });
      const exported = exportAnswer(result.exportReport);
      const checks = result.checks;
      return {
        structured: { ...result.meta, previous: result.previous, exportedTo: result.exportedTo, exportReport: exported.structured, checks },
        text:
          `${args.skill} v${args.version} is now active${result.previous && result.previous !== args.version ? ` (was v${result.previous})` : ""}; ` +
          `exported to ${result.exportedTo}.${exported.text}${checks.summary.map((line) => `\n${line}`).join("")}`,
      };
    },
  });
}

export function registerRollbackTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "rollback_skill",
    title: "Roll a skill back",
    description:
      "Make the previously active version of a skill active again (and re-export it). The current version is retired, not deleted. " + EXPORT_SAFETY,
    input: { skill: SkillName, exportTo: z.string().optional().describe("Folder to export into (default: the server's skills dir)") },
    output: { ...VersionMetaOutput.shape, from: z.number(), exportedTo: z.string().nullable(), exportReport: ExportReportSchema.nullable() },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    async handle(args) {
      const result = await engine.rollback(args.skill, { to: await exportTarget(args.exportTo, args.skill) });
      const exported = exportAnswer(result.exportReport);
      return {
        structured: { ...result.meta, from: result.from, exportedTo: result.exportedTo, exportReport: exported.structured },
        text: `${args.skill} rolled back from v${result.from} to v${result.meta.version}; exported to ${result.exportedTo}.${exported.text}`,
      };
    },
  });
}

export function registerHistoryTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "skill_history",
    title: "Skill history",
    description:
      "A skill's versions (newest first) with status and changelog; with `diffTo` (and optionally `diffFrom`, default its parent) also the diff " +
      "and diffTo's report (held-out coverage, review, audit, support).",
    input: {
      skill: SkillName,
      diffTo: z.number().int().positive().optional().describe("Also show the diff that led to this version"),
      diffFrom: z.number().int().positive().optional().describe("Diff from this version (default: diffTo's parent)"),
    },
    output: {
      versions: z.array(VersionMetaOutput),
      flags: z.array(FlagSchema).describe("Versions whose runs show them worse than their parent beyond the 95% intervals, with their status now"),
      diff: z.object({ from: z.number().nullable(), to: z.number(), diff: z.string() }).nullable(),
      report: VersionReportSchema.nullable().describe("diffTo's report (null without diffTo)"),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
    async handle(args) {
      const versions = await engine.history(args.skill);
      const flags = await engine.flags(args.skill);
      const diff = args.diffTo === undefined ? null : await engine.diff(args.skill, args.diffTo, args.diffFrom);
      const report = args.diffTo === undefined ? null : versionReport(await engine.versionDetail(args.skill, args.diffTo));
      const lines = [
        ...versions.map((v) => `v${v.version} ${v.status} (${v.origin}${v.parent ? ` from v${v.parent}` : ""}) ${v.createdAt}: ${v.changelog[0] ?? ""}`),
        ...flags.map((f) => `FLAGGED: ${describeFlag(f)}`),
      ];
      return {
        structured: { versions, flags, diff, report },
        text: lines.join("\n") + (diff ? `\n\n${diff.diff || "(no differences)"}` : "") + (report ? `\n\n${reportLines(report).join("\n")}` : ""),
      };
    },
  });
}
