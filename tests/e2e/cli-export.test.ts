import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { SkillVersionMeta } from "../../src/skill/types.js";
import { cleanEnv, homeEnv, runCli, type CliResult } from "../helpers/cli.js";
import { REPO_ROOT, tempDir } from "../helpers/mcp.js";

/**
 * Exports through the built CLI (`npm test` builds first): a user's own files in the target
 * skill folder survive promote, and --dry-run changes nothing.
 */

const SKILLS_REF = path.join(REPO_ROOT, "node_modules/.bin/skills-ref");
const SAMPLE_SKILL = path.join(REPO_ROOT, "skills/airline-support");

function cli(args: string[], home: string): Promise<CliResult> {
  return runCli(args, { env: homeEnv(home) });
}

/** Every file under `dir` (dotfiles included) with its content. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const e of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((x) => x.isFile())) {
    const full = path.join(e.parentPath, e.name);
    files[path.relative(dir, full).split(path.sep).join("/")] = await readFile(full, "utf8");
  }
  return files;
}

async function activeVersion(home: string): Promise<number | undefined> {
  const res = await cli(["history", "airline-support", "--json"], home);
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { versions: SkillVersionMeta[] }).versions.find((v) => v.status === "active")?.version;
}

describe("trace2skill export and promote into a folder holding the user's own files", () => {
  it("export --dry-run and promote --dry-run change nothing; promote keeps the user's file and removes only what an export wrote", async () => {
    const home = await tempDir("t2s-cli-export-");
    // v1: the sample skill; v2: the same plus a reference file (imported, so active).
    expect((await cli(["import", SAMPLE_SKILL], home)).code).toBe(0);
    const v2 = path.join(home, "v2", "airline-support");
    await cp(SAMPLE_SKILL, v2, { recursive: true });
    await writeFile(path.join(v2, "references", "extra.md"), "# Extra\n\nMore detail.\n");
    await writeFile(path.join(v2, "SKILL.md"), (await readFile(path.join(v2, "SKILL.md"), "utf8")) + "\nSee [extra](references/extra.md).\n");
    expect((await cli(["import", v2], home)).code).toBe(0);

    const target = path.join(home, "project", ".claude", "skills");
    const folder = path.join(target, "airline-support");
    const exported = await cli(["export", "airline-support", "--to", target], home);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain(`Exported airline-support v2 to ${folder}`);
    await writeFile(path.join(folder, "my-notes.md"), "mine");
    const before = await snapshot(folder);
    expect(Object.keys(before)).toContain(".trace2skill-export.json");

    const dryExport = await cli(["export", "airline-support", "--version", "1", "--to", target, "--dry-run"], home);
    expect(dryExport.code, dryExport.stderr).toBe(0);
    expect(dryExport.stdout).toContain(`Dry run: exporting airline-support v1 to ${folder}`);
    expect(dryExport.stdout).toContain("would remove 1 file an earlier export wrote that this version no longer has: references/extra.md");
    expect(dryExport.stdout).toContain("would keep 1 file trace2skill did not write: my-notes.md");
    expect(dryExport.stdout).toContain("Nothing was changed (dry run).");
    expect(await snapshot(folder)).toEqual(before);

    const dryPromote = await cli(["promote", "airline-support", "1", "--to", target, "--dry-run"], home);
    expect(dryPromote.code, dryPromote.stderr).toBe(0);
    expect(dryPromote.stdout).toContain("Dry run: promote would make airline-support v1 active (now v2)");
    expect(dryPromote.stdout).toContain("would remove 1 file");
    expect(await snapshot(folder)).toEqual(before);
    expect(await activeVersion(home)).toBe(2);

    const promoted = await cli(["promote", "airline-support", "1", "--to", target], home);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain("airline-support v1 is active (was v2)");
    expect(promoted.stdout).toContain("removed 1 file an earlier export wrote that this version no longer has: references/extra.md");
    expect(promoted.stdout).toContain("kept 1 file trace2skill did not write: my-notes.md");
    const after = await snapshot(folder);
    expect(after["my-notes.md"]).toBe("mine");
    expect(after["references/extra.md"]).toBeUndefined();
    expect(after["SKILL.md"]).toBe(await readFile(path.join(SAMPLE_SKILL, "SKILL.md"), "utf8"));
    expect(await activeVersion(home)).toBe(1);
    const validated = await runCli(["validate", folder], { env: cleanEnv(), command: SKILLS_REF });
    expect(validated.code, validated.stdout + validated.stderr).toBe(0);
  });
});

describe("paths typed on the command line (issue 11, item 6)", () => {
  it("reads ~ and file:// as a shell would, and says why /proc or a NUL byte cannot be a skill folder", async () => {
    const home = await tempDir("t2s-cli-paths-");
    const fakeHome = await tempDir("t2s-cli-home-");
    const env = homeEnv(home, { HOME: fakeHome });
    expect((await runCli(["import", SAMPLE_SKILL], { env })).code).toBe(0);
    const tilde = await runCli(["export", "airline-support", "--to", "~/exported"], { env, cwd: home });
    expect(tilde.code, tilde.stderr).toBe(0);
    expect(await readdir(path.join(fakeHome, "exported", "airline-support"))).toContain("SKILL.md");
    const url = await runCli(["export", "airline-support", "--to", `file://${path.join(home, "by-url")}`], { env, cwd: home });
    expect(url.code, url.stderr).toBe(0);
    expect(await readdir(path.join(home, "by-url", "airline-support"))).toContain("SKILL.md");
    expect(await readdir(home)).not.toContain("~");
    expect(await readdir(home)).not.toContain("file:");
    const proc = await runCli(["import", "/proc/self"], { env });
    expect(proc.code).toBe(1);
    expect(proc.stderr).toMatch(/"\/proc\/self" cannot be read as a skill folder/);
    expect(proc.stderr).not.toMatch(/unexpected error/);
  });
});

describe("export targets that cannot be folders (review, session 3)", () => {
  it("refuses /proc, a file, and a path through a file at once, with a message — in a dry run too", async () => {
    const home = await tempDir("t2s-cli-badto-");
    const env = homeEnv(home);
    expect((await runCli(["import", SAMPLE_SKILL], { env })).code).toBe(0);
    await writeFile(path.join(home, "a-file"), "x");
    for (const [to, message] of [
      ["/proc/self", /system folder/],
      [path.join(home, "a-file"), /is a file, not a folder/],
      [path.join(home, "a-file", "deeper"), /is a file, not a folder/],
    ] as const) {
      for (const extra of [[], ["--dry-run"]]) {
        const started = Date.now();
        const res = await runCli(["export", "airline-support", "--to", to, ...extra], { env });
        expect(res.code, `${to} ${extra.join(" ")}`).toBe(1);
        expect(res.stderr).toMatch(message);
        expect(Date.now() - started).toBeLessThan(10_000);
      }
    }
  });
});

describe("secrets typed on the command line (review, session 3)", () => {
  it("are redacted from a create-mode purpose and from ingest's per-file lines", async () => {
    const home = await tempDir("t2s-cli-typed-");
    const env = homeEnv(home);
    const key = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2";
    const created = await runCli(["evolve", "--skill", "fresh-skill", "--purpose", `Help with payments using ${key}`, "--provider", "heuristic"], { env });
    expect(created.stdout + created.stderr).not.toContain(key);
    const files = await readdir(home, { recursive: true, withFileTypes: true });
    for (const f of files.filter((e) => e.isFile())) expect(await readFile(path.join(f.parentPath, f.name), "utf8"), f.name).not.toContain(key);
    await writeFile(path.join(home, "run.json"), JSON.stringify({ task: "t", steps: [{ role: "user", text: "t" }] }));
    const ingest = await runCli(["ingest", path.join(home, "run.json"), "--format", key], { env });
    expect(ingest.stdout + ingest.stderr).not.toContain(key);
  });
});
