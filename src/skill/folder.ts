import type { Dirent } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { SkillNameSchema } from "../trajectory/schema.js";
import { InvalidNameError, InvalidSkillError, UnsafePathError, formatBytes } from "../util/errors.js";
import { safeRelativePath } from "../util/fsx.js";
import { type SkillFolder, SkillFolderSchema } from "./types.js";

export const MAX_SKILL_FILES = 200;
export const MAX_SKILL_BYTES = 5 * 1024 * 1024;

/** Entries that belong to tooling, not to the skill: never read on import, never touched by an export. */
export function isIgnoredEntry(name: string): boolean {
  return name.startsWith(".") || name === "node_modules";
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Text if the bytes are UTF-8 that re-encodes to exactly the same bytes, else null (binary). */
function decodeExactUtf8(bytes: Buffer): string | null {
  if (bytes.includes(0)) return null;
  try {
    const text = utf8.decode(bytes);
    return Buffer.from(text, "utf8").equals(bytes) ? text : null;
  } catch {
    return null;
  }
}

interface ReadBudget {
  files: number;
  bytes: number;
}

function tooLarge(root: string, detail: string): InvalidSkillError {
  return new InvalidSkillError(
    `The skill folder ${root} is too large: ${detail}. A skill may hold at most ${MAX_SKILL_FILES} files and ` +
      `${formatBytes(MAX_SKILL_BYTES)} in total; move bulky data out of the folder (dotfiles and node_modules are skipped).`,
  );
}

function isInside(rootReal: string, candidate: string): boolean {
  return candidate === rootReal || candidate.startsWith(rootReal + path.sep);
}

/**
 * Read a skill folder into memory. Text files go to `files`, anything that is not exact
 * UTF-8 to `binaries` (base64). Dotfiles and node_modules are skipped; a symlink is followed
 * only when its target stays inside the folder.
 */
export async function readSkillFolder(dir: string, opts: { name?: string } = {}): Promise<SkillFolder> {
  const root = path.resolve(dir);
  const rootStat = await stat(root).catch(() => null);
  if (!rootStat?.isDirectory()) {
    throw new InvalidSkillError(`${root} is not a directory. Give the path of a skill folder that contains SKILL.md.`);
  }
  const name = opts.name ?? path.basename(root);
  if (!SkillNameSchema.safeParse(name).success) {
    throw new InvalidNameError(
      `"${name}" is not a valid skill name (1-64 lowercase letters, digits and single hyphens). ` +
        `Rename the folder to the \`name\` in its SKILL.md, or pass the skill name explicitly.`,
    );
  }
  const rootReal = await realpath(root);
  const folder: SkillFolder = { name, files: {}, binaries: {} };
  await readInto(folder, rootReal, rootReal, "", { files: 0, bytes: 0 }, new Set([rootReal]));
  if (folder.files["SKILL.md"] === undefined) {
    const hint = folder.files["skill.md"] !== undefined ? " Rename skill.md to SKILL.md (upper case)." : "";
    throw new InvalidSkillError(`${root} has no SKILL.md. A skill folder must contain SKILL.md at its top level.${hint}`);
  }
  return folder;
}

async function readInto(
  folder: SkillFolder,
  rootReal: string,
  dirPath: string,
  prefix: string,
  budget: ReadBudget,
  visitedDirs: Set<string>,
): Promise<void> {
  const entries: Dirent[] = await readdir(dirPath, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (isIgnoredEntry(entry.name)) continue;
    const relative = safeRelativePath(prefix + entry.name, "file path");
    let full = path.join(dirPath, entry.name);
    if (entry.isSymbolicLink()) {
      const target = await realpath(full).catch(() => null);
      if (target === null || !isInside(rootReal, target)) {
        throw new UnsafePathError(
          `${relative} is a symlink that points outside the skill folder (or nowhere). ` +
            `Replace it with a copy of the file, or remove it before importing.`,
        );
      }
      full = target;
    }
    const info = await stat(full);
    if (info.isDirectory()) {
      const real = await realpath(full);
      // A symlinked directory inside the folder could loop back on itself.
      if (visitedDirs.has(real)) continue;
      visitedDirs.add(real);
      await readInto(folder, rootReal, full, `${relative}/`, budget, visitedDirs);
    } else if (info.isFile()) {
      budget.files += 1;
      budget.bytes += info.size;
      if (budget.files > MAX_SKILL_FILES) throw tooLarge(rootReal, `more than ${MAX_SKILL_FILES} files`);
      if (budget.bytes > MAX_SKILL_BYTES) throw tooLarge(rootReal, `more than ${formatBytes(MAX_SKILL_BYTES)}`);
      const bytes = await readFile(full);
      const text = decodeExactUtf8(bytes);
      if (text === null) folder.binaries[relative] = bytes.toString("base64");
      else folder.files[relative] = text;
    }
  }
}

/** Check every path for safety, duplicates, and a file standing where a directory must be. */
function assertWritablePaths(folder: SkillFolder): void {
  const all = [...Object.keys(folder.files), ...Object.keys(folder.binaries)].map((p) =>
    safeRelativePath(p, "file path"),
  );
  const seen = new Set<string>();
  for (const p of all) {
    if (seen.has(p)) {
      throw new InvalidSkillError(`"${p}" is listed both as a text file and as a binary file; keep only one.`);
    }
    seen.add(p);
  }
  for (const p of all) {
    const segments = p.split("/");
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join("/");
      if (seen.has(parent)) {
        throw new InvalidSkillError(`"${parent}" is a file but "${p}" needs it to be a folder; rename one of them.`);
      }
    }
    if (segments.some(isIgnoredEntry)) {
      throw new UnsafePathError(
        `"${p}" is a dotfile or inside node_modules; such paths are not part of a skill. Rename it.`,
      );
    }
  }
}

/**
 * The bytes of every file of a folder, keyed by relative path, once every path is known to be
 * writable inside a skill folder (no escape, no dotfile, no file standing where a folder must be).
 */
export function skillFileBytes(folder: SkillFolder): Map<string, Buffer> {
  const checked = SkillFolderSchema.safeParse(folder);
  if (!checked.success) {
    throw new InvalidSkillError(
      `The skill folder cannot be written: ${checked.error.issues.map((i) => `${i.path.join(".") || "folder"}: ${i.message}`).join("; ")}`,
    );
  }
  const parsed = checked.data;
  assertWritablePaths(parsed);
  const bytes = new Map<string, Buffer>();
  for (const [relative, text] of Object.entries(parsed.files)) bytes.set(safeRelativePath(relative), Buffer.from(text, "utf8"));
  for (const [relative, base64] of Object.entries(parsed.binaries)) bytes.set(safeRelativePath(relative), Buffer.from(base64, "base64"));
  return bytes;
}
