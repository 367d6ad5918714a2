import { describe, expect, it } from "vitest";
import { processReply } from "../../src/analysis/analysts.js";
import type { AnalysisReply, RuleVerdict } from "../../src/analysis/schema.js";
import { applyPatch } from "../../src/consolidation/apply.js";
import { describeRetirements, retirementPatch, settleRetirements, weighRules, type RunVerdicts } from "../../src/evolution/retirement.js";
import { locateRule } from "../../src/skill/rule-text.js";
import type { ProvenanceEntry, SkillFolder } from "../../src/skill/types.js";
import type { Trajectory } from "../../src/trajectory/schema.js";

/** Issue 12, item 4: rules whose supporting runs later contrary evidence outweighs are proposed for retirement. */

const BAD = "- Take the user id from the reservation when the customer does not know it.";
const GOOD = "- Check the gift card balance before paying with it.";
const HAND = "- Greet the customer by name.";

const folder = (...bullets: string[]): SkillFolder => ({
  name: "airline",
  files: { "SKILL.md": `---\nname: airline\ndescription: d\n---\n# Airline\n\n## Rules\n\n${HAND}\n${bullets.join("\n")}\n\n## Tools\n\n- Use the calculator.\n` },
  binaries: {},
});

const rule = (excerpt: string, support: string[], since?: number): ProvenanceEntry => ({
  file: "SKILL.md",
  excerpt,
  op: "append_to_section",
  lessonIds: [],
  support,
  ...(since !== undefined ? { since } : {}),
});

const verdict = (quote: string, effect: "misled" | "helped"): RuleVerdict => ({ quote, effect, why: "Step #3 shows it.", file: "SKILL.md" });
const misledRun = (id: string, usedVersion: number | null, quote = BAD): RunVerdicts => ({ trajectoryId: id, usedVersion, verdicts: [verdict(quote, "misled")] });

const base = { version: 3, folder: folder(BAD, GOOD) };
const rules = [rule(BAD, ["s1", "s2"], 2), rule(GOOD, ["g1", "g2"], 2)];
const heldFrom2 = (version: number) => version >= 2;

describe("weighing the base's learned rules", () => {
  it("proposes a rule whose later misled runs outnumber its support and the runs it helped", () => {
    const runs = [misledRun("f1", 2), misledRun("f2", 3), misledRun("f3", 3), misledRun("f4", 3)];
    runs.push({ trajectoryId: "ok1", usedVersion: 3, verdicts: [verdict(BAD, "helped")] });
    const [bad] = weighRules({ base, rules, runs, held: heldFrom2, minSupport: 2 });
    expect(bad).toMatchObject({ excerpt: BAD, since: 2, support: ["s1", "s2"], misled: ["f1", "f2", "f3", "f4"], helped: ["ok1"], proposed: true });
  });

  it("keeps a rule whose misled runs do not outweigh its support plus the runs it helped", () => {
    const runs = [misledRun("f1", 3), misledRun("f2", 3), misledRun("f3", 3), { trajectoryId: "ok1", usedVersion: 3, verdicts: [verdict(BAD, "helped")] }];
    const [bad] = weighRules({ base, rules, runs, held: heldFrom2, minSupport: 2 });
    expect(bad).toMatchObject({ misled: ["f1", "f2", "f3"], helped: ["ok1"], proposed: false });
  });

  it("counts only runs that had the rule: unknown versions, versions without it and its own supporting runs are left out", () => {
    const runs = [misledRun("f1", null), misledRun("f2", 1), misledRun("s1", 3), misledRun("f4", 3), misledRun("f5", 3)];
    const [bad] = weighRules({ base, rules, runs, held: heldFrom2, minSupport: 2 });
    expect(bad).toMatchObject({ misled: ["f4", "f5"], uncounted: 3, proposed: false });
  });

  it("needs the minimum support of misled runs even against a rule with little support", () => {
    const thin = [rule(BAD, [], 2)];
    const [one] = weighRules({ base, rules: thin, runs: [misledRun("f1", 3)], held: heldFrom2, minSupport: 2 });
    expect(one?.proposed).toBe(false);
    const [two] = weighRules({ base, rules: thin, runs: [misledRun("f1", 3), misledRun("f2", 3)], held: heldFrom2, minSupport: 2 });
    expect(two?.proposed).toBe(true);
  });

  it("never proposes a rule without provenance (a person's rule), whatever the verdicts", () => {
    const runs = ["f1", "f2", "f3", "f4", "f5"].map((id) => misledRun(id, 3, HAND));
    expect(weighRules({ base, rules, runs, held: () => true, minSupport: 2 })).toEqual([]);
  });

  it("matches a quote to its rule whatever its list mark, emphasis or case", () => {
    const quote = "take the user id from the RESERVATION when the customer does not know it";
    const runs = ["f1", "f2", "f3"].map((id) => misledRun(id, 3, quote));
    const [bad] = weighRules({ base, rules, runs, held: heldFrom2, minSupport: 2 });
    expect(bad?.misled).toEqual(["f1", "f2", "f3"]);
  });
});

describe("the retirement patch", () => {
  const runs = ["f1", "f2", "f3"].map((id) => misledRun(id, 3));
  const weighed = weighRules({ base, rules, runs, held: heldFrom2, minSupport: 2 });

  it("is one delete edit per proposed rule, backed by the runs it misled, that applies cleanly", () => {
    const patch = retirementPatch(base.folder, weighed);
    expect(patch?.edits).toEqual([
      { op: "replace_in_section", file: "SKILL.md", section: "## Rules", find: `${BAD}\n`, replace: "", support: ["f1", "f2", "f3"], lessonIds: [] },
    ]);
    const applied = applyPatch(base.folder, patch ?? { edits: [], changelog: [] });
    const text = applied.folder.files["SKILL.md"] ?? "";
    expect(text).not.toContain("Take the user id");
    expect(text).toContain(`${HAND}\n${GOOD}\n`);
    expect(applied.provenance[0]?.excerpt).toBe(`(removed) ${BAD}`);
  });

  it("says in the changelog whether the draft retired the rule or kept it", () => {
    const retired = settleRetirements(weighed, { ...base.folder, files: { "SKILL.md": base.folder.files["SKILL.md"]!.replace(`${BAD}\n`, "") } });
    expect(retired[0]?.retired).toBe(true);
    expect(describeRetirements(retired)[0]).toMatch(/^Retire ".*Take the user id.*" \(since v2\): 3 later run\(s\) it misled outweigh 2 supporting run\(s\)\./);
    const kept = settleRetirements(weighed, base.folder);
    expect(describeRetirements(kept)[0]).toMatch(/^Kept, though proposed for retirement/);
  });

  it("takes a list item's continuation lines with it", () => {
    const wrapped: SkillFolder = { ...base.folder, files: { "SKILL.md": `# A\n\n## Rules\n\n- First line of a rule\n  that goes on here.\n- Next rule stays.\n` } };
    expect(locateRule(wrapped, "First line of a rule")).toEqual({ file: "SKILL.md", block: "- First line of a rule\n  that goes on here.\n", section: "## Rules" });
  });
});

describe("an analyst's verdicts on rules", () => {
  const run = (success: boolean): Trajectory =>
    ({
      id: "t1",
      schemaVersion: 1,
      source: { format: "canonical" },
      task: "x",
      steps: [{ role: "agent", text: "a" }],
      outcome: { success, score: null, feedback: null, expected: null },
      skill: "airline",
      skillVersion: 3,
      tags: [],
      createdAt: "2026-01-01T00:00:00Z",
    }) as unknown as Trajectory;
  const reply = (verdicts: AnalysisReply["ruleVerdicts"]): AnalysisReply => ({
    diagnosis: { rootCause: "The agent followed a wrong rule.", firstWrongStep: 0 },
    lessons: [],
    edits: [],
    changelog: [],
    ruleVerdicts: verdicts,
  });

  it("keeps a verdict whose quote is in the base, with its file", () => {
    const out = processReply(reply([{ quote: BAD.slice(2), effect: "misled", why: "Step #0 took the id from the booking." }]), run(false), base.folder);
    expect(out.ruleVerdicts).toEqual([{ quote: BAD.slice(2), effect: "misled", why: "Step #0 took the id from the booking.", file: "SKILL.md" }]);
  });

  it("drops a quote the base does not hold, and a verdict that does not fit the outcome, saying why", () => {
    const out = processReply(
      reply([
        { quote: "Always refund the full amount at once.", effect: "misled", why: "Step #0 refunded too much." },
        { quote: GOOD.slice(2), effect: "helped", why: "Step #0 checked the balance." },
      ]),
      run(false),
      base.folder,
    );
    expect(out.ruleVerdicts).toEqual([]);
    expect(out.dropped.join("\n")).toMatch(/no such rule in the base skill/);
    expect(out.dropped.join("\n")).toMatch(/help only in a successful one/);
  });
});

describe("an edit that restates the skill (review of session 4)", () => {
  it("adds only the lines the skill does not have yet, and is skipped when it has them all", () => {
    const append = (content: string) => ({ op: "append_to_section" as const, file: "SKILL.md", section: "Tools", content, support: ["a", "b"], lessonIds: [] });
    const out = applyPatch(base.folder, { edits: [append(`${GOOD}\n- A genuinely new rule about refunds.`), append(`- **${BAD.slice(2)}**`)], changelog: [] });
    const text = out.folder.files["SKILL.md"] ?? "";
    expect(text.split(GOOD).length - 1).toBe(1);
    expect(text).toContain("- A genuinely new rule about refunds.");
    expect(out.applied[0]?.op === "append_to_section" && out.applied[0].content).toBe("- A genuinely new rule about refunds.");
    expect(out.skipped.map((s) => s.reason)).toEqual([expect.stringMatching(/^already in the skill/)]);
  });
});

describe("finding the rule to retire (review, session 4)", () => {
  it("takes the line that is the rule, not a person's line that quotes it or a shorter line it starts with", () => {
    const folder: SkillFolder = {
      name: "s",
      files: {
        "SKILL.md":
          "# S\n\n## Rules\n\n- Always check the fare rules before any refund. Never waive a fee yourself.\n- Refunds need care:\n- Check the fare rules before any refund.\n- Refunds need care: confirm the payment method first.\n",
      },
      binaries: {},
    };
    expect(locateRule(folder, "- Check the fare rules before any refund.")?.block).toBe("- Check the fare rules before any refund.\n");
    expect(locateRule(folder, "- Refunds need care: confirm the payment method first.")?.block).toBe("- Refunds need care: confirm the payment method first.\n");
    // An excerpt cut short (provenance keeps first lines, "…") still finds its whole line.
    expect(locateRule(folder, "- Refunds need care: confirm the pay…")?.block).toBe("- Refunds need care: confirm the payment method first.\n");
  });
});

describe("the restated-line guard keeps what is new (review, session 4)", () => {
  const skill: SkillFolder = {
    name: "s",
    files: {
      "SKILL.md": "# S\n\n## Fees\n\n| Fare class | Change fee (USD) |\n|---|---|\n| basic | 75 |\n\n```sh\ncurl -s https://api.example/fees\n```\n\n## Rules\n\n- Move this rule to the fees section please.\n",
    },
    binaries: {},
  };
  const edit = (content: string, section = "Fees") => ({ op: "append_to_section" as const, file: "SKILL.md", section, content, support: ["a", "b"], lessonIds: [] });

  it("leaves a new table's header row and a new code block's lines alone", () => {
    const out = applyPatch(skill, { edits: [edit("| Fare class | Change fee (USD) |\n|---|---|\n| economy | 100 |"), edit("```sh\ncurl -s https://api.example/fees\n```")], changelog: [] });
    const text = out.folder.files["SKILL.md"] ?? "";
    expect(text.split("| Fare class | Change fee (USD) |").length - 1).toBe(2);
    expect(text.split("curl -s https://api.example/fees").length - 1).toBe(2);
    expect(out.skipped).toEqual([]);
  });

  it("moves a rule: the copy is added where the same patch removes the original", () => {
    const move = [
      edit("- Move this rule to the fees section please."),
      { op: "replace_in_section" as const, file: "SKILL.md", section: "Rules", find: "- Move this rule to the fees section please.\n", replace: "", support: ["a", "b"], lessonIds: [] },
    ];
    const out = applyPatch(skill, { edits: move, changelog: [] });
    const text = out.folder.files["SKILL.md"] ?? "";
    expect(text.split("- Move this rule to the fees section please.").length - 1).toBe(1);
    expect(text.indexOf("Move this rule")).toBeLessThan(text.indexOf("## Rules"));
  });
});

describe("re-test of session 4", () => {
  it("prefers the line closest to the rule when a person's line starts with it too", () => {
    const folder: SkillFolder = {
      name: "s",
      files: { "SKILL.md": "# S\n\n## Team notes\n\n- Always confirm the booking with the customer. Exception agreed with legal: none.\n\n## Rules\n\n- Always confirm the booking with the customer.\n" },
      binaries: {},
    };
    expect(locateRule(folder, "- Always confirm the booking with the customer.")?.section).toBe("## Rules");
    expect(locateRule(folder, "- Always confirm the booking with the cust…")?.section).toBe("## Rules");
  });

  it("drops a restated bullet with its continuation lines, not leaving them under another rule", () => {
    const skill: SkillFolder = { name: "s", files: { "SKILL.md": "# S\n\n## Rules\n\n- Verify the user's identity before any change.\n" }, binaries: {} };
    const out = applyPatch(skill, {
      edits: [{ op: "append_to_section", file: "SKILL.md", section: "Rules", content: "- Verify the user's identity before any change.\n  Reason: the policy requires it.\n- A new rule about refunds to check.", support: ["a", "b"], lessonIds: [] }],
      changelog: [],
    });
    const text = out.folder.files["SKILL.md"] ?? "";
    expect(text).not.toContain("Reason: the policy requires it.");
    expect(text).toContain("- A new rule about refunds to check.");
  });
});
