import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exportSkill } from "../../src/skill/export.js";
import { MAX_SKILL_FILES, readSkillFolder, skillFileBytes } from "../../src/skill/folder.js";
import type { SkillFolder } from "../../src/skill/types.js";
import { InvalidNameError, InvalidSkillError, UnsafePathError } from "../../src/util/errors.js";

const SKILL_MD = "---\r\nname: demo\r\ndescription: Demo. Use when testing.\r\n---\r\n\r\n# Demo\r\n\tSee [ref](references/a.md)\r\n";
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80]);
const BOM_TEXT = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("bom text\n")]);

let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "t2s-skill-folder-"));
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function makeSkill(dir: string): Promise<void> {
  await mkdir(path.join(dir, "references"), { recursive: true });
  await mkdir(path.join(dir, "assets"), { recursive: true });
  await writeFile(path.join(dir, "SKILL.md"), SKILL_MD);
  await writeFile(path.join(dir, "references", "a.md"), "no newline at end");
  await writeFile(path.join(dir, "assets", "logo.png"), PNG);
  await writeFile(path.join(dir, "assets", "bom.txt"), BOM_TEXT);
}

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
}

describe("readSkillFolder", () => {
  it("reads text and binary files, skipping dotfiles and node_modules", async () => {
    const dir = path.join(tmp, "demo");
    await makeSkill(dir);
    await mkdir(path.join(dir, ".git"));
    await writeFile(path.join(dir, ".git", "HEAD"), "ref");
    await writeFile(path.join(dir, ".DS_Store"), "x");
    await mkdir(path.join(dir, "scripts", "node_modules", "pkg"), { recursive: true });
    await writeFile(path.join(dir, "scripts", "node_modules", "pkg", "index.js"), "x");
    const folder = await readSkillFolder(dir);
    expect(folder.name).toBe("demo");
    expect(Object.keys(folder.files).sort()).toEqual(["SKILL.md", "assets/bom.txt", "references/a.md"]);
    expect(folder.files["SKILL.md"]).toBe(SKILL_MD);
    expect(folder.files["assets/bom.txt"]).toBe("\uFEFFbom text\n");
    expect(folder.binaries).toEqual({ "assets/logo.png": PNG.toString("base64") });
  });

  it("round-trips byte for byte through an export (CRLF, BOM, no final newline, binary)", async () => {
    const source = path.join(tmp, "demo");
    await makeSkill(source);
    const folder = await readSkillFolder(source);
    const { path: copy } = await exportSkill(folder, path.join(tmp, "out"), { version: 1 });
    expect((await listTree(copy)).filter((file) => !file.startsWith("."))).toEqual(await listTree(source));
    for (const file of await listTree(source)) {
      expect((await readFile(path.join(copy, file))).equals(await readFile(path.join(source, file))), file).toBe(true);
    }
    expect(await readSkillFolder(copy)).toEqual(folder);
  });

  it("takes the name from opts and refuses a folder name that is not a skill name", async () => {
    const dir = path.join(tmp, "My Skill");
    await makeSkill(dir);
    await expect(readSkillFolder(dir)).rejects.toThrow(InvalidNameError);
    expect((await readSkillFolder(dir, { name: "demo" })).name).toBe("demo");
  });

  it("refuses a folder without SKILL.md, and a path that is not a folder", async () => {
    const dir = path.join(tmp, "empty");
    await mkdir(dir);
    await expect(readSkillFolder(dir)).rejects.toThrow(/has no SKILL.md/);
    await expect(readSkillFolder(path.join(tmp, "nope"))).rejects.toThrow(/is not a directory/);
  });

  it("follows a symlink inside the folder but refuses one that leaves it", async () => {
    const dir = path.join(tmp, "demo");
    await makeSkill(dir);
    await symlink(path.join(dir, "references", "a.md"), path.join(dir, "references", "alias.md"));
    expect((await readSkillFolder(dir)).files["references/alias.md"]).toBe("no newline at end");
    await writeFile(path.join(tmp, "secret.txt"), "secret");
    await symlink(path.join(tmp, "secret.txt"), path.join(dir, "assets", "leak.txt"));
    await expect(readSkillFolder(dir)).rejects.toThrow(UnsafePathError);
    await expect(readSkillFolder(dir)).rejects.toThrow(/assets\/leak.txt is a symlink that points outside/);
  });

  it("refuses a symlinked directory that leaves the folder", async () => {
    const dir = path.join(tmp, "demo");
    await makeSkill(dir);
    await mkdir(path.join(tmp, "outside"));
    await symlink(path.join(tmp, "outside"), path.join(dir, "scripts"));
    await expect(readSkillFolder(dir)).rejects.toThrow(UnsafePathError);
  });

  it("enforces the file count and size caps with clear errors", async () => {
    const many = path.join(tmp, "many");
    await makeSkill(many);
    for (let i = 0; i < MAX_SKILL_FILES; i++) await writeFile(path.join(many, "assets", `f${i}.txt`), "x");
    await expect(readSkillFolder(many)).rejects.toThrow(/more than 200 files/);
    const big = path.join(tmp, "big");
    await makeSkill(big);
    await writeFile(path.join(big, "assets", "big.bin"), Buffer.alloc(5 * 1024 * 1024 + 1, 1));
    await expect(readSkillFolder(big)).rejects.toThrow(InvalidSkillError);
    await expect(readSkillFolder(big)).rejects.toThrow(/too large: more than 5.0 MiB/);
  });
});

describe("skillFileBytes", () => {
  const folder: SkillFolder = {
    name: "demo",
    files: { "SKILL.md": SKILL_MD, "references/a.md": "a" },
    binaries: { "assets/logo.png": PNG.toString("base64") },
  };

  it("gives the exact bytes of every text and binary file", () => {
    const bytes = skillFileBytes(folder);
    expect([...bytes.keys()].sort()).toEqual(["SKILL.md", "assets/logo.png", "references/a.md"]);
    expect(bytes.get("assets/logo.png")?.equals(PNG)).toBe(true);
    expect(bytes.get("SKILL.md")?.toString("utf8")).toBe(SKILL_MD);
  });

  it("refuses paths that escape the folder or are dotfiles", () => {
    for (const bad of ["../escape.md", "/etc/passwd", "references/../../x", "a\\b", ".hidden", "scripts/node_modules/x.js"]) {
      expect(() => skillFileBytes({ ...folder, files: { ...folder.files, [bad]: "x" } }), bad).toThrow(UnsafePathError);
    }
    expect(() => skillFileBytes({ ...folder, name: "../../etc" })).toThrow(InvalidSkillError);
  });

  it("refuses a path used both as file and folder, or as text and binary", () => {
    expect(() => skillFileBytes({ ...folder, files: { ...folder.files, references: "x" } })).toThrow(/needs it to be a folder/);
    expect(() => skillFileBytes({ ...folder, binaries: { "references/a.md": "AAA=" } })).toThrow(/both as a text file and as a binary/);
  });
});
