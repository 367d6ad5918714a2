import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AnalysisReplySchema } from "../../src/analysis/schema.js";
import {
  extractJsonText,
  parseStructuredReply,
  schemaInstruction,
  toResponseFormat,
  toSchemaName,
} from "../../src/llm/json-schema.js";

describe("toResponseFormat", () => {
  it("generates the analysis reply schema as the model must write it", () => {
    const format = toResponseFormat("analysis", AnalysisReplySchema);
    expect(format.type).toBe("json_schema");
    expect(format.json_schema.name).toBe("analysis");
    expect(format.json_schema.strict).toBe(false);

    const schema = format.json_schema.schema as any;
    expect(schema.$schema).toBeUndefined();
    expect(schema.required).toEqual(["diagnosis", "lessons", "edits"]);
    const branches = schema.properties.edits.items.anyOf as any[];
    expect(branches.map((b) => b.properties.op.const)).toEqual([
      "insert_after",
      "insert_before",
      "append_to_section",
      "replace_in_section",
      "add_section",
      "delete_section",
      "create_file",
      "delete_file",
    ]);
    const addSection = branches[4];
    expect(addSection.required).not.toContain("level");
    expect(addSection.required).not.toContain("after");
    expect(addSection.properties.after.anyOf).toContainEqual({ type: "null" });
    expect(JSON.stringify(schema)).not.toContain("oneOf");
  });

  it("makes names acceptable to OpenAI", () => {
    expect(toSchemaName("merge patches/level 2")).toBe("merge_patches_level_2");
    expect(toSchemaName("")).toBe("reply");
    expect(toSchemaName("x".repeat(100))).toHaveLength(64);
  });

  it("embeds the schema as text for providers that cannot enforce it", () => {
    const text = schemaInstruction("grade", z.object({ score: z.number() }));
    expect(text).toContain('"grade"');
    expect(text).toContain('"score"');
  });
});

describe("parseStructuredReply", () => {
  const Schema = z.object({ n: z.number(), tags: z.array(z.string()).default([]) });

  it("parses plain, fenced and prefixed JSON and applies defaults", () => {
    expect(parseStructuredReply('{"n":1}', Schema)).toEqual({ ok: true, value: { n: 1, tags: [] } });
    expect(parseStructuredReply('```json\n{"n":2}\n```', Schema)).toMatchObject({ ok: true, value: { n: 2 } });
    expect(parseStructuredReply('Sure! {"n":3} Hope that helps.', Schema)).toMatchObject({ ok: true, value: { n: 3 } });
  });

  it("explains what is wrong", () => {
    expect(parseStructuredReply("", Schema)).toEqual({ ok: false, error: "The reply was empty." });
    const notJson = parseStructuredReply("{n: 1", Schema);
    expect(notJson.ok === false && notJson.error).toMatch(/not valid JSON/);
    const wrong = parseStructuredReply('{"n":"one"}', Schema);
    expect(wrong.ok === false && wrong.error).toMatch(/does not match the schema[\s\S]*n/);
  });

  it("is not fooled by code fences inside JSON strings", () => {
    const json = JSON.stringify({ n: 1, tags: ["```bash\nnpm test\n```"] });
    expect(extractJsonText(`  ${json}  `)).toBe(json);
    expect(extractJsonText("```json\n" + json + "\n```")).toBe(json);
    expect(parseStructuredReply("Result:\n```\n" + json + "\n```\n", Schema)).toMatchObject({
      ok: true,
      value: { tags: ["```bash\nnpm test\n```"] },
    });
  });
});
