import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Edit, Patch } from "../../src/analysis/schema.js";
import { deterministicMerge, jaccard, mergeEdits, tokens } from "../../src/consolidation/deterministic-merge.js";
import { acceptMergeReply, MergeReplySchema, renderMergeInputs, type MergeReply } from "../../src/consolidation/merge-reply.js";
import { addedText } from "../../src/consolidation/bullets.js";
import { placeEdits } from "../../src/consolidation/placement.js";
import { applyPatch } from "../../src/consolidation/apply.js";
import { flattenGroup } from "../../src/consolidation/merge-tree.js";
import { modelMerge } from "../../src/consolidation/model-merge.js";
import { acceptMergeSubmission, mergeBrief, mergeWork } from "../../src/consolidation/work-items.js";
import { OpenAICompatibleModel } from "../../src/llm/openai-compatible.js";
import type { SkillFolder } from "../../src/skill/types.js";
import { fakeModel, startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.js";

const base: SkillFolder = {
  name: "airline",
  files: { "SKILL.md": "---\nname: airline\ndescription: Book flights. Use for airline support.\n---\n# Airline\n\n## Rules\n\n- Be polite.\n" },
  binaries: {},
};

function append(content: string, support: string[], section = "Rules"): Edit {
  return { op: "append_to_section", file: "SKILL.md", section, content, support, lessonIds: support.map((s) => `L-${s}`) };
}

function replace(find: string, by: string, support: string[]): Edit {
  return { op: "replace_in_section", file: "SKILL.md", section: "Rules", find, replace: by, support, lessonIds: [] };
}

const patch = (...edits: Edit[]): Patch => ({ edits, changelog: [] });

describe("deterministic merge", () => {
  it("measures token similarity", () => {
    expect(jaccard(tokens("Confirm the user id first"), tokens("confirm the USER id first!"))).toBe(1);
    expect(jaccard(tokens("a b c d"), tokens("e f g h"))).toBe(0);
  });

  it("de-duplicates similar edits keeping the best-supported wording and unioning support", () => {
    const { edits, dropped } = mergeEdits([
      append("- Confirm the user's identity before any change.", ["a"]),
      append("- Always confirm the user's identity before any change.", ["b", "c"]),
      append("- Confirm the user identity before any change to a booking.", ["d"]),
    ]);
    expect(dropped).toEqual([]);
    expect(edits).toHaveLength(1);
    expect(edits[0]).toMatchObject({ content: "- Always confirm the user's identity before any change.", support: ["a", "b", "c", "d"] });
    expect(edits[0]?.lessonIds).toEqual(["L-a", "L-b", "L-c", "L-d"]);
  });

  it("keeps dissimilar edits and edits of different targets apart", () => {
    const { edits } = mergeEdits([
      append("- Confirm the user's identity before any change.", ["a"]),
      append("- Quote the refund amount before processing it.", ["b"]),
      append("- Confirm the user's identity before any change.", ["c"], "Payments"),
    ]);
    expect(edits).toHaveLength(3);
  });

  it("resolves conflicting replacements of the same text by support", () => {
    const { edits, dropped } = mergeEdits([
      replace("- Be polite.", "- Be polite and brief.", ["a"]),
      replace("- Be polite.", "- Never apologise more than once per conversation.", ["b", "c"]),
    ]);
    expect(edits).toHaveLength(1);
    expect(edits[0]).toMatchObject({ replace: "- Never apologise more than once per conversation.", support: ["b", "c"] });
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.reason).toMatch(/conflicting/);
  });

  it("weighs a conflict by the union support of the similar edits already merged", () => {
    const { edits } = mergeEdits([
      replace("- Be polite.", "- Be polite and brief.", ["a"]),
      replace("- Be polite.", "- Be polite and brief!", ["b"]),
      replace("- Be polite.", "- Be polite, brief.", ["c"]),
      replace("- Be polite.", "- Never apologise more than once per conversation.", ["d", "e"]),
    ]);
    expect(edits).toHaveLength(1);
    expect(edits[0]?.support).toEqual(["a", "b", "c"]);
  });

  it("combines two new files of the same path, keeping both unique paragraphs", () => {
    const mk = (content: string, s: string): Edit => ({ op: "create_file", file: "references/x.md", content, linkText: "Read for x cases", support: [s], lessonIds: [] });
    const { edits } = mergeEdits([mk("# X\n\nFirst insight about seats.", "a"), mk("# X\n\nSecond insight about meals entirely different.", "b")]);
    expect(edits).toHaveLength(1);
    const content = (edits[0] as { content: string }).content;
    expect(content).toContain("seats");
    expect(content).toContain("meals");
    expect(edits[0]?.support).toEqual(["a", "b"]);
  });

  it("never grows: output edits ≤ input edits and every input's support survives or is listed as dropped", async () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const words = ["confirm", "identity", "refund", "policy", "seat", "baggage", "fare", "cabin", "always", "before"];
    for (let round = 0; round < 30; round++) {
      const group: Patch[] = Array.from({ length: 5 }, (_, p) =>
        patch(
          ...Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, e) => {
            const text = Array.from({ length: 4 }, () => words[Math.floor(rand() * words.length)]).join(" ");
            const id = `t${round}-${p}-${e}`;
            return rand() < 0.3 ? replace("- Be polite.", text, [id]) : append(`- ${text}`, [id], rand() < 0.5 ? "Rules" : "Other");
          }),
        ),
      );
      const inputs = flattenGroup(group);
      const result = await deterministicMerge(group, { level: 1, index: 0 });
      expect(result.patch.edits.length).toBeLessThanOrEqual(inputs.length);
      const kept = new Set(result.patch.edits.flatMap((e) => e.support));
      const lost = new Set(result.dropped.flatMap((d) => d.edit.support));
      for (const e of inputs) for (const id of e.support) expect(kept.has(id) || lost.has(id)).toBe(true);
    }
  });
});

describe("acceptMergeReply", () => {
  const inputs = [append("- Rule one about identity.", ["a"]), append("- Rule one about identity!", ["b"]), append("- Rule two about refunds.", ["c"])];
  const out = (sources: number[], content: string) => ({ sources, edit: { op: "append_to_section" as const, file: "SKILL.md", section: "Rules", content } });

  it("unions support from the cited sources, ignoring anything else the reply says", () => {
    const reply: MergeReply = MergeReplySchema.parse({ edits: [out([1, 2], "- Rule one about identity."), out([3], "- Rule two about refunds.")] });
    const accepted = acceptMergeReply(inputs, reply);
    expect(accepted.ok).toBe(true);
    if (!accepted.ok) return;
    expect(accepted.result.patch.edits.map((e) => e.support)).toEqual([["a", "b"], ["c"]]);
    expect(accepted.result.dropped).toEqual([]);
  });

  it("rejects growth, unknown sources and a change of file", () => {
    const grow = MergeReplySchema.parse({ edits: [out([1], "x"), out([2], "y"), out([3], "z"), out([3], "w")] });
    expect(acceptMergeReply(inputs, grow)).toMatchObject({ ok: false, problem: expect.stringMatching(/never grow/) });
    const unknown = MergeReplySchema.parse({ edits: [out([4], "x")] });
    expect(acceptMergeReply(inputs, unknown)).toMatchObject({ ok: false, problem: expect.stringMatching(/unknown input/) });
    const moved = MergeReplySchema.parse({ edits: [{ sources: [1], edit: { op: "append_to_section", file: "references/r.md", section: "R", content: "x" } }] });
    expect(acceptMergeReply(inputs, moved)).toMatchObject({ ok: false, problem: expect.stringMatching(/none of its sources/) });
  });

  it("records uncited inputs as dropped, but folds in exact duplicates of a cited one", () => {
    const twin = append("- Rule two about refunds.", ["d"]);
    const reply = MergeReplySchema.parse({ edits: [out([3], "- Rule two about refunds.")] });
    const accepted = acceptMergeReply([...inputs, twin], reply);
    if (!accepted.ok) throw new Error(accepted.problem);
    expect(accepted.result.patch.edits[0]?.support).toEqual(["c", "d"]);
    expect(accepted.result.dropped.map((d) => d.edit.support[0])).toEqual(["a", "b"]);
  });
});

describe("per-bullet support", () => {
  const inputs = [
    append("- Check the balance before paying.", ["a", "b"]),
    append("- Check the balance before paying!", ["c"]),
    append("- Ask for the booking id of flight 123.", ["d"]),
  ];
  const list = "- Check the balance before paying.\n- Ask for the booking id of flight 123.";
  const merged = (bullets: unknown[]) =>
    MergeReplySchema.parse({ edits: [{ sources: [1, 2, 3], edit: { op: "append_to_section", file: "SKILL.md", section: "Rules", content: list }, bullets }] });

  it("keeps each bullet's own support, drops the thin bullet and traces the rest bullet by bullet", () => {
    const accepted = acceptMergeReply(inputs, merged([
      { opening: "Check the balance", sources: [1, 2] },
      { opening: "Ask for the booking id", sources: [3] },
    ]));
    if (!accepted.ok) throw new Error(accepted.problem);
    const [edit] = accepted.result.patch.edits;
    expect(edit?.support).toEqual(["a", "b", "c", "d"]);
    expect(edit?.bullets?.map((b) => b.support)).toEqual([["a", "b", "c"], ["d"]]);

    // Without per-bullet support the one-off would ride on its neighbour's support of 4.
    const placed = placeEdits(accepted.result.patch, { base, totalTrajectories: 4, minSupport: 2 });
    expect(placed.patch.edits).toHaveLength(1);
    expect(addedText(placed.patch.edits[0] as Edit)).toBe("- Check the balance before paying.");
    expect(placed.patch.edits[0]?.support).toEqual(["a", "b", "c"]);
    expect(placed.dropped.map((d) => d.reason)).toEqual([expect.stringMatching(/bullet "Ask for the booking id of flight 123\.": support 1 is below the minimum of 2/)]);
    const applied = applyPatch(base, placed.patch);
    expect(applied.provenance).toEqual([expect.objectContaining({ excerpt: "Check the balance before paying.", support: ["a", "b", "c"] })]);
  });

  it("carries an input's per-bullet support into the next level, and shows it to the merger", () => {
    const first = acceptMergeReply(inputs, merged([{ opening: "Check the balance", sources: [1, 2] }, { opening: "Ask for", sources: [3] }]));
    if (!first.ok) throw new Error(first.problem);
    const carried = first.result.patch.edits[0] as Edit;
    expect(renderMergeInputs([carried])).toMatch(/bullet "Ask for the booking id of flight 123\.": support 1/);
    const other = append("- Ask for the booking id of flight 123.", ["e"]);
    const next = acceptMergeReply([carried, other], MergeReplySchema.parse({
      edits: [{ sources: [1, 2], edit: { op: "append_to_section", file: "SKILL.md", section: "Rules", content: list } }],
    }));
    if (!next.ok) throw new Error(next.problem);
    // Not named by the merger: each bullet takes its support from the sources' matching bullets.
    expect(next.result.patch.edits[0]?.bullets?.map((b) => b.support)).toEqual([["a", "b", "c"], ["d", "e"]]);
  });

  it("refuses bullets that are not in the content or cite inputs outside the edit's sources", () => {
    expect(acceptMergeReply(inputs, merged([{ opening: "Never mentioned", sources: [1] }]))).toMatchObject({ ok: false, problem: expect.stringMatching(/no bullet of its content starts with "Never mentioned"/) });
    const outside = MergeReplySchema.parse({
      edits: [{ sources: [1], edit: { op: "append_to_section", file: "SKILL.md", section: "Rules", content: list }, bullets: [{ opening: "Ask for", sources: [3] }] }],
    });
    expect(acceptMergeReply(inputs, outside)).toMatchObject({ ok: false, problem: expect.stringMatching(/cites 3, which the edit's sources do not include/) });
  });
});

describe("modelMerge through the fake OpenAI server", () => {
  let fake: FakeOpenAI;
  let model: OpenAICompatibleModel;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    model = fakeModel(fake);
  });
  afterAll(async () => fake.close());

  const group: Patch[] = [
    patch(append("- Confirm identity before changes.", ["a"])),
    patch(append("- Confirm the identity before changes.", ["b", "c"])),
    patch(append("- Quote the refund policy.", ["d"])),
  ];

  it("sends numbered inputs with support counts and unions support by code", async () => {
    fake.script([
      {
        json: {
          edits: [
            { sources: [1, 2], edit: { op: "append_to_section", file: "SKILL.md", section: "Rules", content: "- Confirm the identity before changes." }, support: ["zzz"] },
          ],
          changelog: ["Merged identity rules"],
        },
      },
    ]);
    const result = await modelMerge(model, base)(group, { level: 1, index: 0 });
    const prompt = fake.calls.bodies.at(-1)?.messages.at(-1)?.content ?? "";
    expect(prompt).toContain("[2] support: 2 trajectories");
    expect(prompt).not.toContain('"support"');
    expect(result.patch.edits).toHaveLength(1);
    expect(result.patch.edits[0]?.support).toEqual(["a", "b", "c"]);
    expect(result.dropped.map((d) => d.edit.support)).toEqual([["d"]]);
    expect(result.patch.changelog).toEqual(["Merged identity rules"]);
    expect(result.usage.calls).toBeGreaterThan(0);
  });

  it("rejects an output bigger than its inputs, retries with the reason, then accepts", async () => {
    const e = (content: string) => ({ op: "append_to_section", file: "SKILL.md", section: "Rules", content });
    const before = fake.calls.count;
    fake.script((_body, i) =>
      i === before
        ? { json: { edits: [1, 2, 3, 3].map((s, n) => ({ sources: [s], edit: e(`- rule ${n}`) })) } }
        : { json: { edits: [{ sources: [1, 2], edit: e("- Confirm identity.") }, { sources: [3], edit: e("- Quote the refund policy.") }] } },
    );
    const result = await modelMerge(model, base)(group, { level: 1, index: 0 });
    expect(fake.calls.count - before).toBe(2);
    const retry = fake.calls.bodies.at(-1)?.messages.at(-1)?.content ?? "";
    expect(retry).toMatch(/never grow/);
    expect(result.patch.edits.map((x) => x.support)).toEqual([["a", "b", "c"], ["d"]]);
  });

  it("falls back to the deterministic merge after repeated rejections", async () => {
    fake.script([{ json: { edits: [{ sources: [9], edit: { op: "delete_file", file: "SKILL.md" } }] } }]);
    const result = await modelMerge(model, base, { maxAttempts: 2 })(group, { level: 1, index: 0 });
    expect(result.patch.edits.length).toBeLessThanOrEqual(3);
    expect(new Set(result.patch.edits.flatMap((x) => x.support))).toEqual(new Set(["a", "b", "c", "d"]));
  });
});

describe("agent-mode merge work items", () => {
  const group: Patch[] = [patch(append("- Confirm identity.", ["a"])), patch(append("- Confirm identity!", ["b"]))];

  it("gives the merger's instructions, the base skill and the JSON schema once as a brief, and the numbered inputs per item", () => {
    const brief = mergeBrief(base);
    expect(brief.instructions).toMatch(/Cite your sources/);
    expect(brief.instructions).toContain(`<base_skill file="SKILL.md">`);
    expect(JSON.stringify(brief.responseSchema)).toContain("sources");
    const work = mergeWork(group);
    expect(work).toMatchObject({ patches: 2, edits: 2 });
    expect(work.input).toContain("[1] support: 1 trajectories");
    expect(work.input).not.toContain("<base_skill");
  });

  it("accepts a submission through the same code path (support unioned by code)", () => {
    const result = acceptMergeSubmission("merge-1", group, {
      edits: [{ sources: [1, 2], edit: { op: "append_to_section", file: "SKILL.md", section: "Rules", content: "- Confirm identity." } }],
    });
    expect(result.patch.edits[0]?.support).toEqual(["a", "b"]);
  });

  it("refuses a malformed or mismatched submission with an actionable message", () => {
    expect(() => acceptMergeSubmission("merge-1", group, { edits: "nope" })).toThrow(/response schema/);
    expect(() =>
      acceptMergeSubmission("merge-1", group, {
        edits: [1, 1, 2].map((s) => ({ sources: [s], edit: { op: "append_to_section", file: "SKILL.md", section: "Rules", content: "x" } })),
      }),
    ).toThrow(/never grow/);
  });
});
