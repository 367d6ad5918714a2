import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkillVersionMeta } from "../../src/skill/types.js";
import { cleanEnv, homeEnv, runCli, type CliResult } from "../helpers/cli.js";
import { REPO_ROOT, TAU_FIXTURE, tempDir } from "../helpers/mcp.js";
import { startScriptedModel } from "../helpers/scripted-model.js";
import type { FakeOpenAI } from "../helpers/fake-openai.js";

/**
 * The evolve / version commands through the built CLI (`npm test` builds first), each in a
 * child process with its own temp data and skills dirs, as a user would run them.
 */

const SKILLS_REF = path.join(REPO_ROOT, "node_modules/.bin/skills-ref");
const SAMPLE_SKILL = path.join(REPO_ROOT, "skills/airline-support");

function cli(args: string[], home: string, extra: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { env: homeEnv(home, extra) });
}

async function expectValidSkill(folder: string): Promise<void> {
  expect(existsSync(path.join(folder, "SKILL.md")), `${folder}/SKILL.md`).toBe(true);
  const res = await runCli(["validate", folder], { env: cleanEnv(), command: SKILLS_REF });
  expect(res.code, `skills-ref validate ${folder}: ${res.stdout}${res.stderr}`).toBe(0);
}

async function history(home: string, skill: string): Promise<SkillVersionMeta[]> {
  const res = await cli(["history", skill, "--json"], home);
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { versions: SkillVersionMeta[] }).versions;
}

const statusOf = (versions: SkillVersionMeta[]) => Object.fromEntries(versions.map((v) => [v.version, v.status]));

/** The folder a finished evolve printed ("Folder: …"). */
function printedFolder(stdout: string): string {
  const folder = /^Folder: (.+)$/m.exec(stdout)?.[1];
  if (!folder) throw new Error(`no "Folder:" line in:\n${stdout}`);
  return folder;
}

describe("trace2skill demo and version commands (no model)", () => {
  let home: string;
  let first: CliResult;

  beforeAll(async () => {
    home = await tempDir("t2s-cli-evolve-");
    first = await cli(["demo"], home);
  });

  it("demo evolves the sample skill into a draft whose folder validates", async () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("Provider: heuristic");
    expect(first.stdout).toContain("Ingested 100 tau-bench runs (100 new, 0 already stored); 31 successes / 69 failures");
    expect(first.stdout).toMatch(/^New draft: airline-support v2 \(from v1\)/m);
    const folder = printedFolder(first.stdout);
    expect(folder.startsWith(home)).toBe(true);
    await expectValidSkill(folder);
    const skillMd = await readFile(path.join(folder, "SKILL.md"), "utf8");
    expect(skillMd).not.toBe(await readFile(path.join(SAMPLE_SKILL, "SKILL.md"), "utf8"));
  });

  it("a second demo stores no new run and no new version", async () => {
    const again = await cli(["demo"], home);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("already has 2 version(s)");
    expect(again.stdout).toContain("(0 new, 100 already stored)");
    expect(again.stdout).toContain("no new version stored");
    expect((await history(home, "airline-support")).map((v) => v.version)).toEqual([2, 1]);
  });

  it("history lists the versions newest first; diff shows what v2 added", async () => {
    const text = await cli(["history", "airline-support"], home);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^v2 +draft +evolve from v1/m);
    expect(text.stdout).toMatch(/^v1 +active +import/m);
    expect(text.stdout.indexOf("v2")).toBeLessThan(text.stdout.indexOf("v1"));

    const diff = await cli(["diff", "airline-support", "2"], home);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain("--- a/SKILL.md");
    expect(diff.stdout.split("\n").some((l) => l.startsWith("+") && !l.startsWith("+++"))).toBe(true);
    const explicit = await cli(["diff", "airline-support", "2", "1"], home);
    expect(explicit.stdout).toBe(diff.stdout);
    const reverse = await cli(["diff", "airline-support", "1", "2"], home);
    expect(reverse.stdout.split("\n").some((l) => l.startsWith("-") && !l.startsWith("---"))).toBe(true);
  });

  it("promote exports the draft where asked; rollback makes v1 active again", async () => {
    const target = path.join(home, "project/.claude/skills");
    const promoted = await cli(["promote", "airline-support", "2", "--to", target], home);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain("airline-support v2 is active (was v1)");
    await expectValidSkill(path.join(target, "airline-support"));
    expect(statusOf(await history(home, "airline-support"))).toEqual({ 1: "retired", 2: "active" });

    const rolled = await cli(["rollback", "airline-support"], home);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain("v1 is active again (was v2)");
    expect(statusOf(await history(home, "airline-support"))).toEqual({ 1: "active", 2: "retired" });
    // rollback exports the restored version to the default skills dir
    const exported = await readFile(path.join(home, "export/airline-support/SKILL.md"), "utf8");
    expect(exported).toBe(await readFile(path.join(SAMPLE_SKILL, "SKILL.md"), "utf8"));

    const nothingLeft = await cli(["rollback", "airline-support"], home);
    expect(nothingLeft.code).toBe(1);
    expect(nothingLeft.stderr).toContain("nothing to roll back to");
    expect(nothingLeft.stdout).toBe("");
  });
});

describe("trace2skill evolve (create mode, no model)", () => {
  it("creates a v1 scaffold from --purpose and --from, judges the unlabelled runs into a draft, and lets recorded outcomes win", async () => {
    const home = await tempDir("t2s-cli-create-");
    const runs = path.join(home, "runs.jsonl");
    await writeFile(runs, summaryRuns(6).join("\n"));

    const created = await cli(["evolve", "--skill", "report-summary", "--purpose", "Summarise reports read from files", "--from", runs], home);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain("Ingested 6 run(s) from 1 file(s)");
    // No outcome recorded: the heuristic judge reads the transcripts (the "file not found" ones end in an error).
    expect(created.stdout).toContain("Judged 6 run(s) without a recorded outcome (heuristic judge): 0 succeeded, 3 failed, 3 unknown.");
    expect(created.stdout).toMatch(/^New draft: report-summary v2 \(from v1\)/m);
    const first = await history(home, "report-summary");
    expect(first.find((v) => v.version === 1)).toMatchObject({ origin: "create", status: "active" });
    expect(first.find((v) => v.version === 1)?.changelog.join("\n")).toContain("Summarise reports read from files");

    const listed = await cli(["ingest", runs, "--skill", "report-summary", "--json"], home);
    const ids = (JSON.parse(listed.stdout) as { files: Array<{ ids: string[] }> }).files[0]?.ids ?? [];
    expect(ids).toHaveLength(6);
    for (const [i, id] of ids.entries()) {
      const set = await cli(["outcome", id, i % 2 === 0 ? "--success" : "--failure"], home);
      expect(set.code, set.stderr).toBe(0);
    }
    const labelled = await cli(["runs", "--skill", "report-summary", "--outcome", "submitted", "--json"], home);
    expect((JSON.parse(labelled.stdout) as { runs: unknown[] }).runs).toHaveLength(6);

    const evolved = await cli(["evolve", "--skill", "report-summary"], home);
    expect(evolved.code, evolved.stderr).toBe(0);
    expect(evolved.stdout).not.toContain("Judged");
    // The recorded outcomes agree with the verdicts here, so the same rule comes out: the same version.
    expect(evolved.stdout).toMatch(/^(New draft: report-summary v3 \(from v1\)|No new version: the result equals report-summary v2)/m);
    await expectValidSkill(printedFolder(evolved.stdout));
  });
});

/** OpenAI-messages runs: half read a file that is there, half hit "file not found". */
function summaryRuns(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: "user", content: `Please summarise report number ${i}.` },
        { role: "assistant", content: null, tool_calls: [{ id: `c${i}`, type: "function", function: { name: "read_file", arguments: JSON.stringify({ path: `report-${i}.txt` }) } }] },
        { role: "tool", tool_call_id: `c${i}`, content: i % 2 === 0 ? `Quarterly figures for region ${i}.` : "Error: file not found" },
        { role: "assistant", content: `Summary of report ${i}.` },
      ],
    }),
  );
}

describe("trace2skill evolve with a model (scripted fake OpenAI server)", () => {
  let fake: FakeOpenAI;

  beforeAll(async () => {
    ({ fake } = await startScriptedModel());
  });

  afterAll(async () => {
    await fake.close();
  });

  it("analyses every run, merges in 3 levels and stores a valid draft, reporting the model usage", async () => {
    const home = await tempDir("t2s-cli-model-");
    const imported = await cli(["import", SAMPLE_SKILL], home);
    expect(imported.code, imported.stderr).toBe(0);
    const ingested = await cli(["ingest", TAU_FIXTURE, "--skill", "airline-support"], home);
    expect(ingested.code, ingested.stderr).toBe(0);

    const model = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "test", TRACE2SKILL_MODEL: "fake-model", TRACE2SKILL_CONCURRENCY: "8" };
    const res = await cli(["evolve", "--skill", "airline-support", "--fan-in", "5"], home, model);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^New draft: airline-support v2 \(from v1\)/m);
    // A fifth of the 69 failures (14) is held out: 86 runs are analysed.
    expect(res.stdout).toMatch(/^Merge: 86 patch\(es\), 3 level\(s\)/m);
    const calls = Number(/^Model usage: (\d+) call\(s\)/m.exec(res.stdout)?.[1]);
    const kinds = fake.calls.bodies.map((b) => b.response_format?.json_schema?.name);
    expect(kinds.filter((k) => k === "analysis")).toHaveLength(86);
    // 86 patches in groups of 5: 17 merges (the 18th group has one patch: nothing to merge) + 4 + 1
    expect(kinds.filter((k) => k === "merge")).toHaveLength(22);
    // One review of the draft; each held-out failure read against the base and the draft.
    expect(kinds.filter((k) => k === "review")).toHaveLength(1);
    expect(kinds.filter((k) => k === "coverage")).toHaveLength(28);
    expect(res.stdout).toMatch(/Held-out check \(14 failed run\(s\) kept out of the evolve, judged by openai-compatible\): base \d+ addressed/);
    expect(calls).toBe(fake.calls.count);
    expect(fake.calls.maxInFlight).toBeLessThanOrEqual(8);
    await expectValidSkill(printedFolder(res.stdout));

    // The draft's report: held-out verdicts per failure, the review's findings, support and diagnoses per passage.
    const checks = await cli(["checks", "airline-support", "2"], home);
    expect(checks.code, checks.stderr).toBe(0);
    expect(checks.stdout).toMatch(/^Held-out check \(14 failed run\(s\)/m);
    expect(checks.stdout.match(/^ {2}[0-9a-f]{12} {2}(yes|partly|no|not-agent|unknown) → (yes|partly|no|not-agent|unknown)/gm)).toHaveLength(14);
    expect(checks.stdout).toMatch(/^Review findings:/m);
    expect(checks.stdout).toMatch(/^ {2}\[\d+\] SKILL\.md: .+\n {6}- .{10,}/m);
    // The scripted judge credits the draft's pitfalls, which the base does not have: the draft covers more.
    const report = JSON.parse((await cli(["checks", "airline-support", "2", "--json"], home)).stdout) as { holdout: { base: { yes: number }; draft: { yes: number } } };
    expect(report.holdout.draft.yes).toBeGreaterThan(report.holdout.base.yes);
  });
});

describe("trace2skill command line", () => {
  it("--help of every command exits 0 with its usage on stdout", async () => {
    const home = await tempDir("t2s-cli-help-");
    const main = await cli(["--help"], home);
    expect(main.code).toBe(0);
    const names = [...main.stdout.split("Commands:")[1]!.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]!);
    expect(names).toEqual(expect.arrayContaining(["demo", "evolve", "analyse", "consolidate", "evolution", "runs", "delete-run", "promote", "rollback", "history", "diff"]));
    for (const name of names) {
      const res = await cli([name, "--help"], home);
      expect(res.code, `${name} --help: ${res.stderr}`).toBe(0);
      expect(res.stdout, name).toMatch(/^Usage: trace2skill/);
      expect(res.stderr, name).toBe("");
    }
  }, 180_000);

  it.each([
    { name: "unknown command", args: ["frobnicate"], message: 'Unknown command "frobnicate"' },
    { name: "--fan-in 0", args: ["evolve", "--skill", "airline-support", "--fan-in", "0"], message: "--fan-in must be a whole number of at least 2" },
    { name: "evolve without --skill", args: ["evolve"], message: "evolve needs --skill <name>" },
    { name: "unknown option", args: ["evolve", "--skill", "airline-support", "--bogus"], message: "Unknown option '--bogus'" },
    { name: "invalid skill name", args: ["evolve", "--skill", "Not_A_Name"], message: 'Skill name "Not_A_Name" is not allowed' },
    { name: "unknown skill without --purpose", args: ["evolve", "--skill", "nothing-yet"], message: 'Skill "nothing-yet" has no version yet' },
    { name: "unreadable --from file", args: ["evolve", "--skill", "x", "--from", "/no/such/file.jsonl"], message: "Cannot read --from file /no/such/file.jsonl" },
    { name: "--resume of an unknown run", args: ["evolve", "--resume", "evolve-nope"], message: "Run evolve-nope not found" },
    { name: "consolidate without --skill", args: ["consolidate"], message: "consolidate needs --skill <name>" },
    { name: "promote without a version", args: ["promote", "airline-support"], message: "promote needs a version number" },
    { name: "diff without arguments", args: ["diff"], message: "diff needs a skill name and a version" },
    { name: "history of an unknown skill", args: ["history", "unknown-skill"], message: 'Skill "unknown-skill" not found' },
    { name: "evolution without an id", args: ["evolution"], message: "evolution needs the id evolve or consolidate printed" },
    { name: "run (the old name) of an unknown id", args: ["run", "evolve-nope"], message: 'Run "evolve-nope" not found' },
    { name: "runs with a bad --outcome", args: ["runs", "--outcome", "maybe"], message: "--outcome must be one of success, failure, unknown, judged, submitted" },
    { name: "runs --since garbage", args: ["runs", "--since", "last tuesday"], message: '"last tuesday" is not a date or a span' },
    { name: "runs --since without a unit", args: ["runs", "--since", "7"], message: '"7" needs a unit: 7d, 12h or 30m' },
    { name: "delete-run without ids", args: ["delete-run"], message: "delete-run needs at least one run id" },
    { name: "delete-run of an unknown prefix", args: ["delete-run", "deadbeef00"], message: 'Trajectory "deadbeef00" not found' },
  ])("$name fails with a clear message on stderr and nothing on stdout", async ({ args, message }) => {
    const home = await tempDir("t2s-cli-bad-");
    const res = await cli(args, home);
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe("");
    expect(res.stderr).toContain(`trace2skill: ${message}`);
  });
});
