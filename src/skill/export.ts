import { createHash } from "node:crypto";
import { lstat, readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { SkillNameSchema } from "../trajectory/schema.js";
import { ConflictError, InvalidInputError, InvalidNameError, InvalidSkillError } from "../util/errors.js";
import { resolveInside, safeRelativePath, writeFileAtomic } from "../util/fsx.js";
import type { ExportReport } from "./export-report.js";
import { isIgnoredEntry, skillFileBytes } from "./folder.js";
import { parseSkillMd } from "./frontmatter.js";
import type { SkillFolder } from "./types.js";
import { formatProblems, validateSkill } from "./validate.js";

/**
 * The record an export leaves in the skill folder of what it wrote. A later export removes
 * only files listed here, and only while they still hold the listed content. A dotfile, so
 * importing the folder and skills-ref both ignore it.
 */
export const EXPORT_MANIFEST = ".trace2skill-export.json";

export const ExportManifestSchema = z.object({
  skill: SkillNameSchema,
  version: z.number().int().positive(),
  exportedAt: z.string(),
  files: z.array(z.object({ path: z.string(), sha256: z.string() })),
});
export type ExportManifest = z.infer<typeof ExportManifestSchema>;

export interface ExportOptions {
  /** The version being exported, recorded in the manifest. */
  version: number;
  /** Work out and return the report, changing nothing. */
  dryRun?: boolean;
}

type EntryKind = "file" | "directory" | "other";

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The `name` in `<dir>/SKILL.md`, or null when there is no readable SKILL.md with a name. */
async function existingSkillName(dir: string): Promise<string | null> {
  const text = await readFile(path.join(dir, "SKILL.md"), "utf8").catch(() => null);
  if (text === null) return null;
  try {
    const { name } = parseSkillMd(text).frontmatter;
    return typeof name === "string" ? name : null;
  } catch {
    return null;
  }
}

/** Every entry under `dir` except tooling (dotfiles, node_modules); symlinks are listed, never followed. */
async function listEntries(dir: string, prefix = "", into = new Map<string, EntryKind>()): Promise<Map<string, EntryKind>> {
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    if (isIgnoredEntry(entry.name)) continue;
    const relative = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      into.set(relative, "directory");
      await listEntries(dir, relative, into);
    } else {
      into.set(relative, entry.isFile() ? "file" : "other");
    }
  }
  return into;
}

/**
 * The files the previous export of `skill` wrote there, with their sha256; null when there is
 * no readable manifest of this skill (a hand-made folder, or one exported before manifests):
 * then nothing in the folder counts as written by trace2skill.
 */
async function readManifest(dir: string, skill: string): Promise<Map<string, string> | null> {
  const text = await readFile(path.join(dir, EXPORT_MANIFEST), "utf8").catch(() => null);
  if (text === null) return null;
  let parsed: ReturnType<typeof ExportManifestSchema.safeParse>;
  try {
    parsed = ExportManifestSchema.safeParse(JSON.parse(text));
  } catch {
    return null;
  }
  if (!parsed.success || parsed.data.skill !== skill) return null;
  const written = new Map<string, string>();
  for (const file of parsed.data.files) {
    try {
      const relative = safeRelativePath(file.path, "manifest path");
      if (!relative.split("/").some(isIgnoredEntry)) written.set(relative, file.sha256);
    } catch {
      // A path that could leave the folder is not something an export wrote: ignore it.
    }
  }
  return written;
}

function parentsOf(relative: string): string[] {
  const segments = relative.split("/");
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join("/"));
}

interface ExportPlan {
  /** Version files whose bytes on disk differ from the version's. */
  writes: string[];
  removals: string[];
  report: Omit<ExportReport, "path" | "skill" | "version" | "dryRun" | "counts">;
}

/** Decide, from what is on disk and the previous manifest, what an export into `dir` does. */
async function planExport(dir: string, skill: string, bytes: Map<string, Buffer>): Promise<ExportPlan> {
  const entries = await listEntries(dir);
  const previous = await readManifest(dir, skill);
  // Only files the version or the manifest name are compared; the user's others are never read.
  const current = new Map<string, Buffer>();
  for (const [relative, kind] of entries) {
    if (kind === "file" && (bytes.has(relative) || previous?.has(relative))) current.set(relative, await readFile(path.join(dir, relative)));
  }
  const unchangedSinceExport = (relative: string): boolean => {
    const onDisk = current.get(relative);
    const recorded = previous?.get(relative);
    return onDisk !== undefined && recorded !== undefined && sha256(onDisk) === recorded;
  };

  const report: ExportPlan["report"] = { written: [], overwritten: [], removed: [], kept: [], keptEdited: [] };
  for (const [relative, kind] of entries) {
    if (kind === "directory" || bytes.has(relative)) continue;
    if (unchangedSinceExport(relative)) report.removed.push(relative);
    else if (previous?.has(relative)) report.keptEdited.push(relative);
    else report.kept.push(relative);
  }
  const removed = new Set(report.removed);
  const writes: string[] = [];
  for (const [relative, data] of bytes) {
    if (entries.get(relative) === "directory") {
      throw new ConflictError(
        `${path.join(dir, relative)} is a folder, but version files need that path for a file. Move it away, then export again.`,
      );
    }
    const blocker = parentsOf(relative).find((parent) => entries.has(parent) && entries.get(parent) !== "directory" && !removed.has(parent));
    if (blocker !== undefined) {
      throw new ConflictError(
        `${path.join(dir, blocker)} is not a plain folder (a file or a symlink), but the version has "${relative}" inside it. ` +
          `Move it away, then export again.`,
      );
    }
    const onDisk = current.get(relative);
    if (onDisk?.equals(data)) {
      report.written.push(relative);
      continue;
    }
    writes.push(relative);
    if (!entries.has(relative) || unchangedSinceExport(relative)) report.written.push(relative);
    else report.overwritten.push(relative);
  }
  for (const list of Object.values(report)) list.sort();
  return { writes, removals: report.removed, report };
}

/** Remove `relative`'s folders that the removal left empty, deepest first; a folder with anything in it stays. */
async function pruneEmptyParents(dir: string, relative: string): Promise<void> {
  for (const parent of parentsOf(relative).reverse()) {
    const removed = await rmdir(path.join(dir, parent)).then(
      () => true,
      () => false,
    );
    if (!removed) return;
  }
}

/**
 * Write a valid skill into `<targetRoot>/<name>/` (e.g. targetRoot `.claude/skills`) and report
 * what changed there. Only the version's files are written; a file is removed only when an
 * earlier export of this skill wrote it (see EXPORT_MANIFEST), the version no longer has it, and
 * it still holds what was written. Every other file stays and is named in the report. An
 * existing folder is written into only when it is this same skill (its SKILL.md carries the
 * same name); anything else is refused.
 */
/** Pseudo-filesystems where folders cannot be made (a recursive mkdir there never returns). */
const PSEUDO_ROOTS = ["/proc", "/sys", "/dev"];

/**
 * The folder an export goes into must be (or be creatable as) a plain folder: not inside
 * /proc, /sys or /dev, and with no file where a folder of its path should be. Checked before
 * anything is made, in a dry run too.
 */
async function checkExportRoot(root: string): Promise<void> {
  if (process.platform !== "win32" && PSEUDO_ROOTS.some((p) => root === p || root.startsWith(`${p}/`))) {
    throw new InvalidInputError(`${root} is inside ${root.split("/").slice(0, 2).join("/")}, a system folder no skill can be exported to. Export to a folder of your own.`);
  }
  for (let dir = root; ; dir = path.dirname(dir)) {
    const info = await stat(dir).catch(() => null);
    if (info) {
      if (!info.isDirectory()) {
        throw new InvalidInputError(`${dir} is a file, not a folder, so nothing can be exported ${dir === root ? "into it" : `to ${root}`}. Export to a folder.`);
      }
      return;
    }
    if (path.dirname(dir) === dir) return;
  }
}

export async function exportSkill(folder: SkillFolder, targetRoot: string, options: ExportOptions): Promise<ExportReport> {
  if (!SkillNameSchema.safeParse(folder.name).success) {
    throw new InvalidNameError(`"${folder.name}" is not a valid skill name, so it cannot be used as a folder name.`);
  }
  const validation = validateSkill(folder);
  if (!validation.valid) {
    const errors = formatProblems(validation.problems.filter((p) => p.severity === "error"));
    throw new InvalidSkillError(
      `Skill "${folder.name}" is not valid, so it was not exported:\n${errors.join("\n")}`,
      errors,
    );
  }
  const bytes = skillFileBytes(folder);
  await checkExportRoot(path.resolve(targetRoot));
  const target = resolveInside(path.resolve(targetRoot), folder.name, "skill name");
  const existing = await stat(target).catch(() => null);
  if (existing) {
    const name = existing.isDirectory() ? await existingSkillName(target) : null;
    if (name !== folder.name) {
      throw new ConflictError(
        `${target} already exists and is not the skill "${folder.name}" (no SKILL.md with that name), so it was not overwritten. ` +
          `Move or delete it, or export to another target folder.`,
      );
    }
  }
  const plan: ExportPlan = existing
    ? await planExport(target, folder.name, bytes)
    : { writes: [...bytes.keys()], removals: [], report: { written: [...bytes.keys()].sort(), overwritten: [], removed: [], kept: [], keptEdited: [] } };
  const { report } = plan;
  const dryRun = options.dryRun === true;
  if (!dryRun) await applyExport(target, folder.name, options.version, bytes, plan);
  return {
    path: target,
    skill: folder.name,
    version: options.version,
    dryRun,
    counts: {
      written: report.written.length,
      overwritten: report.overwritten.length,
      removed: report.removed.length,
      kept: report.kept.length,
      keptEdited: report.keptEdited.length,
    },
    ...report,
  };
}

/**
 * Removals first (a removed file may be where the version now needs a folder), then the
 * version's files, then the manifest. Each file is replaced atomically; if the export stops
 * half way, the manifest is the older one or missing, and files it does not describe exactly
 * are kept by the next export: an interruption can leave extra files, never lose one.
 */
async function applyExport(target: string, skill: string, version: number, bytes: Map<string, Buffer>, plan: ExportPlan): Promise<void> {
  for (const relative of plan.removals) {
    const full = resolveInside(target, relative, "file path");
    if (!(await lstat(full).catch(() => null))?.isFile()) continue;
    await rm(full);
    await pruneEmptyParents(target, relative);
  }
  for (const relative of plan.writes) {
    await writeFileAtomic(resolveInside(target, relative, "file path"), bytes.get(relative) as Buffer);
  }
  const manifest: ExportManifest = {
    skill,
    version,
    exportedAt: new Date().toISOString(),
    files: [...bytes].map(([relative, data]) => ({ path: relative, sha256: sha256(data) })).sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
  await writeFileAtomic(path.join(target, EXPORT_MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
}
