/**
 * An instance of a JSON Schema, shaped by the schema alone: which keys exist, which are
 * required, their types, enums and bounds come from `schema`; values are taken from `draft`
 * where it has one at the same place (e.g. a scripted analyst's ideas), else made up within
 * the bounds. A test agent that fills work items this way depends only on the responseSchema
 * the server handed out, not on our TypeScript types.
 */

type Json = Record<string, unknown>;

function resolve(node: Json, root: Json): Json {
  const ref = node.$ref;
  if (typeof ref !== "string") return node;
  const parts = ref.replace(/^#\//, "").split("/");
  let target: unknown = root;
  for (const p of parts) target = (target as Json)[p];
  return resolve(target as Json, root);
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (Number.isInteger(value)) return "integer";
  return typeof value;
}

function accepts(schema: Json, value: unknown, root: Json): boolean {
  const s = resolve(schema, root);
  if ("const" in s) return s.const === value;
  if (Array.isArray(s.enum)) return s.enum.includes(value);
  const branches = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (branches) return branches.some((b) => accepts(b, value, root));
  if (s.type === undefined) return true;
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  const t = typeOf(value);
  if (!types.includes(t) && !(t === "integer" && types.includes("number"))) return false;
  if (t === "object" && s.properties) {
    // A union branch fits when every const/enum discriminator it declares matches.
    for (const [key, prop] of Object.entries(s.properties as Json)) {
      const p = resolve(prop as Json, root);
      if (("const" in p || Array.isArray(p.enum)) && !accepts(p, (value as Json)[key], root)) return false;
    }
  }
  return true;
}

export function fillFromSchema(schema: Json, draft?: unknown, root: Json = schema): unknown {
  const s = resolve(schema, root);
  const branches = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (branches) {
    const fitting = branches.find((b) => draft !== undefined && accepts(b, draft, root)) ?? branches.find((b) => resolve(b, root).type !== "null") ?? branches[0];
    return fillFromSchema(fitting as Json, draft, root);
  }
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum.includes(draft) ? draft : s.enum[0];
  const type = Array.isArray(s.type) ? (s.type as string[]).find((t) => t !== "null") : (s.type as string | undefined);
  switch (type) {
    case "object": {
      const out: Json = {};
      const given = draft !== null && typeof draft === "object" && !Array.isArray(draft) ? (draft as Json) : {};
      const required = new Set((s.required as string[] | undefined) ?? []);
      for (const [key, prop] of Object.entries((s.properties as Json | undefined) ?? {})) {
        if (key in given || required.has(key)) out[key] = fillFromSchema(prop as Json, given[key], root);
      }
      return out;
    }
    case "array": {
      const items = (s.items as Json | undefined) ?? {};
      const given = Array.isArray(draft) ? draft : [];
      const max = typeof s.maxItems === "number" ? s.maxItems : Infinity;
      const min = typeof s.minItems === "number" ? s.minItems : 0;
      const list = given.slice(0, max).map((v) => fillFromSchema(items, v, root));
      while (list.length < min) list.push(fillFromSchema(items, undefined, root));
      return list;
    }
    case "string": {
      const min = typeof s.minLength === "number" ? s.minLength : 0;
      const max = typeof s.maxLength === "number" ? s.maxLength : Infinity;
      const text = typeof draft === "string" ? draft : "x".repeat(Math.max(1, min));
      return text.slice(0, max);
    }
    case "integer":
    case "number": {
      const min = typeof s.minimum === "number" ? s.minimum : 0;
      return typeof draft === "number" ? draft : min;
    }
    case "boolean":
      return typeof draft === "boolean" ? draft : false;
    case "null":
      return null;
    default:
      return draft ?? null;
  }
}
