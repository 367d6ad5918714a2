import { realpath } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidInputError } from "./errors.js";

/**
 * A path a person or an agent typed, made into an absolute local path the way a shell would
 * read it: `~` and `~/…` are the home folder, a `file://` URL is its path. Anything that
 * cannot be a local path (a NUL byte, text that is not valid Unicode, another URL scheme, `~user`)
 * is refused with a message that says so, before any file is touched.
 */
export function resolveUserPath(input: string, label: string, cwd = process.cwd()): string {
  if (typeof input !== "string" || input.trim() === "") throw new InvalidInputError(`${label} is empty: give a folder path.`);
  if (input.includes("\0")) throw new InvalidInputError(`${label} contains a NUL byte, which no path can hold: give a plain folder path.`);
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(input)) throw new InvalidInputError(`${label} is not valid Unicode text (a lone surrogate): give a plain folder path.`);
  let p = input.trim();
  if (/^file:/i.test(p)) {
    try {
      p = fileURLToPath(new URL(p));
    } catch {
      throw new InvalidInputError(`${label} "${input}" is not a valid file:// URL: give a folder path such as /home/me/skills or ~/skills.`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) {
    throw new InvalidInputError(`${label} "${input}" is a URL, not a local path: give a folder on this machine.`);
  }
  if (p === "~" || p.startsWith("~/") || (path.sep === "\\" && p.startsWith("~\\"))) p = path.join(os.homedir(), p.slice(1));
  else if (/^~[^/\\]/.test(p)) throw new InvalidInputError(`${label} "${input}": ~user paths are not supported; give the full path.`);
  return path.resolve(cwd, p);
}

/** The real path of `p` (symlinks resolved), through its deepest existing ancestor when it does not exist yet. */
export async function realPathOf(p: string): Promise<string> {
  const missing: string[] = [];
  let current = path.resolve(p);
  for (;;) {
    try {
      return path.join(await realpath(current), ...missing.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
      const parent = path.dirname(current);
      if (parent === current) return path.join(current, ...missing.reverse());
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

/** Whether the real path of `target` is one of `roots` (also real) or inside one. */
export async function isInside(target: string, roots: readonly string[]): Promise<boolean> {
  const real = await realPathOf(target);
  for (const root of roots) {
    const realRoot = await realPathOf(root);
    if (real === realRoot || real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) return true;
  }
  return false;
}
