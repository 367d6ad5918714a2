import { readFile, readdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { redactSecrets } from "../../util/redact.js";
import type { Engine, SubmitResult } from "../../engine.js";
import type { SkipNote } from "../../trajectory/importers/types.js";
import { FORMAT_NAMES } from "../../trajectory/importers/index.js";
import { errorMessage } from "../../util/errors.js";
import { GLOBAL_HELP, GLOBAL_OPTIONS, UsageError, openEngine, out, type Command } from "../context.js";
import { expandGlob, isGlobPattern } from "../glob.js";
import { createProgress } from "../progress.js";

const RUN_FILE = /\.(json|jsonl|traj)$/i;

export const ingestCommand: Command = {
  name: "ingest",
  summary: "import run files, folders or globs into the store",
  help: `Usage: trace2skill ingest <file|folder|"glob">… [--format <f>] [--skill <name>] [--skill-version <n>] [--tag <t>]…

Imports agents' runs. A folder is searched recursively for *.json, *.jsonl and *.traj files.
A quoted glob is expanded by trace2skill itself (* ? ** {a,b}), so it works the same in
every shell: "runs/**/*.jsonl". Each file may hold one run or many (a tau-bench results
file, a JSONL of runs); broken JSONL lines are skipped and reported, the rest imported.
Secrets are redacted before anything is stored; re-importing the same run is a no-op.

Prints one line per file (✓ imported, ✗ refused, with what was skipped and why) and a
summary. Exit code 1 when any file was refused.

Options:
  --format <f>   ${FORMAT_NAMES.join(" | ")} | canonical (default: auto-detect)
  --skill <name> the skill these runs are evidence for
  --skill-version <n>  the version of that skill the runs used (for runs that do not say)
  --tag <t>      add a tag (repeatable)

Examples:
  trace2skill ingest fixtures/tau-bench/gpt-4o-airline.tasks-00-24.json --skill airline-support
  trace2skill ingest ~/.claude/projects/my-app --skill my-app
  trace2skill ingest "runs/**/*.{jsonl,traj}" --json

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        ...GLOBAL_OPTIONS,
        format: { type: "string" },
        skill: { type: "string" },
        "skill-version": { type: "string" },
        tag: { type: "string", multiple: true },
      },
      allowPositionals: true,
    });
    if (positionals.length === 0) throw new UsageError("ingest needs at least one file, folder or quoted glob.");
    const files = await expandInputs(positionals);
    if (files.length === 0) throw new UsageError(`No run files (*.json, *.jsonl, *.traj) found in ${positionals.join(", ")}.`);
    const engine = await openEngine(values);
    const version = values["skill-version"];
    if (version !== undefined && !/^[1-9]\d{0,8}$/.test(version)) {
      throw new UsageError(`--skill-version must be a version number such as 2 (got "${version}"); \`trace2skill history <skill>\` lists them.`);
    }
    const options = { format: values.format, skill: values.skill, tags: values.tag, ...(version ? { skillVersion: Number(version) } : {}) };
    const reports = await ingestFiles(engine, files, options, Boolean(values.json));
    const totals = totalsOf(reports);
    if (values.json) out.json({ files: reports, totals });
    else printReports(reports, totals);
    return totals.refused > 0 ? 1 : 0;
  },
};

interface IngestOptions {
  format?: string;
  skill?: string;
  tags?: string[];
  skillVersion?: number;
}

export type FileReport =
  | {
      file: string;
      status: "imported";
      format: string;
      runs: number;
      created: number;
      duplicates: number;
      outcomesUpdated: number;
      redactions: number;
      skipped: SkipNote[];
      ids: string[];
    }
  | { file: string; status: "refused"; error: string };

export interface IngestTotals {
  files: number;
  imported: number;
  refused: number;
  runs: number;
  created: number;
  duplicates: number;
  redactions: number;
  /** Items skipped inside imported files (rows, lines, parts), summed over all notes. */
  skipped: number;
}

async function ingestFiles(engine: Engine, files: string[], options: IngestOptions, json: boolean): Promise<FileReport[]> {
  const progress = createProgress("ingest", { json });
  const reports: FileReport[] = [];
  let runs = 0;
  for (const [index, file] of files.entries()) {
    progress.update(index, files.length, `${runs} run(s) imported · ${file}`);
    const report = await ingestFile(engine, file, options);
    if (report.status === "imported") runs += report.runs;
    reports.push(report);
  }
  progress.update(files.length, files.length, `${runs} run(s) imported`);
  progress.done();
  return reports;
}

async function ingestFile(engine: Engine, file: string, options: IngestOptions): Promise<FileReport> {
  try {
    const text = await readFile(file, "utf8");
    const result: SubmitResult = await engine.submit({ raw: text, ...options, fileName: path.basename(file) });
    return {
      file,
      status: "imported",
      format: result.format,
      runs: result.ids.length,
      created: result.created,
      duplicates: result.duplicates,
      outcomesUpdated: result.outcomesUpdated,
      redactions: result.redactions,
      skipped: result.skipped,
      ids: result.ids,
    };
  } catch (err) {
    return { file, status: "refused", error: errorMessage(err) };
  }
}

export function totalsOf(reports: readonly FileReport[]): IngestTotals {
  const totals: IngestTotals = { files: reports.length, imported: 0, refused: 0, runs: 0, created: 0, duplicates: 0, redactions: 0, skipped: 0 };
  for (const r of reports) {
    if (r.status === "refused") {
      totals.refused += 1;
      continue;
    }
    totals.imported += 1;
    totals.runs += r.runs;
    totals.created += r.created;
    totals.duplicates += r.duplicates;
    totals.redactions += r.redactions;
    totals.skipped += r.skipped.reduce((sum, s) => sum + s.count, 0);
  }
  return totals;
}

const MAX_IDS_SHOWN = 3;

export function describeReport(r: FileReport): string {
  if (r.status === "refused") return `✗ ${r.file}: ${r.error}`;
  const parts = [`${r.runs} run(s) as ${r.format}`, `${r.created} new`, `${r.duplicates} already stored`];
  if (r.outcomesUpdated > 0) parts.push(`${r.outcomesUpdated} outcome(s) updated`);
  if (r.redactions > 0) parts.push(`${r.redactions} secret(s) redacted`);
  const skipped = r.skipped.map((s) => `${s.count} ${s.what} skipped: ${s.reason}`);
  // A few ids are worth printing (for `trace2skill outcome <id>`); many are in --json.
  const ids = r.ids.length <= MAX_IDS_SHOWN ? ` — id ${r.ids.map((id) => id.slice(0, 12)).join(", ")}` : "";
  return `✓ ${r.file}: ${parts.join(", ")}${skipped.length > 0 ? `; ${skipped.join("; ")}` : ""}${ids}`;
}

export function summaryLine(t: IngestTotals): string {
  return (
    `${t.files} file(s): ${t.imported} imported, ${t.refused} refused; ${t.runs} run(s) — ${t.created} new, ` +
    `${t.duplicates} already stored; ${t.skipped} item(s) skipped; ${t.redactions} secret(s) redacted.`
  );
}

function printReports(reports: readonly FileReport[], totals: IngestTotals): void {
  // A report line echoes file names and errors, which may hold what a user typed: redacted like the runs.
  for (const r of reports) out.line(redactSecrets(describeReport(r)).value);
  out.line(summaryLine(totals));
}

/** Files, folders (recursive) and quoted globs → the run files to read, each once, in order. */
async function expandInputs(inputs: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const input of inputs) {
    const info = await stat(input).catch(() => null);
    if (info?.isDirectory()) found.push(...(await walk(input)));
    else if (info) found.push(input);
    else if (isGlobPattern(input)) {
      // A quoted pattern reaches us with its `~` unexpanded.
      const matches = await expandGlob(input.replace(/^~(?=\/)/, os.homedir()));
      if (matches.length === 0) throw new UsageError(`No file matches ${input}. Check the pattern (supported: * ? ** {a,b}).`);
      found.push(...matches);
    } else throw new UsageError(`No such file or folder: ${input}`);
  }
  return [...new Set(found)];
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (entry.isFile() && RUN_FILE.test(entry.name)) files.push(full);
  }
  return files;
}
