import { describeFlag } from "../../stats/regression.js";
import { writeFile } from "node:fs/promises";
import { formatRate as pct } from "../../stats/version-stats.js";
import { parseArgs } from "node:util";
import { resolveUserPath } from "../../util/user-path.js";
import { GLOBAL_HELP, GLOBAL_OPTIONS, UsageError, openEngine, out, type Command } from "../context.js";
import { parseVersion, printExportReport } from "./skills.js";
import { reportLines, versionReport } from "../../evolution/checks-summary.js";

function requireVersion(value: string | undefined, what: string): number {
  const v = parseVersion(value);
  if (v === undefined) throw new UsageError(`${what} needs a version number.`);
  return v;
}

export const promoteCommand: Command = {
  name: "promote",
  summary: "make a draft version active and export it",
  help: `Usage: trace2skill promote <skill> <version> [--to <dir>] [--accept-flagged] [--dry-run]

Makes the version active (the previous one is retired, never deleted) and exports it as
<dir>/<skill>/ (default: the skills dir; e.g. --to .claude/skills). A version whose added lines
look like planted commands is refused until you have read them and pass --accept-flagged.

The export keeps every file in <dir>/<skill>/ that trace2skill did not write; it removes only
files an earlier export wrote that this version no longer has, and only if unchanged since.
--dry-run prints what would be written, overwritten, removed and kept, and changes nothing
(the active version stays as it is).

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, to: { type: "string" }, "accept-flagged": { type: "boolean" }, "dry-run": { type: "boolean" } },
      allowPositionals: true,
    });
    const [skill, version] = positionals;
    if (!skill) throw new UsageError("promote needs a skill name and a version.");
    if (values.to !== undefined && values.to.trim() === "") throw new UsageError("--to is empty; omit it to export to the skills dir.");
    const dryRun = values["dry-run"] === true;
    const result = await (await openEngine(values)).promote(skill, requireVersion(version, "promote"), {
      to: values.to,
      acceptFlagged: values["accept-flagged"],
      dryRun,
    });
    if (values.json) {
      out.json({ ...result, dryRun });
      return 0;
    }
    const changed = result.previous && result.previous !== result.meta.version;
    out.line(
      dryRun
        ? `Dry run: promote would make ${skill} v${result.meta.version} active${changed ? ` (now v${result.previous})` : ""} and export it to ${result.exportedTo}`
        : `${skill} v${result.meta.version} is active${changed ? ` (was v${result.previous})` : ""}; exported to ${result.exportedTo}`,
    );
    if (result.exportReport) printExportReport(result.exportReport);
    for (const line of result.checks.summary) out.line(line);
    return 0;
  },
};

export const rollbackCommand: Command = {
  name: "rollback",
  summary: "make the previously active version active again",
  help: `Usage: trace2skill rollback <skill> [--to <dir>] [--dry-run]

Exports the restored version like promote does (files trace2skill did not write are kept);
--dry-run prints what the export would change and changes nothing.

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, to: { type: "string" }, "dry-run": { type: "boolean" } },
      allowPositionals: true,
    });
    const skill = positionals[0];
    if (!skill) throw new UsageError("rollback needs a skill name.");
    const dryRun = values["dry-run"] === true;
    const result = await (await openEngine(values)).rollback(skill, { to: values.to, dryRun });
    if (values.json) {
      out.json({ ...result, dryRun });
      return 0;
    }
    out.line(
      dryRun
        ? `Dry run: rollback would make ${skill} v${result.meta.version} active again (now v${result.from}) and export it to ${result.exportedTo}`
        : `${skill}: v${result.meta.version} is active again (was v${result.from}); exported to ${result.exportedTo}`,
    );
    if (result.exportReport) printExportReport(result.exportReport);
    return 0;
  },
};

export const historyCommand: Command = {
  name: "history",
  summary: "list a skill's versions with their changelogs",
  help: `Usage: trace2skill history <skill>\n\n${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: GLOBAL_OPTIONS, allowPositionals: true });
    const skill = positionals[0];
    if (!skill) throw new UsageError("history needs a skill name.");
    const engine = await openEngine(values);
    const versions = await engine.history(skill);
    const flags = await engine.flags(skill);
    if (values.json) {
      out.json({ versions, flags });
      return 0;
    }
    for (const v of versions) {
      out.line(`v${v.version}  ${v.status.padEnd(8)} ${v.origin}${v.parent ? ` from v${v.parent}` : ""}  ${v.createdAt}${v.valid ? "" : "  (invalid)"}`);
      for (const line of v.changelog.slice(0, 8)) out.line(`    ${line}`);
      if (v.changelog.length > 8) out.line(`    … ${v.changelog.length - 8} more line(s)`);
      const flag = flags.find((f) => f.version === v.version);
      if (flag) out.line(`    FLAGGED: ${describeFlag(flag)}`);
    }
    return 0;
  },
};

/** A mean as a short figure, or "—" when no run had the value. */
function mean(x: number | null, digits: number): string {
  return x === null ? "—" : x.toFixed(digits);
}

export const statsCommand: Command = {
  name: "stats",
  summary: "per-version outcomes of a skill's runs: success rate with a 95% interval, against the parent",
  help: `Usage: trace2skill stats <skill> [--json]

For each version of the skill, the runs that used it (their skillVersion), successes and
failures as submitted, the success rate with its Wilson 95% interval, mean score, steps and
tokens, and the difference from the parent version (marked when the intervals do not overlap).
Runs nobody labelled are counted apart by the judges' verdicts; runs that do not say which
version they used are the row "?".

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: GLOBAL_OPTIONS, allowPositionals: true });
    const [skill] = positionals;
    if (!skill) throw new UsageError("stats needs a skill name.");
    const stats = await (await openEngine(values)).skillStats(skill);
    if (values.json) {
      out.json({ skill, versions: stats });
      return 0;
    }
    out.line(`${skill}: outcomes of the runs that used each version (rates over submitted outcomes)`);
    out.line("version  status    runs  ok  failed  unknown  success rate  95% interval     judged ok/failed  score  steps  tokens  vs parent");
    for (const r of stats) {
      const interval = r.interval ? `${pct(r.interval.low)}–${pct(r.interval.high)}` : "—";
      const parent = r.vsParent
        ? `${r.vsParent.difference >= 0 ? "+" : ""}${(r.vsParent.difference * 100).toFixed(1)} pts vs v${r.vsParent.parent}${r.vsParent.separate ? (r.vsParent.worse ? " WORSE (intervals apart)" : " better (intervals apart)") : " (intervals overlap)"}`
        : "";
      out.line(
        `${(r.version === null ? "?" : `v${r.version}`).padEnd(8)} ${(r.status ?? "").padEnd(9)} ${String(r.runs).padStart(4)} ${String(r.successes).padStart(3)} ${String(r.failures).padStart(7)} ${String(r.unknown).padStart(8)}  ${pct(r.successRate).padStart(12)}  ${interval.padEnd(15)}  ${`${r.judged.successes}/${r.judged.failures}`.padStart(16)}  ${mean(r.meanScore, 2).padStart(5)}  ${mean(r.meanSteps, 1).padStart(5)}  ${mean(r.meanTokens, 0).padStart(6)}  ${parent}`,
      );
    }
    return 0;
  },
};

export const reportCommand: Command = {
  name: "report",
  summary: "a skill's report as one self-contained HTML page (versions, outcomes, the latest draft's checks)",
  help: `Usage: trace2skill report <skill> [--out report.html]

Writes one HTML page that opens offline: the version timeline, the success rate of each version
with its 95% interval as a chart, and the latest evolved version's diff, the support and
diagnoses behind each added rule, the review's findings, the held-out coverage, the audit and
the cost. Without --out it goes to stdout. The HTTP server serves it at /report/<skill>.

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, out: { type: "string" } }, allowPositionals: true });
    const [skill] = positionals;
    if (!skill) throw new UsageError("report needs a skill name.");
    const html = await (await openEngine(values)).reportHtml(skill);
    if (values.out === undefined) {
      out.line(html);
      return 0;
    }
    const file = resolveUserPath(values.out, "--out");
    await writeFile(file, html);
    out.line(`Wrote ${file} (${Buffer.byteLength(html).toLocaleString("en-US")} bytes): open it in a browser.`);
    return 0;
  },
};

export const checksCommand: Command = {
  name: "checks",
  summary: "a version's report: held-out coverage, review findings, audit, support and diagnoses",
  help: `Usage: trace2skill checks <skill> <version>

What the version's record says before you promote it: the held-out check (failed runs kept out
of the evolve, each read against the base and against this version), the review's findings, the
over-fitting audit, and each added passage with the runs behind it and why they went as they did.

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: GLOBAL_OPTIONS, allowPositionals: true });
    const [skill, version] = positionals;
    if (!skill) throw new UsageError("checks needs a skill name and a version.");
    const report = versionReport(await (await openEngine(values)).versionDetail(skill, requireVersion(version, "checks")));
    if (values.json) out.json(report);
    else for (const line of reportLines(report)) out.line(line);
    return 0;
  },
};

export const diffCommand: Command = {
  name: "diff",
  summary: "unified diff between two versions of a skill",
  help: `Usage: trace2skill diff <skill> <version> [<from-version>]

Without <from-version>, diffs the version against its parent.

${GLOBAL_HELP}`,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: GLOBAL_OPTIONS, allowPositionals: true });
    const [skill, to, from] = positionals;
    if (!skill) throw new UsageError("diff needs a skill name and a version.");
    const result = await (await openEngine(values)).diff(skill, requireVersion(to, "diff"), parseVersion(from));
    if (values.json) out.json(result);
    else out.line(result.diff || `(no differences between v${result.from} and v${result.to})`);
    return 0;
  },
};
