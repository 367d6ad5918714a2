import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  ListToolsRequestSchema,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
  type ToolAnnotations,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { closest } from "../util/closest.js";
import { Trace2SkillError, errorMessage } from "../util/errors.js";
import { redactSecrets } from "../util/redact.js";
import { log } from "../util/log.js";
import { toolJsonSchema } from "./tool-json-schema.js";

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolAnswer<O> {
  structured: O;
  /** One or two lines for people; clients such as Claude Code show the model only `structured`. */
  text: string;
}

export interface ToolDefinition<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  handle(args: z.infer<z.ZodObject<I>>, extra: ToolExtra): Promise<ToolAnswer<z.infer<z.ZodObject<O>>>>;
}

/** The tools/list entries of each server, built once from the same zod schemas that validate calls. */
const catalogs = new WeakMap<McpServer, Tool[]>();

/**
 * Every tool has the same shape: zod input and output schemas, structuredContent plus a short
 * text, and one error path — a domain error becomes `isError` with its actionable message; an
 * unexpected one is logged to stderr and reported without a stack. Unknown argument names are
 * refused (a mistyped `verson` must not silently fall back to the default), naming the known ones.
 */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  server: McpServer,
  def: ToolDefinition<I, O>,
): void {
  const known = Object.keys(def.input);
  const inputSchema = z.strictObject(def.input, {
    error: (issue) => (issue.code === "unrecognized_keys" ? unknownArgumentsMessage(def.name, issue.keys, known) : undefined),
  });
  // Parsing our own answer strips extra keys (clients reject them) and catches shape drift.
  const outputSchema = z.object(def.output);
  server.registerTool(
    def.name,
    {
      title: def.title,
      description: def.description,
      inputSchema,
      outputSchema,
      annotations: def.annotations,
    },
    (async (args: z.infer<z.ZodObject<I>>, extra: ToolExtra): Promise<CallToolResult> => {
      try {
        const answer = await def.handle(args, extra);
        return {
          content: [{ type: "text", text: withNextStep(answer.text, answer.structured) }],
          structuredContent: outputSchema.parse(answer.structured) as Record<string, unknown>,
        };
      } catch (err) {
        if (!(err instanceof Trace2SkillError)) log.error(`tool ${def.name} failed`, { error: errorMessage(err) });
        const prefix = err instanceof Trace2SkillError ? "" : "Internal error: ";
        // An error may echo the input (a name, a path): secrets in it are redacted like a submission's.
        return { content: [{ type: "text", text: redactSecrets(`${prefix}${errorMessage(err)}`).value }], isError: true };
      }
    }) as never,
  );
  const catalog = catalogs.get(server) ?? [];
  catalog.push({
    name: def.name,
    title: def.title,
    description: def.description,
    inputSchema: toolJsonSchema(inputSchema, "input") as Tool["inputSchema"],
    outputSchema: toolJsonSchema(outputSchema, "output") as Tool["outputSchema"],
    annotations: def.annotations,
  });
  catalogs.set(server, catalog);
}

/**
 * Clients that show the model only the text (not structuredContent) still learn the next call.
 */
function withNextStep(text: string, structured: unknown): string {
  const next = (structured as { next?: { tool: string; arguments: unknown; reason: string } | null }).next;
  if (!next) return text;
  return `${text}\nNext: ${next.tool} ${JSON.stringify(next.arguments)} — ${next.reason}`;
}

/**
 * Answer tools/list from our catalog rather than the SDK's: the same schemas, without the
 * `$schema` key and type arrays (portable across clients' validators) and computed once.
 */
export function serveToolCatalog(server: McpServer): void {
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: catalogs.get(server) ?? [] }));
}

function unknownArgumentsMessage(tool: string, unknown: readonly PropertyKey[], known: string[]): string {
  const names = unknown.map(String);
  const hints = names
    .map((name) => ({ name, close: closest(name, known) }))
    .filter((h) => h.close)
    .map((h) => `"${h.name}" → "${h.close}"?`);
  return (
    `${tool} has no argument ${names.map((n) => `"${n}"`).join(", ")}` +
    (hints.length > 0 ? ` (did you mean ${hints.join(", ")})` : "") +
    `. Its arguments: ${known.length > 0 ? known.join(", ") : "none"}.`
  );
}


/** Send a progress notification when the caller asked for progress (progressToken). */
export async function reportProgress(extra: ToolExtra, progress: number, total: number, message: string): Promise<void> {
  const token = extra._meta?.progressToken;
  if (token === undefined) return;
  await extra
    .sendNotification({ method: "notifications/progress", params: { progressToken: token, progress, total, message } })
    .catch((err: unknown) => log.debug("progress notification not sent", { error: errorMessage(err) }));
}
