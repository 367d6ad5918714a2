import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildAnalystRequest, processReply } from "../../src/analysis/analysts.js";
import { analysisKey, analystConfig } from "../../src/analysis/run-analysis.js";
import { AnalysisReplySchema, type AnalysisReply } from "../../src/analysis/schema.js";
import { acceptAnalysisSubmission, analysisBrief, analysisWork, renderAnalysisInput } from "../../src/analysis/work-items.js";
import { scaffoldSkill } from "../../src/skill/scaffold.js";
import { ingestRaw } from "../../src/trajectory/ingest.js";
import { findSharedContext } from "../../src/trajectory/render.js";
import { InvalidInputError } from "../../src/util/errors.js";

const FIXTURE = new URL("../../fixtures/tau-bench/gpt-4o-airline.tasks-00-24.json", import.meta.url);
const { trajectories } = ingestRaw(readFileSync(FIXTURE, "utf8"), { format: "tau-bench", skill: "airline" });
const base = scaffoldSkill("airline", "Help airline customers book, change and cancel flights");
const failed = trajectories.find((t) => t.outcome.success === false)!;
const succeeded = trajectories.find((t) => t.outcome.success === true)!;

/** A literal of the failed run's ground truth, found by the test itself. */
const leakedId = /"(HAT\d{3})"/.exec(failed.outcome.expected ?? "")?.[1];

const reply: AnalysisReply = {
  diagnosis: { rootCause: `The agent proposed a flight that broke the user's time limit instead of ${leakedId}.`, firstWrongStep: 8 },
  lessons: [
    {
      kind: "failure-cause",
      title: "Check flight times against the user's constraints",
      rule: "Before proposing a flight, compare its departure time with every time constraint the user stated.",
      appliesWhen: "When searching and proposing flights",
      evidence: [{ trajectoryId: "whatever", stepIds: [8, 9] }],
      generalityNote: "Users often state time limits once, early.",
    },
    {
      kind: "domain-fact",
      title: `Prefer ${leakedId}`,
      rule: `The right flight is ${leakedId}, book that one for this user.`,
      appliesWhen: "Always",
      evidence: [{ trajectoryId: "whatever", stepIds: [1] }],
      generalityNote: "none",
    },
  ],
  edits: [{ op: "append_to_section", file: "SKILL.md", section: "Workflow", content: "- Compare flight times with the user's limits." }],
  changelog: [],
};

describe("agent-mode work items", () => {
  it("splits a model analyst's request into a brief shared by the stage and a small item per run", () => {
    const shared = findSharedContext(trajectories);
    const request = buildAnalystRequest(failed, base, { shared });
    const brief = analysisBrief("error", base, shared);
    expect(brief.instructions).toBe(request.instructions);
    expect(Object.keys(brief.responseSchema.properties as object)).toEqual(expect.arrayContaining(["lessons", "edits"]));
    const input = renderAnalysisInput(failed, "error", shared);
    expect(input.startsWith(request.rendered)).toBe(true);
    expect(input).toContain("for diagnosis only");
    // The shared context is in the brief once, not in each item.
    if (shared.blocks[0]) expect(input).not.toContain(shared.blocks[0].text);
    const work = analysisWork(failed, base);
    expect(work).toEqual({
      cacheKey: analysisKey({ trajectoryId: failed.id, base, config: analystConfig({ provider: "agent", model: "calling-agent", kind: "error" }) }),
      trajectoryId: failed.id,
      analyst: "error",
    });
    expect(analysisWork(succeeded, base)?.analyst).toBe("success");
    expect(renderAnalysisInput(succeeded, "success", shared)).not.toContain("ground truth");
    expect(analysisWork({ ...failed, outcome: { ...failed.outcome, success: null } }, base)).toBeNull();
  });

  it("accepts a filled reply and post-processes it exactly like a model's", () => {
    expect(leakedId).toBeDefined();
    const accepted = acceptAnalysisSubmission("item-1", JSON.parse(JSON.stringify(reply)), { trajectory: failed, base });
    expect(accepted).toEqual(processReply(AnalysisReplySchema.parse(reply), failed, base));
    expect(accepted.lessons).toHaveLength(1);
    expect(accepted.lessons[0]).toMatchObject({ support: [failed.id], evidence: [{ trajectoryId: failed.id, stepIds: [8, 9] }] });
    expect(accepted.dropped.join("\n")).toContain(`ground-truth value "${leakedId}"`);
    expect(accepted.patch.edits[0]).toMatchObject({ support: [failed.id], lessonIds: [accepted.lessons[0]!.id] });
    // The diagnosis is kept, with the ground-truth value masked.
    expect(accepted.diagnosis.firstWrongStep).toBe(8);
    expect(accepted.diagnosis.rootCause).toContain("<ground truth>");
    expect(accepted.diagnosis.rootCause).not.toContain(leakedId);
  });

  it("keeps an agent's verdict on a rule of the base, quote checked, and lists the field in the brief's schema", () => {
    const withRule = { ...base, files: { ...base.files, "SKILL.md": `${base.files["SKILL.md"] ?? ""}\n- Offer the earliest flight that fits first.\n` } };
    const verdict = { quote: "Offer the earliest flight that fits first.", effect: "misled", why: `Step #8 followed it and proposed ${leakedId}.` };
    const accepted = acceptAnalysisSubmission("item-1", { ...JSON.parse(JSON.stringify(reply)), ruleVerdicts: [verdict] }, { trajectory: failed, base: withRule });
    expect(accepted.ruleVerdicts).toEqual([{ ...verdict, why: "Step #8 followed it and proposed <ground truth>.", file: "SKILL.md" }]);
    expect(Object.keys(analysisBrief("error", base, findSharedContext(trajectories)).responseSchema.properties as object)).toContain("ruleVerdicts");
  });

  it("refuses a reply that does not match the schema, saying which field", () => {
    const broken = { lessons: [{ ...reply.lessons[0], kind: "vibes" }], edits: [] };
    expect(() => acceptAnalysisSubmission("item-1", broken, { trajectory: failed, base })).toThrow(InvalidInputError);
    expect(() => acceptAnalysisSubmission("item-1", broken, { trajectory: failed, base })).toThrow(/lessons\[0\]\.kind|kind/);
    expect(() => acceptAnalysisSubmission("item-1", "not an object", { trajectory: failed, base })).toThrow(InvalidInputError);
  });
});
