import { holdsRule, normRuleText as norm } from "../skill/rule-text.js";
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
  const inherited: ProvenanceEntry[] = [];
  for (const entry of baseProvenance) {
    const key = `${entry.file}\u0000${norm(entry.excerpt)}`;
    if (seen.has(key) || !holdsRule(folder, entry.file, entry.excerpt)) continue;
    seen.add(key);
    inherited.push({ ...entry, since: entry.since ?? baseVersion });
  }
  return [...fresh, ...inherited];
}
