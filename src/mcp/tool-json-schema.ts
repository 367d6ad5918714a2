import { z } from "zod";

/**
 * JSON Schema of a tool's input or output as clients get it in tools/list. Clients validate
 * with different engines (Ajv 6 and 8, draft-07 and 2020-12) and the MCP Inspector lints for
 * portability, so: draft-07 keywords, no `$schema` (a dialect some validators cannot load),
 * nullable written as `anyOf` instead of a type array, no `propertyNames` restating that
 * JSON keys are strings, and no empty schema `{}` (which the Inspector's portability lint
 * reads as an accidental "anything"): free-form values say so with `additionalProperties: true`
 * or an array without `items`.
 */
export function toolJsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: "draft-7", io, unrepresentable: "any" }) as Record<string, unknown>;
  delete json.$schema;
  return portable(json) as Record<string, unknown>;
}

/** Keywords that describe a value whatever its type: they stay beside an `anyOf`. */
const ANNOTATIONS = new Set(["description", "title", "default", "examples"]);

function portable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(portable);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "propertyNames") continue;
    if ((key === "additionalProperties" || key === "items") && isEmptySchema(value)) {
      if (key === "additionalProperties") out[key] = true;
      continue;
    }
    out[key] = portable(value);
  }
  const type = out.type;
  if (Array.isArray(type)) {
    const outer: Record<string, unknown> = {};
    const inner: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(out)) {
      if (key === "type") continue;
      (ANNOTATIONS.has(key) ? outer : inner)[key] = value;
    }
    outer.anyOf = (type as string[]).map((t) => (t === "null" ? { type: "null" } : { type: t, ...inner }));
    return outer;
  }
  return out;
}

function isEmptySchema(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0;
}
