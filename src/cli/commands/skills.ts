import { parseArgs } from "node:util";
import { describeRegression } from "../../stats/regression.js";
import { exportReportLines, type ExportReport } from "../../skill/export-report.js";
import { GLOBAL_HELP, GLOBAL_OPTIONS, UsageError, openEngine, out, type Command } from "../context.js";

export const skillsCommand: Command = {
  name: "skills",
  summary: "list skills with versions and run counts",
  help: `Usage: trace2skill skills [--json]\n\n${GLOBAL_HELP}`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: GLOBAL_OPTIONS });
    const skills = await (await openEngine(values)).listSkills();
    if (values.json) {
      out.json({ skills });
      return 0;
    }
    if (skills.length === 0) {
      out.line("No skills yet. Import one with `trace2skill import <folder>` or ingest runs with --skill and evolve.");
      return 0;
    }
    for (const s of skills) {
      const t = s.trajectories;
      out.line(
        `${s.name}  active v${s.activeVersion ?? "-"}  ${s.versions} version(s)${s.drafts.length ? `  drafts: ${s.drafts.map((d) => `v${d}`).join(", ")}` : ""}` +
          `  runs: ${t.total} (${t.successes} ok, ${t.failures} failed, ${t.unknown} unknown)`,
      );
      if (s.regression) out.line(`  REGRESSION: ${describeRegression(s.regression)}`);
    }
    return 0;
  },
};

export const showCommand: Command = {
  name: "show",
  summary: "print a skill's SKILL.md (or one of its files)",
  help: `Usage: trace2skill show <skill> [--version N] [--file references/x.md]\n\n${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, version: { type: "string" }, file: { type: "string" } },
      allowPositionals: true,
    });
    const skill = positionals[0];
    if (!skill) throw new UsageError("show needs a skill name.");
    const view = await (await openEngine(values)).getSkill(skill, { version: parseVersion(values.version), file: values.file });
    if (values.json) {
      out.json(view);
      return 0;
    }
    out.err(`${view.skill} v${view.version} (${view.status}) — files: ${view.files.map((f) => f.path).join(", ")}`);
    out.line(view.file.content);
    return 0;
  },
};

export const importCommand: Command = {
  name: "import",
  summary: "import a skill folder as a new (active) version",
  help: `Usage: trace2skill import <folder> [--name <skill>]\n\nThe folder must hold a SKILL.md that passes Agent Skills validation.\n\n${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, name: { type: "string" } }, allowPositionals: true });
    const folder = positionals[0];
    if (!folder) throw new UsageError("import needs the path of a skill folder.");
    const meta = await (await openEngine(values)).importSkill(folder, { name: values.name });
    if (values.json) {
      out.json(meta);
      return 0;
    }
    out.line(`Imported ${meta.skill} v${meta.version} (${meta.status}).`);
    for (const p of meta.validation.problems) out.line(`  ${p.severity}: ${p.file ?? ""}${p.line ? `:${p.line}` : ""} ${p.message}`);
    return 0;
  },
};

export const exportCommand: Command = {
  name: "export",
  summary: "write a skill version as a plain folder (e.g. into .claude/skills)",
  help: `Usage: trace2skill export <skill> [--to <dir>] [--version N] [--dry-run]

Writes <dir>/<skill>/SKILL.md and its files. Default version: the active one.
Default <dir>: the skills dir (see --skills-dir).

Files in <dir>/<skill>/ that trace2skill did not write are kept. A file an earlier export
wrote (listed in its .trace2skill-export.json) is removed when this version no longer has it,
unless it was edited since. --dry-run prints what would be written, overwritten, removed and
kept, and changes nothing.

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, to: { type: "string" }, version: { type: "string" }, "dry-run": { type: "boolean" } },
      allowPositionals: true,
    });
    const skill = positionals[0];
    if (!skill) throw new UsageError("export needs a skill name.");
    const result = await (await openEngine(values)).exportSkill(skill, {
      to: values.to,
      version: parseVersion(values.version),
      dryRun: values["dry-run"],
    });
    if (values.json) {
      out.json(result);
      return 0;
    }
    out.line(result.dryRun ? `Dry run: exporting ${skill} v${result.version} to ${result.path}` : `Exported ${skill} v${result.version} to ${result.path}`);
    printExportReport(result);
    return 0;
  },
};

/** The export's lists, indented under the line that named the folder; a dry run ends saying nothing changed. */
export function printExportReport(report: ExportReport): void {
  for (const line of exportReportLines(report)) out.line(`  ${line}`);
  if (report.dryRun) out.line("Nothing was changed (dry run).");
}

export function parseVersion(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replace(/^v/, ""));
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--version must be a positive integer such as 2 (got "${value}").`);
  return n;
}
