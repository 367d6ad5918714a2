import { describe, expect, it } from "vitest";
import { auditDraft, describeAudit } from "../../src/consolidation/audit.js";
import type { ProvenanceEntry } from "../../src/skill/types.js";
import { finaliseTrajectory, TrajectoryDraftSchema, type Trajectory } from "../../src/trajectory/schema.js";

function run(text: string): Trajectory {
  return finaliseTrajectory(TrajectoryDraftSchema.parse({ task: "t", steps: [{ role: "user", text }] }));
}

const a = run("Book flight HAT030 for order 4471 and write notes.md");
const b = run("Book another flight and check the fare rules");
const c = run("Cancel the trip");
const runs = new Map([a, b, c].map((t) => [t.id, t]));
const entry = (excerpt: string, support: string[], op = "append_to_section"): ProvenanceEntry => ({ file: "SKILL.md", excerpt, op, lessonIds: [], support });

describe("the over-fitting audit of a draft", () => {
  it("finds literals that only one supporting run has, passages of one run, and thin changes to the base", () => {
    const audit = auditDraft(
      [
        entry("- Prefer flight HAT030 and keep notes in `notes.md`.", [a.id, b.id]),
        entry("- Check the fare rules before booking.", [a.id, b.id]),
        entry("- Cancel only after reading the policy.", [c.id]),
        entry("- Always transfer.", [a.id, b.id], "replace_in_section"),
      ],
      runs,
    );
    expect(audit.singleRunLiterals.map((l) => l.literal).sort()).toEqual(["HAT030", "notes.md"]);
    expect(audit.singleRunLiterals.every((l) => l.trajectoryId === a.id)).toBe(true);
    expect(audit.singleSupport).toEqual([{ file: "SKILL.md", excerpt: "- Cancel only after reading the policy.", trajectoryId: c.id }]);
    expect(audit.thinChanges).toEqual([{ file: "SKILL.md", op: "replace_in_section", excerpt: "- Always transfer.", support: 2 }]);
    expect(describeAudit(audit)).toMatch(/2 literal\(s\) seen in only one supporting run .*1 passage\(s\) backed by a single run.*1 change\(s\) to the base/);
  });

  it("says nothing about a clean draft", () => {
    const audit = auditDraft([entry("- Check the fare rules before booking.", [a.id, b.id])], runs);
    expect(audit).toEqual({ singleRunLiterals: [], singleSupport: [], thinChanges: [] });
    expect(describeAudit(audit)).toBeNull();
  });
});
