import { normRuleText as norm } from "../skill/rule-text.js";
import type { ProvenanceEntry, SkillFolder } from "../skill/types.js";

/**
 * A rule keeps its provenance across versions (issue 12, item 4, first part): when a version is
 * evolved from a base, every rule of the base whose text is still in the new version keeps its
 * provenance entry there, marked with the version that added it (`since`). Each rule of any
 * version so traces back to the runs, and their diagnoses, that put it there.
 */

export function inheritProvenance(
  baseVersion: number,
  baseProvenance: readonly ProvenanceEntry[],
  folder: SkillFolder,
  fresh: readonly ProvenanceEntry[],
): ProvenanceEntry[] {
  const seen = new Set(fresh.map((p) => `${p.file}\u0000${norm(p.excerpt)}`));
  const texts = new Map<string, string>();
  const textOf = (file: string) => {
    if (!texts.has(file)) texts.set(file, norm(folder.files[file] ?? ""));
    return texts.get(file) as string;
  };
  const inherited: ProvenanceEntry[] = [];
  for (const entry of baseProvenance) {
    const probe = norm(entry.excerpt).slice(0, 80);
    const key = `${entry.file}\u0000${norm(entry.excerpt)}`;
    if (probe.length < 8 || seen.has(key) || !textOf(entry.file).includes(probe)) continue;
    seen.add(key);
    inherited.push({ ...entry, since: entry.since ?? baseVersion });
  }
  return [...fresh, ...inherited];
}
