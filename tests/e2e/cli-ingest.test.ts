import { cp, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { expandGlob, globToRegExp, splitGlobBase } from "../../src/cli/glob.js";
import { createProgress, formatProgressLine } from "../../src/cli/progress.js";
import { homeEnv, runCli } from "../helpers/cli.js";
import { REPO_ROOT, openTestEngine, tempDir } from "../helpers/mcp.js";

const FORMATS = path.join(REPO_ROOT, "fixtures/formats");

interface JsonReport {
  files: Array<{ file: string; status: "imported" | "refused"; format?: string; runs?: number; created?: number; skipped?: Array<{ what: string; reason: string; count: number }>; ids?: string[]; error?: string }>;
  totals: { files: number; imported: number; refused: number; runs: number; created: number; duplicates: number; redactions: number; skipped: number };
}

const conversation = (task: string) =>
  JSON.stringify({
    messages: [
      { role: "user", content: task },
      { role: "assistant", content: `done: ${task}` },
    ],
  });

let home: string;
let work: string;

beforeEach(async () => {
  home = await tempDir("t2s-ingest-home-");
  work = await tempDir("t2s-ingest-work-");
});

const cli = (args: string[], cwd?: string) => runCli(args, { env: homeEnv(home), cwd });

describe("trace2skill ingest (built CLI)", () => {
  it("imports a folder recursively, one report line per file and a summary", async () => {
    await cp(FORMATS, path.join(work, "runs/nested/deeper"), { recursive: true });
    await writeFile(path.join(work, "runs/notes.txt"), "not a run file");
    const res = await cli(["ingest", path.join(work, "runs"), "--skill", "demo"]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("✓"))).toHaveLength(6);
    expect(lines.at(-1)).toMatch(/^6 file\(s\): 6 imported, 0 refused; 6 run\(s\) — 6 new/);
    expect(res.stdout).toContain("thinking blocks skipped: private model reasoning is not imported");
    const engine = await openTestEngine(home);
    expect(await engine.store.listTrajectories({ skill: "demo" })).toHaveLength(6);

    const again = await cli(["ingest", path.join(work, "runs"), "--skill", "demo"]);
    expect(again.stdout.trim().split("\n").at(-1)).toContain("0 new, 6 already stored");
  });

  it("expands a quoted glob itself, relative to the working directory", async () => {
    await cp(FORMATS, path.join(work, "runs/a"), { recursive: true });
    await cp(FORMATS, path.join(work, "runs/b/c"), { recursive: true });
    const res = await cli(["ingest", "runs/**/claude-code_*.{jsonl,json}", "--json"], work);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as JsonReport;
    expect(report.files.map((f) => f.file)).toEqual([
      "runs/a/claude-code_subagent.input.jsonl",
      "runs/a/claude-code_tool-call.input.jsonl",
      "runs/b/c/claude-code_subagent.input.jsonl",
      "runs/b/c/claude-code_tool-call.input.jsonl",
    ]);
    // the same runs in two folders: stored once
    expect(report.totals).toMatchObject({ files: 4, imported: 4, refused: 0, runs: 4, created: 2, duplicates: 2 });

    const none = await cli(["ingest", "runs/**/*.nothing"], work);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("No file matches runs/**/*.nothing");
  });

  it("imports a JSONL of many runs, reporting a broken line in the middle and keeping the rest", async () => {
    const file = path.join(work, "batch.jsonl");
    await writeFile(file, [conversation("task one"), conversation("task two"), '{"messages": [ broken', conversation("task three"), conversation("task four")].join("\n"));
    const res = await cli(["ingest", file, "--skill", "batch", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as JsonReport;
    expect(report.files).toHaveLength(1);
    const [entry] = report.files;
    expect(entry).toMatchObject({ file, status: "imported", format: "openai-messages", runs: 4, created: 4 });
    expect(entry?.ids).toHaveLength(4);
    expect(entry?.skipped).toEqual([expect.objectContaining({ count: 1, reason: expect.stringContaining("line 3") })]);
    expect(report.totals).toEqual({ files: 1, imported: 1, refused: 0, runs: 4, created: 4, duplicates: 0, redactions: 0, skipped: 1 });

    const text = await cli(["ingest", file, "--skill", "batch"]);
    expect(text.stdout).toMatch(/1 JSONL lines? skipped: not valid JSON \(line 3\)/);
  });

  it("imports canonical runs many to a file: JSON Lines, and a JSON array (review, session 4)", async () => {
    const run = (task: string, success: boolean) => ({ skill: "canon", task, skillVersion: 1, steps: [{ role: "user", text: task }, { role: "assistant", text: "ok" }], outcome: { success } });
    await writeFile(path.join(work, "runs.jsonl"), [run("one", true), run("two", false)].map((r) => JSON.stringify(r)).join("\n"));
    await writeFile(path.join(work, "runs.json"), JSON.stringify([run("three", true), run("four", true), run("five", false)]));
    const res = await cli(["ingest", path.join(work, "runs.jsonl"), path.join(work, "runs.json"), "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as JsonReport;
    expect(report.files.map((f) => [path.basename(f.file), f.format, f.created])).toEqual([
      ["runs.jsonl", "canonical", 2],
      ["runs.json", "canonical", 3],
    ]);
  });

  it("reports a refused file, imports the others and exits 1", async () => {
    await writeFile(path.join(work, "good.jsonl"), conversation("fine"));
    await writeFile(path.join(work, "weird.json"), JSON.stringify({ hello: "world" }));
    const res = await cli(["ingest", work, "--json"]);
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout) as JsonReport;
    const refused = report.files.find((f) => f.status === "refused");
    expect(refused?.file).toBe(path.join(work, "weird.json"));
    expect(refused?.error).toMatch(/claude-code/); // names the formats it knows
    expect(report.totals).toMatchObject({ files: 2, imported: 1, refused: 1, runs: 1 });

    const text = await cli(["ingest", work]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`✗ ${path.join(work, "weird.json")}: `);
    expect(text.stdout.trim().split("\n").at(-1)).toContain("1 imported, 1 refused");
  });

  it("refuses a path that does not exist with a usage error", async () => {
    const res = await cli(["ingest", path.join(work, "missing.jsonl")]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("No such file or folder");
  });
});

describe("glob matcher", () => {
  it("handles * ? ** and nested {a,b}", () => {
    expect(globToRegExp("*.jsonl").test("a.jsonl")).toBe(true);
    expect(globToRegExp("*.jsonl").test("x/a.jsonl")).toBe(false);
    expect(globToRegExp("**/*.jsonl").test("a.jsonl")).toBe(true);
    expect(globToRegExp("**/*.jsonl").test("x/y/a.jsonl")).toBe(true);
    expect(globToRegExp("run-??.json").test("run-07.json")).toBe(true);
    expect(globToRegExp("run-??.json").test("run-7.json")).toBe(false);
    expect(globToRegExp("*.{json,traj}").test("a.traj")).toBe(true);
    expect(globToRegExp("*.{json,traj}").test("a.jsonl")).toBe(false);
    expect(globToRegExp("{a,b{c,d}}/x").test("bd/x")).toBe(true);
    expect(globToRegExp("a.b(c)").test("a.b(c)")).toBe(true);
    expect(globToRegExp("a.b").test("axb")).toBe(false);
  });

  it("walks only from the literal prefix, skipping hidden folders unless named", async () => {
    expect(splitGlobBase("runs/2026/**/*.jsonl")).toEqual({ base: "runs/2026", rest: "**/*.jsonl" });
    expect(splitGlobBase("/abs/*.json")).toEqual({ base: "/abs", rest: "*.json" });
    expect(splitGlobBase("*.json")).toEqual({ base: ".", rest: "*.json" });
    await mkdir(path.join(work, "r/.hidden"), { recursive: true });
    await mkdir(path.join(work, "r/sub"), { recursive: true });
    for (const f of ["r/a.jsonl", "r/.hidden/b.jsonl", "r/sub/c.jsonl", "r/sub/d.txt"]) await writeFile(path.join(work, f), "{}");
    expect(await expandGlob("r/**/*.jsonl", work)).toEqual(["r/a.jsonl", "r/sub/c.jsonl"]);
    expect(await expandGlob("r/*.jsonl", work)).toEqual(["r/a.jsonl"]);
    expect(await expandGlob("r/.hidden/*", work)).toEqual(["r/.hidden/b.jsonl"]);
    expect(await expandGlob(`${work}/r/sub/*`)).toEqual([`${work}/r/sub/c.jsonl`, `${work}/r/sub/d.txt`]);
  });
});

describe("progress line", () => {
  it("draws on a terminal only, and leaves the summary", () => {
    const written: string[] = [];
    const tty = { isTTY: true, columns: 200, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const progress = createProgress("ingest", { stream: tty, intervalMs: 0 });
    progress.update(1, 4, "2 run(s) imported");
    progress.update(4, 4);
    progress.done("done: 4 files");
    expect(written[0]).toContain("ingest [#####---------------] 1/4 · 2 run(s) imported");
    expect(written.at(-1)).toBe("done: 4 files\n");

    const piped: string[] = [];
    const pipe = { isTTY: false, write: (s: string) => piped.push(s) } as unknown as NodeJS.WriteStream;
    const silent = createProgress("ingest", { stream: pipe });
    silent.update(1, 2);
    silent.done("summary");
    expect(piped).toEqual([]);
    const json = createProgress("ingest", { stream: tty, json: true });
    const before = written.length;
    json.update(1, 2);
    expect(written.length).toBe(before);
    expect(formatProgressLine("x", 0, 0)).toBe("x [--------------------] 0/0");
  });

  it("never draws a value below one it has shown for the same total", () => {
    const written: string[] = [];
    const tty = { isTTY: true, columns: 200, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const progress = createProgress("evolve", { stream: tty, intervalMs: 0 });
    progress.update(3, 10, "analysing");
    progress.update(1, 10, "a late report");
    progress.update(4, 10, "merging");
    expect(written.map((w) => /(\d+)\/10/.exec(w)?.[1])).toEqual(["3", "4"]);
  });
});
