import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { diffSkillFolders } from "../../src/skill/diff.js";
import { EXPORT_MANIFEST, ExportManifestSchema, exportSkill } from "../../src/skill/export.js";
import { capExportReport, exportReportLines } from "../../src/skill/export-report.js";
import { readSkillFolder } from "../../src/skill/folder.js";
import { scaffoldSkill } from "../../src/skill/scaffold.js";
import type { SkillFolder } from "../../src/skill/types.js";
import { validateSkill } from "../../src/skill/validate.js";
import { ConflictError, InvalidInputError, InvalidNameError, InvalidSkillError } from "../../src/util/errors.js";

const run = promisify(execFile);
const SKILLS_REF = path.resolve("node_modules/.bin/skills-ref");
const SAMPLE = path.resolve("skills/airline-support");

let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "t2s-skill-export-"));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Every file under `dir` (dotfiles included) with its content, by relative path. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, string> = {};
  for (const e of entries.filter((x) => x.isFile())) {
    const full = path.join(e.parentPath, e.name);
    files[path.relative(dir, full).split(path.sep).join("/")] = await readFile(full, "utf8");
  }
  return files;
}

/** A valid `demo` skill whose SKILL.md links every extra file, so each version validates. */
function demo(description: string, extra: Record<string, string> = {}): SkillFolder {
  const folder = scaffoldSkill("demo", description);
  for (const [file, text] of Object.entries(extra)) {
    folder.files[file] = text;
    folder.files["SKILL.md"] += `\nRead [${file}](${file}) when unsure.\n`;
  }
  return folder;
}

async function skillsRef(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(SKILLS_REF, ["validate", dir]);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

describe("scaffoldSkill", () => {
  it("builds a minimal skill with a Use-when description and the sections evolution appends to", () => {
    const folder = scaffoldSkill("order-refunds", "Process refund requests for online orders.");
    const text = folder.files["SKILL.md"] ?? "";
    expect(text).toMatch(/^---\nname: order-refunds\ndescription: Process refund requests for online orders\. Use when working on order refunds tasks\.\n---\n/);
    expect(text).toContain("\n# Order Refunds\n");
    for (const heading of ["## Overview", "## Workflow", "## Pitfalls"]) expect(text).toContain(`\n${heading}\n`);
    expect(validateSkill(folder)).toEqual({ valid: true, problems: [] });
  });

  it("cleans a purpose that would break the spec and refuses bad input", () => {
    const folder = scaffoldSkill("demo", "Handle <xml> --- things   ");
    expect(validateSkill(folder).valid).toBe(true);
    expect(() => scaffoldSkill("Bad Name", "x")).toThrow(InvalidNameError);
    expect(() => scaffoldSkill("demo", " <> ")).toThrow(InvalidInputError);
  });

  it("keeps the description within 1024 characters for a long purpose", () => {
    const folder = scaffoldSkill("demo", "word ".repeat(400));
    expect(validateSkill(folder)).toEqual({ valid: true, problems: [] });
  });
});

describe("exportSkill", () => {
  it("writes <root>/<name>/ and the real skills-ref validator accepts scaffolded and exported skills", async () => {
    const root = path.join(tmp, ".claude", "skills");
    const scaffolded = await exportSkill(scaffoldSkill("order-refunds", "Process refund requests."), root, { version: 1 });
    expect(scaffolded.path).toBe(path.join(root, "order-refunds"));
    const sample = await readSkillFolder(SAMPLE);
    const exported = await exportSkill(sample, root, { version: 3 });
    for (const dir of [scaffolded.path, exported.path]) {
      const result = await skillsRef(dir);
      expect(result.code, result.output).toBe(0);
    }
    expect(await readFile(path.join(exported.path, "SKILL.md"), "utf8")).toBe(await readFile(path.join(SAMPLE, "SKILL.md"), "utf8"));
  });

  it("the skills-ref check can fail: a broken export is rejected by it", async () => {
    const dir = path.join(tmp, "demo");
    await mkdir(dir);
    await writeFile(path.join(dir, "SKILL.md"), "---\nname: other\ndescription: d\n---\n");
    expect((await skillsRef(dir)).code).toBe(1);
  });

  it("the sample airline skill is valid for both validators", async () => {
    expect(validateSkill(await readSkillFolder(SAMPLE))).toEqual({ valid: true, problems: [] });
    const result = await skillsRef(SAMPLE);
    expect(result.code, result.output).toBe(0);
  });

  it("leaves a manifest of what it wrote that skills-ref accepts and importing the folder ignores", async () => {
    const sample = await readSkillFolder(SAMPLE);
    const { path: dir } = await exportSkill(sample, path.join(tmp, "skills"), { version: 3 });
    const manifest = ExportManifestSchema.parse(JSON.parse(await readFile(path.join(dir, EXPORT_MANIFEST), "utf8")));
    expect(manifest).toMatchObject({ skill: "airline-support", version: 3 });
    const skillMd = await readFile(path.join(dir, "SKILL.md"));
    expect(manifest.files.find((f) => f.path === "SKILL.md")?.sha256).toBe(createHash("sha256").update(skillMd).digest("hex"));
    expect(manifest.files.map((f) => f.path).sort()).toEqual([...Object.keys(sample.files), ...Object.keys(sample.binaries)].sort());
    const result = await skillsRef(dir);
    expect(result.code, result.output).toBe(0);
    const imported = await readSkillFolder(dir);
    expect(imported).toEqual(sample);
    expect(validateSkill(imported)).toEqual({ valid: true, problems: [] });
  });

  it("keeps the user's own files through an export and a re-export, and names them", async () => {
    const root = path.join(tmp, "skills");
    const first = await exportSkill(demo("Do demos."), root, { version: 1 });
    await writeFile(path.join(first.path, "notes.md"), "my notes");
    await mkdir(path.join(first.path, "references"));
    await writeFile(path.join(first.path, "references", "mine.md"), "mine");
    const again = await exportSkill(demo("Do demos better.", { "references/guide.md": "guide" }), root, { version: 2 });
    expect(again).toMatchObject({ written: ["SKILL.md", "references/guide.md"], overwritten: [], removed: [], kept: ["notes.md", "references/mine.md"] });
    expect(again.counts).toEqual({ written: 2, overwritten: 0, removed: 0, kept: 2, keptEdited: 0 });
    expect(exportReportLines(again)).toContain("kept 2 files trace2skill did not write: notes.md, references/mine.md");
    const third = await exportSkill(demo("Do demos best."), root, { version: 3 });
    expect(third.removed).toEqual(["references/guide.md"]);
    expect(await snapshot(first.path)).toMatchObject({ "notes.md": "my notes", "references/mine.md": "mine" });
    expect(existsSync(path.join(first.path, "references", "guide.md"))).toBe(false);
  });

  it("removes a file the version dropped only if an earlier export wrote it and it is unchanged", async () => {
    const root = path.join(tmp, "skills");
    const v1 = demo("Do demos.", { "references/old.md": "old", "references/edited.md": "as exported", "scripts/run.sh": "echo hi" });
    const { path: dir } = await exportSkill(v1, root, { version: 1 });
    await writeFile(path.join(dir, "references", "edited.md"), "edited by hand");
    const v2 = await exportSkill(demo("Do demos better."), root, { version: 2 });
    expect(v2.removed).toEqual(["references/old.md", "scripts/run.sh"]);
    expect(v2.keptEdited).toEqual(["references/edited.md"]);
    expect(v2.kept).toEqual([]);
    expect(exportReportLines(v2)).toContain("kept 1 file an earlier export wrote but that were edited since: references/edited.md");
    expect(Object.keys(await snapshot(dir)).sort()).toEqual([EXPORT_MANIFEST, "SKILL.md", "references/edited.md"]);
    expect(await readdir(dir)).not.toContain("scripts");
    expect(await readFile(path.join(dir, "SKILL.md"), "utf8")).toContain("Do demos better.");
    // The edited file is no longer trace2skill's: a later export keeps it as the user's.
    const v3 = await exportSkill(demo("Do demos best."), root, { version: 3 });
    expect(v3).toMatchObject({ removed: [], keptEdited: [], kept: ["references/edited.md"] });
  });

  it("overwrites a file the user changed that the version still has, and says so", async () => {
    const root = path.join(tmp, "skills");
    const { path: dir } = await exportSkill(demo("Do demos.", { "references/a.md": "a" }), root, { version: 1 });
    await writeFile(path.join(dir, "references", "a.md"), "changed by hand");
    const again = await exportSkill(demo("Do demos.", { "references/a.md": "a v2" }), root, { version: 2 });
    expect(again).toMatchObject({ written: ["SKILL.md"], overwritten: ["references/a.md"] });
    expect(await readFile(path.join(dir, "references", "a.md"), "utf8")).toBe("a v2");
  });

  it("deletes nothing in a folder of the same skill without a manifest, overwriting only the version's files", async () => {
    const root = path.join(tmp, "skills");
    const dir = path.join(root, "demo");
    await mkdir(path.join(dir, "references"), { recursive: true });
    await writeFile(path.join(dir, "SKILL.md"), "---\nname: demo\ndescription: Hand-made demo.\n---\n# Demo\n");
    await writeFile(path.join(dir, "references", "old.md"), "from an older export");
    await writeFile(path.join(dir, "notes.txt"), "mine");
    const report = await exportSkill(demo("Do demos."), root, { version: 1 });
    expect(report).toMatchObject({ written: [], overwritten: ["SKILL.md"], removed: [], kept: ["notes.txt", "references/old.md"], keptEdited: [] });
    expect(await snapshot(dir)).toMatchObject({ "notes.txt": "mine", "references/old.md": "from an older export" });
    expect(await readFile(path.join(dir, "SKILL.md"), "utf8")).toContain("Do demos.");
    const next = await exportSkill(demo("Do demos better."), root, { version: 2 });
    expect(next).toMatchObject({ removed: [], kept: ["notes.txt", "references/old.md"] });
  });

  it("a dry run reports what would change and writes nothing", async () => {
    const root = path.join(tmp, "skills");
    const fresh = await exportSkill(demo("Do demos."), root, { version: 1, dryRun: true });
    expect(fresh).toMatchObject({ dryRun: true, written: ["SKILL.md"] });
    expect(existsSync(root)).toBe(false);

    const { path: dir } = await exportSkill(demo("Do demos.", { "references/old.md": "old" }), root, { version: 1 });
    await writeFile(path.join(dir, "notes.md"), "mine");
    const before = await snapshot(dir);
    const planned = await exportSkill(demo("Do demos better.", { "references/new.md": "new" }), root, { version: 2, dryRun: true });
    expect(planned).toMatchObject({ dryRun: true, written: ["SKILL.md", "references/new.md"], removed: ["references/old.md"], kept: ["notes.md"] });
    expect(exportReportLines(planned)).toContain("would remove 1 file an earlier export wrote that this version no longer has: references/old.md");
    expect(await snapshot(dir)).toEqual(before);
  });

  it("caps the file lists of a report for tool answers, keeping the totals", async () => {
    const root = path.join(tmp, "skills");
    const { path: dir } = await exportSkill(demo("Do demos."), root, { version: 1 });
    for (const n of [1, 2, 3, 4]) await writeFile(path.join(dir, `note-${n}.md`), "mine");
    const capped = capExportReport(await exportSkill(demo("Do demos."), root, { version: 2 }), 2);
    expect(capped.kept).toEqual(["note-1.md", "note-2.md"]);
    expect(capped.counts.kept).toBe(4);
    expect(exportReportLines(capped)).toContain("kept 4 files trace2skill did not write: note-1.md, note-2.md … and 2 more");
  });

  it("never follows a manifest outside the folder", async () => {
    const root = path.join(tmp, "skills");
    const { path: dir } = await exportSkill(demo("Do demos."), root, { version: 1 });
    const victim = path.join(root, "victim.txt");
    await writeFile(victim, "precious");
    const sha256 = createHash("sha256").update("precious").digest("hex");
    const forged = { skill: "demo", version: 1, exportedAt: "2020-01-01T00:00:00.000Z", files: [{ path: "../victim.txt", sha256 }] };
    await writeFile(path.join(dir, EXPORT_MANIFEST), JSON.stringify(forged));
    const report = await exportSkill(demo("Do demos better."), root, { version: 2 });
    expect(report.removed).toEqual([]);
    expect(await readFile(victim, "utf8")).toBe("precious");
  });

  it("refuses when a folder of the user's stands where the version needs a file, changing nothing", async () => {
    const root = path.join(tmp, "skills");
    const { path: dir } = await exportSkill(demo("Do demos."), root, { version: 1 });
    await mkdir(path.join(dir, "references", "a.md"), { recursive: true });
    const before = await snapshot(dir);
    await expect(exportSkill(demo("Do demos.", { "references/a.md": "a" }), root, { version: 2 })).rejects.toThrow(ConflictError);
    expect(await snapshot(dir)).toEqual(before);
  });

  it("refuses to overwrite a folder that is not the same skill, and says how to proceed", async () => {
    const root = path.join(tmp, "skills");
    await mkdir(path.join(root, "demo"), { recursive: true });
    await writeFile(path.join(root, "demo", "notes.txt"), "mine");
    const attempt = exportSkill(scaffoldSkill("demo", "Do demos."), root, { version: 1 });
    await expect(attempt).rejects.toThrow(ConflictError);
    await expect(exportSkill(scaffoldSkill("demo", "Do demos."), root, { version: 1 })).rejects.toThrow(/Move or delete it, or export to another target/);
    await writeFile(path.join(root, "demo", "SKILL.md"), "---\nname: someone-else\ndescription: x\n---\n");
    await expect(exportSkill(scaffoldSkill("demo", "Do demos."), root, { version: 1 })).rejects.toThrow(ConflictError);
    expect(await readFile(path.join(root, "demo", "notes.txt"), "utf8")).toBe("mine");
    await writeFile(path.join(root, "file-skill"), "x");
    await expect(exportSkill(scaffoldSkill("file-skill", "Do files."), root, { version: 1 })).rejects.toThrow(ConflictError);
  });

  it("refuses an invalid skill or name before writing anything", async () => {
    const root = path.join(tmp, "skills");
    const invalid: SkillFolder = { name: "demo", files: { "SKILL.md": "# no frontmatter\n" }, binaries: {} };
    await expect(exportSkill(invalid, root, { version: 1 })).rejects.toThrow(InvalidSkillError);
    await expect(exportSkill({ ...invalid, name: "../../etc" }, root, { version: 1 })).rejects.toThrow(InvalidNameError);
    await expect(readdir(tmp)).resolves.toEqual([]);
  });
});

describe("diffSkillFolders", () => {
  it("shows added, changed and removed files in path order", () => {
    const a: SkillFolder = {
      name: "demo",
      files: { "SKILL.md": "a\nb\n", "references/gone.md": "bye\n", "scripts/same.sh": "same\n" },
      binaries: { "assets/x.png": "AAA=" },
    };
    const b: SkillFolder = {
      name: "demo",
      files: { "SKILL.md": "a\nc\n", "references/new.md": "hi\n", "scripts/same.sh": "same\n" },
      binaries: { "assets/x.png": "AAE=" },
    };
    expect(diffSkillFolders(a, b)).toBe(
      [
        "--- a/SKILL.md",
        "+++ b/SKILL.md",
        "@@ -1,2 +1,2 @@",
        " a",
        "-b",
        "+c",
        "--- a/assets/x.png",
        "+++ b/assets/x.png",
        "Binary files a/assets/x.png and b/assets/x.png differ",
        "--- a/references/gone.md",
        "+++ /dev/null",
        "@@ -1,1 +0,0 @@",
        "-bye",
        "--- /dev/null",
        "+++ b/references/new.md",
        "@@ -0,0 +1,1 @@",
        "+hi",
        "",
      ].join("\n"),
    );
  });

  it("diffs against nothing and is empty for identical folders", () => {
    const b: SkillFolder = { name: "demo", files: { "SKILL.md": "x\n" }, binaries: {} };
    expect(diffSkillFolders(null, b)).toBe("--- /dev/null\n+++ b/SKILL.md\n@@ -0,0 +1,1 @@\n+x\n");
    expect(diffSkillFolders(b, structuredClone(b))).toBe("");
  });
});
