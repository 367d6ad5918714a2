import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  acceptCoverage,
  checkHoldout,
  coverageInstructions,
  describeHoldout,
  heuristicHoldout,
  selectHoldout,
} from "../../src/holdout/coverage.js";
import type { SkillFolder } from "../../src/skill/types.js";
import { TrajectoryDraftSchema, trajectoryId, type Trajectory } from "../../src/trajectory/schema.js";
import { fakeModel, startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.js";

const skill = (body: string, extra: Record<string, string> = {}): SkillFolder => ({
  name: "airline",
  files: { "SKILL.md": `---\nname: airline\ndescription: Serve airline customers within policy. Use for bookings.\n---\n# Airline\n\n${body}`, ...extra },
  binaries: {},
});

const base = skill("## Rules\n\n- Confirm the user's identity first.\n");
const draft = skill("## Rules\n\n- Confirm the user's identity first.\n- Add up the payment methods before calling `book_reservation`; they must equal the total.\n", {
  "references/payments.md": "# Payments\n\n- `book_reservation` returned the error \"Error: payment amount does not add up, total price is <n>, but paid <n>\" in 8 runs.\n",
});

function run(task: string, error?: string): Trajectory {
  const draftRun = TrajectoryDraftSchema.parse({
    skill: "airline",
    task,
    steps: [
      { role: "user", text: task },
      { role: "assistant", toolCalls: [{ id: "c1", name: "book_reservation", arguments: { amount: 100 } }] },
      { role: "tool", toolResult: { callId: "c1", name: "book_reservation", content: error ?? "ok", isError: error !== undefined } },
    ],
    outcome: { success: false },
  });
  return { ...draftRun, id: trajectoryId(draftRun), createdAt: "2026-11-29T00:00:00Z" };
}

describe("which failures are held out", () => {
  const ids = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(64, "0"));

  it("holds out nothing under 10 failures, or with a share of 0", () => {
    expect(selectHoldout(ids.slice(0, 9))).toEqual([]);
    expect(selectHoldout(ids, 0)).toEqual([]);
  });

  it("holds out a fifth by default, the same runs whatever their order", () => {
    const chosen = selectHoldout(ids);
    expect(chosen).toHaveLength(4);
    expect(selectHoldout([...ids].reverse())).toEqual(chosen);
    expect(selectHoldout(ids, 0.5)).toHaveLength(10);
    // Adding failures keeps most of the earlier choice (by hash, not by position).
    const more = Array.from({ length: 30 }, (_, i) => i.toString(16).padStart(64, "0"));
    expect(selectHoldout(more).filter((id) => chosen.includes(id)).length).toBeGreaterThanOrEqual(2);
  });

  it("refuses a share outside 0 to 0.5 with a message that says what is allowed", () => {
    expect(() => selectHoldout(ids, 0.8)).toThrow(/between 0 and 0\.5/);
    expect(() => selectHoldout(ids, Number.NaN)).toThrow(/between 0 and 0\.5/);
  });
});

describe("a coverage verdict", () => {
  it("credits a rule only when it is written in the version, and names its file", () => {
    const yes = acceptCoverage({ cause: "The payments did not add up.", verdict: "yes", rule: "Add up the payment methods before calling `book_reservation`; they must equal the total.", file: "" }, draft, true);
    expect(yes).toMatchObject({ verdict: "yes", file: "SKILL.md" });
    const invented = { cause: "The payments did not add up.", verdict: "yes" as const, rule: "Always ask for a second card before booking.", file: "SKILL.md" };
    // An agent is told to copy the rule; a model's unverifiable credit counts as no.
    expect(() => acceptCoverage(invented, draft, true)).toThrow(/not in the skill: copy one sentence or bullet exactly/);
    expect(acceptCoverage(invented, draft, false)).toMatchObject({ verdict: "no", cause: expect.stringMatching(/credited a rule that is not in the skill/) });
    expect(acceptCoverage({ cause: "The user changed their mind.", verdict: "not-agent", rule: "x", file: "y" }, draft, true)).toEqual({
      verdict: "not-agent",
      cause: "The user changed their mind.",
      rule: "",
      file: "",
    });
  });

  it("shows the judge every file of the version it checks", () => {
    const text = coverageInstructions(draft, "draft");
    expect(text).toContain('<skill file="references/payments.md">');
    expect(text).toMatch(/held out: the skill was NOT made from it/);
  });
});

describe("the held-out check", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("asks the model about each failure against base and draft separately, and sets them side by side", async () => {
    const runs = [run("Book a flight and pay with two cards", "Error: payment amount does not add up, total price is 300, but paid 200"), run("Book a trip for my mother")];
    fake.script((body) => {
      const system = body.messages[0]?.content ?? "";
      const user = body.messages[1]?.content ?? "";
      const isDraft = system.includes("(the draft)");
      if (user.includes("two cards") && isDraft) {
        return { json: { cause: "The payments did not add up to the total.", verdict: "yes", rule: "Add up the payment methods before calling `book_reservation`; they must equal the total.", file: "SKILL.md" } };
      }
      if (user.includes("mother") && !isDraft) return { status: 500, message: "boom" };
      return { json: { cause: "The agent booked without checking the total.", verdict: "no", rule: "", file: "" } };
    });
    const { report, usage } = await checkHoldout({ base, draft, trajectories: runs, model: fakeModel(fake) });
    expect(report.judge).toBe("openai-compatible");
    expect(report.base).toEqual({ yes: 0, partly: 0, no: 1, notAgent: 0, unknown: 1 });
    expect(report.draft).toEqual({ yes: 1, partly: 0, no: 1, notAgent: 0, unknown: 0 });
    expect(report.failed).toEqual([{ trajectoryId: runs[1]!.id, version: "base", error: expect.stringMatching(/500|boom/) }]);
    expect(usage.calls).toBe(3);
    expect(describeHoldout(report)).toMatch(/^Held-out check \(2 failed run\(s\) kept out of the evolve, judged by openai-compatible\): base 0 addressed, 0 partly, 1 unknown; draft 1 addressed, 0 partly of 2; 1 check\(s\) could not be made\.$/);
  });

  it("without a model, credits only a rule that quotes the failure's tool error, and calls the rest unknown", () => {
    const runs = [run("Pay with two cards", "Error: payment amount does not add up, total price is 310, but paid 10"), run("Book for my mother")];
    const report = heuristicHoldout(base, draft, runs);
    expect(report.judge).toMatch(/heuristic/);
    expect(report.base).toMatchObject({ yes: 0, unknown: 2, no: 0 });
    expect(report.draft).toMatchObject({ yes: 1, unknown: 1, no: 0 });
    const credited = report.runs.find((r) => r.draft.verdict === "yes");
    expect(credited?.draft.file).toBe("references/payments.md");
    expect(credited?.draft.rule).toMatch(/payment amount does not add up/);
  });
});

describe("what the heuristic's held-out check may claim (review, session 3)", () => {
  it("does not set an error-text match beside the base as if it were a measured gain", () => {
    const runs = [run("Pay with two cards", "Error: payment amount does not add up, total price is 310, but paid 10")];
    const text = describeHoldout(heuristicHoldout(base, draft, runs));
    expect(text).toMatch(/quote/);
    expect(text).toMatch(/not a measured gain|cannot credit/);
    expect(text).not.toMatch(/base 0 addressed/);
  });
});
