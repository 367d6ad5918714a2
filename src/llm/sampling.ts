import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { CreateMessageRequestParamsBase, SamplingMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Usage } from "./usage.js";
import { errorMessage, ModelError } from "../util/errors.js";
import { log } from "../util/log.js";
import { parseStructuredReply, schemaInstruction, validationFeedback } from "./json-schema.js";
import { createLimiter, type Limiter } from "../util/limiter.js";
import type { LanguageModel, StructuredRequest, StructuredResult } from "./port.js";
import { addUsage, emptyUsage, type UsageMeter } from "./usage.js";

/**
 * The mcp-sampling provider: borrow the connected client's model through
 * `sampling/createMessage`. The client cannot be told to enforce a schema, so the schema
 * travels in the system prompt and every reply is validated (and retried) here.
 */

export interface SamplingOptions {
  /** Invalid replies retried with the validation error (default 2). */
  maxValidationRetries?: number;
  maxOutputTokens?: number;
  /** Per-request timeout; clients may ask a human to approve each request, so it is generous. */
  timeoutMs?: number;
  meter?: UsageMeter;
  /** Clients usually run one sampling request at a time; default 4 concurrent. */
  limiter?: Limiter;
}

const DEFAULT_MAX_OUTPUT_TOKENS = 4096;
const DEFAULT_TIMEOUT_MS = 300_000;

/** The client reports its model per reply; before the first reply this name stands for it. */
const CLIENT_MODEL = "mcp-sampling";

export class SamplingModel implements LanguageModel {
  readonly provider = "mcp-sampling" as const;
  readonly model = CLIENT_MODEL;
  readonly supportsTools = false;
  private readonly limit: Limiter;

  constructor(
    private readonly server: Server,
    private readonly options: SamplingOptions = {},
  ) {
    this.limit = options.limiter ?? createLimiter(4);
  }

  /** True only when the connected client declared the sampling capability. */
  static available(server: Server): boolean {
    return Boolean(server.getClientCapabilities()?.sampling);
  }

  async generate<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
    request.signal?.throwIfAborted();
    if (!SamplingModel.available(this.server)) {
      throw new ModelError(
        "The connected MCP client does not offer sampling, so the server cannot borrow its model. " +
          'Configure a model (OPENAI_BASE_URL / TRACE2SKILL_MODEL) or use provider "agent".',
      );
    }
    const systemParts = request.messages.filter((m) => m.role === "system").map((m) => m.content);
    const systemPrompt = [...systemParts, schemaInstruction(request.schemaName, request.schema)].join("\n\n");
    const messages: SamplingMessage[] = request.messages
      .filter((m) => m.role !== "system")
      .map((m) => textMessage(m.role === "assistant" ? "assistant" : "user", m.content));

    let usage: Usage = emptyUsage();
    let model = CLIENT_MODEL;
    let lastError = "";
    const attempts = (this.options.maxValidationRetries ?? 2) + 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const params: CreateMessageRequestParamsBase = {
        messages,
        systemPrompt,
        maxTokens: request.maxOutputTokens ?? this.options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
        includeContext: "none",
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      };
      const result = await this.sample(params, request.signal);
      model = result.model;
      const reply = result.content.type === "text" ? result.content.text : "";
      const callUsage = estimateUsage(systemPrompt, messages, reply);
      usage = addUsage(usage, callUsage);
      this.options.meter?.add(callUsage);

      const parsed =
        result.content.type === "text"
          ? parseStructuredReply(reply, request.schema)
          : { ok: false as const, error: `The reply was ${result.content.type} content; a text reply with JSON is needed.` };
      if (parsed.ok) return { value: parsed.value, usage, model };
      lastError = parsed.error;
      log.debug("sampling reply failed validation", { model, schema: request.schemaName, attempt: attempt + 1 });
      messages.push(textMessage("assistant", reply), textMessage("user", validationFeedback(parsed.error)));
    }
    throw new ModelError(
      `The client's model ("${model}", via MCP sampling) gave no valid "${request.schemaName}" reply in ${attempts} ` +
        `attempts. Last problem: ${lastError} Pick a stronger model in the client, or configure one with OPENAI_BASE_URL / TRACE2SKILL_MODEL.`,
    );
  }

  private async sample(params: CreateMessageRequestParamsBase, signal?: AbortSignal) {
    try {
      return await this.limit(
        () => this.server.createMessage(params, { signal, timeout: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS }),
        signal,
      );
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new ModelError(
        `The MCP client refused or failed the sampling request (${errorMessage(err)}). Approve sampling requests ` +
          'in the client, or configure a model (OPENAI_BASE_URL / TRACE2SKILL_MODEL), or use provider "agent".',
        true,
      );
    }
  }
}

function textMessage(role: "user" | "assistant", text: string): SamplingMessage {
  return { role, content: { type: "text", text } };
}

/**
 * Sampling results carry no token counts, so these are ESTIMATES (about 4 characters per
 * token) and cost nothing to us: the client pays for its own model.
 */
function estimateUsage(systemPrompt: string, messages: SamplingMessage[], reply: string): Usage {
  const inputChars =
    systemPrompt.length +
    messages.reduce((sum, m) => sum + textLength(m.content), 0);
  return { inputTokens: Math.ceil(inputChars / 4), outputTokens: Math.ceil(reply.length / 4), costUsd: 0, calls: 1 };
}

function textLength(content: SamplingMessage["content"]): number {
  const blocks = Array.isArray(content) ? content : [content];
  return blocks.reduce((sum, block) => sum + (block.type === "text" ? block.text.length : 0), 0);
}
