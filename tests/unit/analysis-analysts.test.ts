import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyseTrajectory, analystFor, buildAnalystRequest, processReply } from "../../src/analysis/analysts.js";
import type { AnalysisReply } from "../../src/analysis/schema.js";
import { OpenAICompatibleModel } from "../../src/llm/openai-compatible.js";
import { scaffoldSkill } from "../../src/skill/scaffold.js";
import { findSharedContext } from "../../src/trajectory/render.js";
import { finaliseTrajectory, TrajectoryDraftSchema, type Trajectory } from "../../src/trajectory/schema.js";
import { InvalidInputError } from "../../src/util/errors.js";
import { fakeModel, startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.js";

const POLICY = "Airline policy: always confirm before changing a booking. ".repeat(10);
const EXPECTED = JSON.stringify([{ name: "update_booking", kwargs: { booking_id: "ZX81QK", amount: 725 } }]);

function run(success: boolean | null, tag = "a"): Trajectory {
  return finaliseTrajectory(
    TrajectoryDraftSchema.parse({
      skill: "airline",
      task: `change my booking (${tag})`,
      steps: [
        { role: "system", text: POLICY },
        { role: "user", text: "Please move my booking ZX81QK to tomorrow." },
        { role: "assistant", toolCalls: [{ id: "c1", name: "update_booking", arguments: { booking_id: "ZX81QK" } }] },
        { role: "tool", toolResult: { callId: "c1", name: "update_booking", content: "Error: payment missing. " + "detail ".repeat(900), isError: true } },
        { role: "assistant", text: "Sorry, that did not work." },
      ],
      outcome: { success, expected: EXPECTED },
    }),
  );
}

const base = scaffoldSkill("airline", "Help airline customers change bookings within policy");

function reply(overrides: Partial<AnalysisReply> = {}): AnalysisReply {
  return {
    diagnosis: { rootCause: "The agent changed the flight without checking the cabin rules first.", firstWrongStep: 1 },
    lessons: [
      {
        kind: "failure-cause",
        title: "Confirm before changing a booking",
        rule: "List the change and get an explicit yes from the user before calling a booking-changing tool.",
        appliesWhen: "Before any call that changes a booking",
        evidence: [{ trajectoryId: "made-up-by-the-model", stepIds: [2, 3, 99] }],
        generalityNote: "Every write needs consent, whatever the booking.",
      },
    ],
    edits: [
      { op: "append_to_section", file: "SKILL.md", section: "Pitfalls", content: "- Confirm the change with the user before writing." },
      {
        op: "create_file",
        file: "references/payments.md",
        content: "# Payments\n\nCheck that a payment method is on file before a change that costs money.\n",
        linkText: "Read before any change that costs money",
      },
    ],
    changelog: ["Pitfalls: confirm before changing a booking"],
    ...overrides,
  };
}

let fake: FakeOpenAI;
let model: OpenAICompatibleModel;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  model = fakeModel(fake);
});
afterAll(async () => {
  await fake.close();
});

describe("analystFor", () => {
  it("picks the analyst from the outcome and refuses unknown outcomes with a reason", () => {
    expect(analystFor(run(false))).toEqual({ kind: "error" });
    expect(analystFor(run(true))).toEqual({ kind: "success" });
    expect(analystFor(run(null))).toMatchObject({ skip: expect.stringMatching(/no known outcome/) });
    expect(() => buildAnalystRequest(run(null), base)).toThrow(InvalidInputError);
  });
});

describe("analyseTrajectory against a fake OpenAI server", () => {
  it("asks the error analyst with the base skill, shared context and marked ground truth", async () => {
    fake.script([{ json: reply() }]);
    const before = fake.calls.count;
    const t = run(false);
    const shared = findSharedContext([t, run(true, "b")]);
    const result = await analyseTrajectory({ model, trajectory: t, base, shared });

    expect(fake.calls.count).toBe(before + 1);
    const body = fake.calls.bodies.at(-1)!;
    expect(body.response_format?.json_schema?.name).toBe("analysis");
    const [system, user] = body.messages;
    expect(system!.role).toBe("system");
    expect(system!.content).toContain("error analyst");
    expect(system!.content).toContain(base.files["SKILL.md"]);
    expect(system!.content).toContain(POLICY);
    expect(user!.content).toContain("[shared context S1 — shown once above]");
    expect(user!.content).not.toContain(POLICY);
    expect(user!.content).toMatch(/ground truth — for diagnosis only[^\n]*\n.*ZX81QK/);

    expect(result.kind).toBe("error");
    expect(result.lessons).toHaveLength(1);
    const lesson = result.lessons[0]!;
    expect(lesson.id).toMatch(/^lesson-[0-9a-f]{16}$/);
    expect(lesson.support).toEqual([t.id]);
    expect(lesson.evidence).toEqual([{ trajectoryId: t.id, stepIds: [2, 3] }]);
    expect(result.dropped.join("\n")).toMatch(/#99 do not exist/);
    expect(result.patch.edits).toHaveLength(2);
    for (const e of result.patch.edits) expect(e).toMatchObject({ support: [t.id], lessonIds: [lesson.id] });
    expect(result.patch.changelog).toEqual(["Pitfalls: confirm before changing a booking"]);
    expect(result.usage.calls).toBe(1);
  });

  it("never shows the ground truth to the success analyst", async () => {
    fake.script([{ json: reply() }]);
    const result = await analyseTrajectory({ model, trajectory: run(true), base });
    const [system, user] = fake.calls.bodies.at(-1)!.messages;
    expect(system!.content).toContain("success analyst");
    expect(user!.content).not.toContain(EXPECTED);
    expect(user!.content).not.toContain("ground truth");
    expect(result.kind).toBe("success");
  });

  it("drops lessons and edits that leak the ground truth or leave the skill folder", async () => {
    const bad = reply({
      lessons: [
        { ...reply().lessons[0]!, title: "Move ZX81QK first" },
        { ...reply().lessons[0]!, title: "Check the payment method", rule: "Check that a payment method is on file before a paid change." },
      ],
      edits: [
        { op: "append_to_section", file: "SKILL.md", section: "Pitfalls", content: "- Refund 725 to the card." },
        { op: "append_to_section", file: "../outside.md", section: "X", content: "- escape" },
        { op: "append_to_section", file: "references/missing.md", section: "X", content: "- nowhere" },
        { op: "create_file", file: "SKILL.md", content: "again", linkText: "never" },
        { op: "delete_file", file: "SKILL.md" },
        { op: "append_to_section", file: "SKILL.md", section: "Workflow", content: "- Look the booking up first." },
      ],
      changelog: ["Added ZX81QK handling", "Workflow: look up first"],
    });
    fake.script([{ json: bad }]);
    const t = run(false);
    const result = await analyseTrajectory({ model, trajectory: t, base });
    expect(result.lessons.map((l) => l.title)).toEqual(["Check the payment method"]);
    expect(result.patch.edits).toHaveLength(1);
    expect(result.patch.edits[0]).toMatchObject({ section: "Workflow", lessonIds: [result.lessons[0]!.id] });
    expect(result.patch.changelog).toEqual(["Workflow: look up first"]);
    const dropped = result.dropped.join("\n");
    expect(dropped).toContain('lesson "Move ZX81QK first": contains the ground-truth value "ZX81QK"');
    expect(dropped).toContain('contains the ground-truth value "725"');
    expect(dropped).toMatch(/\.\.\/outside\.md: .*"\.\." segment/);
    expect(dropped).toContain("references/missing.md: no such file in the base skill");
    expect(dropped).toContain("SKILL.md cannot be created");
    expect(dropped).toContain("SKILL.md cannot be deleted");
  });

  it("lets an agentic analyst fetch a step in full", async () => {
    const t = run(false);
    const start = fake.calls.count;
    fake.script((_body, i) => (i === start ? { toolCalls: [{ name: "get_step", arguments: { step: 3 } }] } : { json: reply() }));
    const result = await analyseTrajectory({ model, trajectory: t, base, agentic: true, budgetTokens: 600 });
    const bodies = fake.calls.bodies.slice(start);
    expect(bodies[0]!.tools?.map((tool) => tool.function.name)).toEqual(["get_step"]);
    const toolMessage = bodies.flatMap((b) => b.messages).find((m) => m.role === "tool");
    expect(toolMessage?.content).toContain(t.steps[3]!.toolResult!.content);
    expect(result.lessons).toHaveLength(1);
    // The rendering itself was shortened: the full step only came through the tool.
    expect(bodies[0]!.messages[1]!.content).not.toContain(t.steps[3]!.toolResult!.content);
  });
});

describe("processReply", () => {
  it("caps lessons at three", () => {
    const t = run(false);
    const lesson = reply().lessons[0]!;
    const out = processReply({ diagnosis: reply().diagnosis, lessons: [lesson, lesson, lesson, lesson], edits: [], changelog: [] }, t, base);
    expect(out.lessons).toHaveLength(3);
    expect(new Set(out.lessons.map((l) => l.id)).size).toBe(3);
    expect(out.dropped.join("\n")).toMatch(/over the limit of 3 lessons/);
  });
});
