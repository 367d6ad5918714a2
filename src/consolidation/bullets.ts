import type { BulletSupport, Edit } from "../analysis/schema.js";

/**
 * Support bullet by bullet. A merge may gather bullets from different runs into one list; the
 * edit's support is then the union, which lets one well-backed bullet carry one-offs past the
 * minimum. When the merger says which inputs each bullet comes from, code keeps the support of
 * each bullet, drops the thin ones, and traces each bullet to its own runs.
 */

const BULLET = /^\s*(?:[-*+]|\d+[.)])\s+/;

/** The text an edit adds, where a list of bullets can live. */
export function addedText(edit: Edit): string | null {
  if (edit.op === "replace_in_section") return edit.replace;
  if ("content" in edit && typeof edit.content === "string") return edit.content;
  return null;
}

function withAddedText(edit: Edit, text: string): Edit {
  if (edit.op === "replace_in_section") return { ...edit, replace: text };
  return { ...edit, content: text } as Edit;
}

function normalise(s: string): string {
  return s.replace(/[`*_]/g, "").replace(/\s+/g, " ").trim().replace(/[.!?:;,]+$/, "").toLowerCase();
}

/** The bullets of a text: each one's lines (a bullet runs until the next bullet or a blank line). */
export function bulletsOf(text: string): { start: number; end: number; text: string }[] {
  const lines = text.split("\n");
  const out: { start: number; end: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!BULLET.test(line)) continue;
    let end = i + 1;
    while (end < lines.length && (lines[end] as string).trim() !== "" && !BULLET.test(lines[end] as string) && /^\s/.test(lines[end] as string)) end++;
    out.push({ start: i, end, text: lines.slice(i, end).join(" ").replace(BULLET, "") });
    i = end - 1;
  }
  return out;
}

/** Index of the bullet of `text` that starts with `opening` (markup and case aside), or -1. */
export function findBullet(text: string, opening: string): number {
  const want = normalise(opening.replace(BULLET, ""));
  if (want === "") return -1;
  return bulletsOf(text).findIndex((b) => normalise(b.text).startsWith(want));
}

/**
 * Support of the bullet `opening` in an input edit: the matching bullet's own support when the
 * input kept support per bullet; the input's whole support when the bullet is in its text (or
 * its text is not a list); nothing when its list does not hold that bullet.
 */
export function bulletSupportIn(input: Edit, opening: string): string[] {
  const want = normalise(opening.replace(BULLET, ""));
  const matches = (have: string) => {
    const h = normalise(have);
    return h.startsWith(want) || want.startsWith(h);
  };
  if (input.bullets && input.bullets.length > 0) return input.bullets.find((b) => matches(b.text))?.support ?? [];
  const text = addedText(input);
  const listed = text === null ? [] : bulletsOf(text);
  if (listed.length === 0) return input.support;
  return listed.some((b) => matches(b.text)) ? input.support : [];
}

/**
 * Drop the bullets whose own support is under `minSupport`. The edit that is left carries the
 * union of its kept bullets' support; null when no bullet was kept, or the list was all it had.
 */
export function dropThinBullets(edit: Edit, minSupport: number): { edit: Edit | null; dropped: BulletSupport[] } {
  const text = addedText(edit);
  if (!edit.bullets || edit.bullets.length === 0 || text === null) return { edit, dropped: [] };
  const thin = edit.bullets.filter((b) => new Set(b.support).size < minSupport);
  if (thin.length === 0) return { edit, dropped: [] };
  const found = bulletsOf(text);
  const cut = new Set<number>();
  for (const b of thin) {
    const i = findBullet(text, b.text);
    const bullet = found[i];
    if (bullet) for (let l = bullet.start; l < bullet.end; l++) cut.add(l);
  }
  const kept = edit.bullets.filter((b) => !thin.includes(b));
  const rest = text
    .split("\n")
    .filter((_, i) => !cut.has(i))
    .join("\n");
  if (kept.length === 0 || bulletsOf(rest).length === 0) return { edit: null, dropped: thin };
  const support = [...new Set(kept.flatMap((b) => b.support))].sort();
  return { edit: { ...withAddedText(edit, rest), support, bullets: kept }, dropped: thin };
}
