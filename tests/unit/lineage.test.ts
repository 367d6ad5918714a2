import { describe, expect, it } from "vitest";
import { inheritProvenance } from "../../src/evolution/lineage.js";
import type { ProvenanceEntry, SkillFolder } from "../../src/skill/types.js";

/** Issue 12, item 4 (first part): a rule keeps its provenance across versions. */

const entry = (excerpt: string, support: string[], extra: Partial<ProvenanceEntry> = {}): ProvenanceEntry => ({
  file: "SKILL.md",
  excerpt,
  op: "append_to_section",
  lessonIds: [],
  support,
  ...extra,
});

const folder = (body: string): SkillFolder => ({ name: "s", files: { "SKILL.md": `# S\n\n## Rules\n\n${body}` }, binaries: {} });

describe("rule lineage", () => {
  it("carries over the rules still in the new version, with the version that added them", () => {
    const base = [
      entry("- Check the balance before paying.", ["a", "b"]),
      entry("- Ask for the user id first.", ["c", "d"], { since: 2 }),
      entry("- A rule the review removed.", ["e", "f"]),
    ];
    const fresh = [entry("- Quote totals computed with the calculator.", ["g", "h"])];
    const next = folder("- Check the balance before paying.\n- Ask for the user id first.\n- Quote totals computed with the calculator.\n");
    const out = inheritProvenance(3, base, next, fresh);
    expect(out.map((p) => [p.excerpt, p.since ?? null])).toEqual([
      ["- Quote totals computed with the calculator.", null],
      ["- Check the balance before paying.", 3],
      ["- Ask for the user id first.", 2],
    ]);
    expect(out[1]?.support).toEqual(["a", "b"]);
  });

  it("does not count a rule twice when this evolve backed it again", () => {
    const base = [entry("- Check the balance before paying.", ["a"])];
    const fresh = [entry("- Check the balance before paying.", ["a", "z"])];
    const out = inheritProvenance(2, base, folder("- Check the balance before paying.\n"), fresh);
    expect(out).toEqual(fresh);
  });
});
