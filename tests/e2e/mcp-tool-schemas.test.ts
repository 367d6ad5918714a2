import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { callTool, connectInMemory, openTestEngine, textOf } from "../helpers/mcp.js";

/**
 * Schema hygiene of tools/list, as an agent and a strict client see it: every argument
 * described, one naming convention, portable JSON Schemas, unknown arguments refused, and a
 * listing small enough to sit in a model's context.
 */

type Json = Record<string, unknown>;

/** Every schema node of a JSON Schema, with its path. */
function* nodes(schema: unknown, at = "#"): Generator<[string, Json]> {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return;
  const node = schema as Json;
  yield [at, node];
  for (const [key, value] of Object.entries(node.properties ?? {})) yield* nodes(value, `${at}/properties/${key}`);
  if (node.items) yield* nodes(node.items, `${at}/items`);
  if (node.additionalProperties && typeof node.additionalProperties === "object") yield* nodes(node.additionalProperties, `${at}/additionalProperties`);
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    for (const [i, branch] of ((node[key] as unknown[] | undefined) ?? []).entries()) yield* nodes(branch, `${at}/${key}/${i}`);
  }
}

describe("tools/list", () => {
  let client: Client;
  let tools: Tool[];

  beforeAll(async () => {
    client = await connectInMemory(await openTestEngine());
    tools = (await client.listTools()).tools;
  });
  afterAll(async () => {
    await client.close();
  });

  it("describes every argument of every tool, and titles and annotates every tool", () => {
    expect(tools.length).toBeGreaterThanOrEqual(16);
    for (const tool of tools) {
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.description?.length, tool.name).toBeGreaterThan(40);
      expect(tool.annotations, tool.name).toBeDefined();
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.outputSchema?.type, tool.name).toBe("object");
      for (const [name, prop] of Object.entries(tool.inputSchema.properties ?? {})) {
        expect((prop as Json).description, `${tool.name}.${name}`).toBeTruthy();
      }
    }
  });

  it("uses one naming convention (camelCase) for arguments and answers alike", () => {
    const camel = /^[a-z][a-zA-Z0-9]*$/;
    for (const tool of tools) {
      for (const schema of [tool.inputSchema, tool.outputSchema]) {
        for (const [at, node] of nodes(schema)) {
          for (const name of Object.keys((node.properties as Json | undefined) ?? {})) expect(name, `${tool.name} ${at}`).toMatch(camel);
        }
      }
    }
  });

  it("gives portable schemas: no $schema dialect, no type arrays, each one compiles in a strict client's validator", () => {
    const ajv = new AjvJsonSchemaValidator();
    for (const tool of tools) {
      for (const schema of [tool.inputSchema, tool.outputSchema]) {
        expect(schema).not.toHaveProperty("$schema");
        for (const [at, node] of nodes(schema)) {
          expect(Array.isArray(node.type), `${tool.name} ${at}`).toBe(false);
          expect(node, `${tool.name} ${at}`).not.toHaveProperty("propertyNames");
        }
        expect(() => ajv.getValidator(schema as never), tool.name).not.toThrow();
      }
    }
  });

  it("keeps what a model reads of the tools (names, descriptions, argument schemas) under 16,000 characters", () => {
    const visible = tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema }));
    expect(JSON.stringify(visible).length).toBeLessThan(16_000);
  });

  it("refuses an unknown argument instead of silently using the default, naming the known ones", async () => {
    const typo = await callTool(client, "get_skill", { skill: "airline-support", verson: 2 });
    expect(typo.isError).toBe(true);
    expect(textOf(typo)).toMatch(/"verson"/);
    expect(textOf(typo)).toMatch(/did you mean "verson" → "version"/);
    expect(textOf(typo)).toMatch(/skill, version, file/);
    const snake = await callTool(client, "evolve_skill", { skill: "airline-support", wait_seconds: 1 });
    expect(snake.isError).toBe(true);
    expect(textOf(snake)).toMatch(/"wait_seconds" → "waitSeconds"/);
    const nested = await callTool(client, "submit_lessons", { results: [{ workItemId: "x", result: {}, extra: 1 }] });
    expect(nested.isError).toBe(true);
    expect(textOf(nested)).toMatch(/extra/);
  });
});
