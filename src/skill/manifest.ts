import { createHash } from "node:crypto";
import path from "node:path";
import type { SkillFolder } from "./types.js";

/** One file of a skill, with what a reader needs to check it got the right bytes. */
export interface SkillFileEntry {
  path: string;
  /** Length of the raw bytes. */
  size: number;
  /** `sha256:<64 lowercase hex>` of the raw bytes (the content-digest form hosts verify against). */
  digest: string;
  mediaType: string;
  binary: boolean;
}

const TEXT_TYPES: Record<string, string> = {
  ".md": "text/markdown",
  ".markdown": "text/markdown",
  ".txt": "text/plain",
  ".json": "application/json",
  ".yaml": "application/yaml",
  ".yml": "application/yaml",
  ".csv": "text/csv",
  ".html": "text/html",
  ".xml": "application/xml",
  ".svg": "image/svg+xml",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".py": "text/x-python",
  ".sh": "application/x-sh",
};

const BINARY_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
};

/** A media type from the file name; unknown names fall back to plain text or raw bytes. */
export function mediaTypeOf(filePath: string, binary: boolean): string {
  const ext = path.posix.extname(filePath).toLowerCase();
  if (binary) return BINARY_TYPES[ext] ?? "application/octet-stream";
  return TEXT_TYPES[ext] ?? "text/plain";
}

/**
 * The raw bytes of a file of the folder, or undefined when it has no such file. Text files
 * are kept only when their UTF-8 re-encodes byte for byte (see readSkillFolder), so
 * encoding them again gives exactly the bytes on disk.
 */
export function skillFileBytes(folder: SkillFolder, filePath: string): Buffer | undefined {
  const binary = folder.binaries[filePath];
  if (binary !== undefined) return Buffer.from(binary, "base64");
  const text = folder.files[filePath];
  return text === undefined ? undefined : Buffer.from(text, "utf8");
}

/** Every file of the folder with its size and digest: SKILL.md first, then by path. */
export function skillManifest(folder: SkillFolder): SkillFileEntry[] {
  const paths = [...Object.keys(folder.files), ...Object.keys(folder.binaries)].sort((a, b) =>
    a === "SKILL.md" ? -1 : b === "SKILL.md" ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  return paths.map((filePath) => {
    const bytes = skillFileBytes(folder, filePath) ?? Buffer.alloc(0);
    const binary = folder.binaries[filePath] !== undefined;
    return {
      path: filePath,
      size: bytes.length,
      digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
      mediaType: mediaTypeOf(filePath, binary),
      binary,
    };
  });
}
