import { describe, expect, it } from "vitest";
import type { Edit, Patch } from "../../src/analysis/schema.js";
import { applyPatch } from "../../src/consolidation/apply.js";
import { checkPatch } from "../../src/consolidation/guards.js";
import { placeEdits, placementThresholds, slugify } from "../../src/consolidation/placement.js";
import type { SkillFolder } from "../../src/skill/types.js";

const base: SkillFolder = {
  name: "airline",
  files: {
    "SKILL.md": "---\nname: airline\ndescription: Book flights. Use for airline support.\n---\n# Airline\n\n## Rules\n\n- Be polite.\n\n## Baggage\n\nBags are weighed.\n",
    "references/fares.md": "# Fare classes\n\nEconomy and business.\n",
  },
  binaries: {},
};

const ids = (n: number, prefix = "t") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const append = (section: string, content: string, support: string[]): Edit => ({
  op: "append_to_section",
  file: "SKILL.md",
  section,
  content,
  support,
  lessonIds: [`L-${content.length}`],
});
const patch = (...edits: Edit[]): Patch => ({ edits, changelog: [] });

describe("placement thresholds", () => {
  it("defaults to min support 2 and max(min, 10% of trajectories) for SKILL.md", () => {
    expect(placementThresholds({ totalTrajectories: 100 })).toEqual({ minSupport: 2, referenceSupport: 10 });
    expect(placementThresholds({ totalTrajectories: 5 })).toEqual({ minSupport: 2, referenceSupport: 2 });
    expect(placementThresholds({ totalTrajectories: 100, minSupport: 3, referenceSupport: 20 })).toEqual({ minSupport: 3, referenceSupport: 20 });
    expect(() => placementThresholds({ totalTrajectories: 10, minSupport: 0 })).toThrow(/min_support/);
  });
  it("slugifies topics into file names", () => {
    expect(slugify("Fare Classes & Upgrades!")).toBe("fare-classes-upgrades");
    expect(slugify("!!!")).toBe("notes");
  });
});

describe("placeEdits", () => {
  it("keeps well-supported edits, drops one-offs (listed) and moves rare ones to a linked reference file", () => {
    const common = append("Rules", "- Confirm identity first.", ids(12));
    const rare = append("Baggage", "- Oversized bags need a fee quote.", ids(4, "r"));
    const rare2: Edit = { op: "insert_after", file: "SKILL.md", anchor: "Bags are weighed.", content: "Weigh twice when close to the limit.", support: ids(3, "s"), lessonIds: ["L9"] };
    const oneOff = append("Rules", "- Something seen once.", ["x"]);
    const result = placeEdits(patch(common, rare, rare2, oneOff), { base, totalTrajectories: 100 });

    expect(result.dropped).toEqual([{ edit: oneOff, reason: "support 1 is below the minimum of 2" }]);
    expect(result.patch.edits[0]).toBe(common);
    expect(result.moved.map((m) => m.to)).toEqual(["references/baggage.md", "references/baggage.md"]);
    const create = result.patch.edits.find((e) => e.op === "create_file");
    expect(create).toMatchObject({ file: "references/baggage.md", support: [...ids(4, "r"), ...ids(3, "s")].sort() });
    const moved = result.patch.edits.filter((e) => e.file === "references/baggage.md" && e.op === "append_to_section");
    expect(moved.map((e) => e.support)).toEqual([ids(4, "r"), ids(3, "s")]);
    expect(result.evidence.map((e) => e.placement)).toEqual(["skill", "reference", "reference", "dropped"]);

    // After the guards pair the new file with its link and the patch is applied, SKILL.md links it.
    const guarded = checkPatch(result.patch, base, { expectedById: new Map() });
    expect(guarded.violations).toEqual([]);
    const applied = applyPatch(base, guarded.patch);
    expect(applied.skipped).toEqual([]);
    expect(applied.folder.files["SKILL.md"]).toMatch(/\[references\/baggage\.md\]\(references\/baggage\.md\): Read when/);
    expect(applied.folder.files["references/baggage.md"]).toContain("- Oversized bags need a fee quote.");
    expect(applied.folder.files["references/baggage.md"]).toContain("Weigh twice");
  });

  it("links a new reference with a line that says when to read it: before the tools its rules are about", () => {
    const rare = append("Pitfalls", "- Before calling `book_reservation`, check the payment total.", ids(4, "r"));
    const rare2 = append("Pitfalls", "- `update_reservation_flights` fails when seats ran out.", ids(3, "s"));
    const result = placeEdits(patch(append("Rules", "- Confirm identity first.", ids(12)), rare, rare2), { base, totalTrajectories: 100 });
    const create = result.patch.edits.find((e) => e.op === "create_file");
    expect(create && "linkText" in create ? create.linkText : "").toBe(
      "Read before calling `book_reservation` or `update_reservation_flights`: less common cases, each seen in only a few runs.",
    );
  });

  it("appends rare edits to an existing reference file of that topic", () => {
    const rare = append("Fares", "- Upgrades cost the fare difference.", ids(3));
    const result = placeEdits(patch(rare), { base, totalTrajectories: 100 });
    expect(result.patch.edits).toEqual([{ ...rare, file: "references/fares.md", section: "Fare classes" }]);
  });

  it("keeps rewrites and deletions in place whatever their support (above the minimum)", () => {
    const rewrite: Edit = { op: "replace_in_section", file: "SKILL.md", section: "Rules", find: "- Be polite.", replace: "- Be brief.", support: ids(3), lessonIds: [] };
    const result = placeEdits(patch(rewrite), { base, totalTrajectories: 100 });
    expect(result.patch.edits).toEqual([rewrite]);
    expect(result.evidence[0]?.placement).toBe("in-place");
  });

  it("counts success and failure evidence alike and reports both", () => {
    const edit = append("Rules", "- Confirm identity first.", ["a", "b", "c"]);
    const outcomes = new Map<string, boolean | null>([["a", true], ["b", false], ["c", null]]);
    const result = placeEdits(patch(edit), { base, totalTrajectories: 3, outcomes });
    expect(result.evidence[0]).toMatchObject({ support: 3, successes: 1, failures: 1, unknown: 1, placement: "skill" });
  });
});
