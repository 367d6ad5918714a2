import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionFunctionTool,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions.js";
import { z } from "zod";
import type { Usage } from "./usage.js";
import { errorMessage, ModelError } from "../util/errors.js";
import { OutageBreaker } from "./breaker.js";
import { log } from "../util/log.js";
import type { ModelConfig } from "./config.js";
import {
  parseStructuredReply,
  schemaInstruction,
  toJsonSchema,
  toResponseFormat,
  toSchemaName,
  validationFeedback,
} from "./json-schema.js";
import { createLimiter, type Limiter } from "../util/limiter.js";
import type { ChatMessage, LanguageModel, ModelTool, StructuredRequest, StructuredResult } from "./port.js";
import { addUsage, callUsage, emptyUsage, type UsageMeter } from "./usage.js";

/**
 * The openai-compatible provider: OpenAI, vLLM, Ollama, llama.cpp server, LM Studio,
 * OpenRouter… through the official SDK. The SDK's own retries are off: this class decides
 * what is worth retrying (rate limits, 5xx, timeouts, dropped connections), how long to wait,
 * and what to tell the user when it gives up.
 */

export interface BackoffOptions {
  /** First retry waits about this long; each further retry doubles it. */
  baseMs: number;
  maxMs: number;
  /** A server's retry-after is honoured up to this cap. */
  maxRetryAfterMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, maxRetryAfterMs: 60_000 };
const DEFAULT_MAX_OUTPUT_TOKENS = 4096;
const DEFAULT_MAX_TOOL_TURNS = 6;

export interface OpenAICompatibleOptions {
  /** Run-wide usage and cost totals; every successful call is added. */
  meter?: UsageMeter;
  /** Share one limiter between models that hit the same server; default: one of config.concurrency. */
  limiter?: Limiter;
  /** Whether the server/model handles `tools` (default true). */
  supportsTools?: boolean;
  backoff?: Partial<BackoffOptions>;
  maxToolTurns?: number;
  /** Stops calling a model that keeps failing (default: a breaker of its own). */
  breaker?: OutageBreaker;
}

type FailureKind = "timeout" | "connection" | "rate_limit" | "server" | "auth" | "not_found" | "rejected" | "unknown";

interface Failure {
  kind: FailureKind;
  retryable: boolean;
  status?: number;
  detail: string;
  retryAfterMs?: number;
}

/** The server refused `response_format: json_schema` itself (older llama.cpp, some proxies). */
class ResponseFormatRejected extends ModelError {}

/** State of one generate() call: the growing conversation and what it has cost so far. */
interface Exchange<T> {
  request: StructuredRequest<T>;
  conversation: ChatCompletionMessageParam[];
  usage: Usage;
  /** Tool specs, once the conversation holds tool calls (the server needs them to read it). */
  toolSpecs?: ChatCompletionFunctionTool[];
}

export class OpenAICompatibleModel implements LanguageModel {
  readonly provider = "openai-compatible" as const;
  readonly model: string;
  readonly supportsTools: boolean;
  private readonly client: OpenAI;
  private readonly limit: Limiter;
  private readonly backoff: BackoffOptions;
  /** Set once the server has rejected response_format: the schema then travels in the prompt. */
  private schemaInPrompt = false;
  private readonly breaker: OutageBreaker;
  /** OpenAI's reasoning models (o-series, gpt-5) take max_completion_tokens and refuse sampling settings. */
  private tokenParameter: "max_tokens" | "max_completion_tokens";
  private sendsSampling: boolean;

  constructor(
    private readonly config: ModelConfig,
    private readonly options: OpenAICompatibleOptions = {},
  ) {
    this.model = config.model;
    this.supportsTools = options.supportsTools ?? true;
    this.client = new OpenAI({ baseURL: config.baseURL, apiKey: config.apiKey, timeout: config.timeoutMs, maxRetries: 0 });
    this.breaker = options.breaker ?? new OutageBreaker();
    const reasoning = isReasoningModel(config.model);
    this.tokenParameter = reasoning ? "max_completion_tokens" : "max_tokens";
    this.sendsSampling = !reasoning;
    this.limit = options.limiter ?? createLimiter(config.concurrency);
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  async generate<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
    request.signal?.throwIfAborted();
    // A model that keeps failing is not called for minutes: after a run of failures, stop and say why.
    this.breaker.check(this.where());
    const result = await this.generateOnce(request);
    this.breaker.success();
    return result;
  }

  private where(): string {
    return `${this.config.baseURL} (model "${this.model}")`;
  }

  private async generateOnce<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
    const exchange: Exchange<T> = { request, conversation: request.messages.map(toMessageParam), usage: emptyUsage() };

    // An answer given at the end of tool use is tried first. It was written without
    // response_format, so it does not use up one of the structured attempts.
    let candidate =
      request.tools && request.tools.length > 0 && this.supportsTools
        ? await this.runToolLoop(exchange, request.tools)
        : undefined;

    const attempts = this.config.maxValidationRetries + 1 + (candidate === undefined ? 0 : 1);
    let lastError = "";
    for (let attempt = 0; attempt < attempts; attempt++) {
      const reply = candidate ?? (await this.answer(exchange));
      candidate = undefined;
      const parsed = parseStructuredReply(reply, request.schema);
      if (parsed.ok) return { value: parsed.value, usage: exchange.usage, model: this.model };
      lastError = parsed.error;
      this.breaker.failure("invalid_reply", `the reply did not fit the "${request.schemaName}" schema: ${parsed.error.slice(0, 200)}`);
      log.debug("model reply failed validation", { model: this.model, schema: request.schemaName, attempt: attempt + 1 });
      exchange.conversation.push(
        { role: "assistant", content: reply },
        { role: "user", content: validationFeedback(parsed.error) },
      );
    }
    throw new ModelError(
      `Model "${this.model}" at ${this.config.baseURL} gave no valid "${request.schemaName}" reply in ${attempts} ` +
        `attempts. Last problem: ${lastError} ` +
        `Use a stronger model (TRACE2SKILL_MODEL) or one with structured-output support, or raise maxValidationRetries.`,
      false,
      "invalid_reply",
    );
  }

  /** Ask for the structured answer itself: response_format on, no further tool calls. */
  private async answer<T>(exchange: Exchange<T>): Promise<string> {
    try {
      return replyText(await this.send(this.answerBody(exchange), exchange));
    } catch (err) {
      if (!(err instanceof ResponseFormatRejected)) throw err;
      log.warn("model server rejected response_format json_schema; sending the schema in the prompt instead", {
        baseURL: this.config.baseURL,
        detail: err.message,
      });
      this.schemaInPrompt = true;
      return replyText(await this.send(this.answerBody(exchange), exchange));
    }
  }

  private answerBody<T>(exchange: Exchange<T>): ChatCompletionCreateParamsNonStreaming {
    const { request, conversation, toolSpecs } = exchange;
    return {
      ...this.baseBody(request),
      messages: this.schemaInPrompt
        ? withSystemNote(conversation, schemaInstruction(request.schemaName, request.schema))
        : conversation,
      ...(this.schemaInPrompt ? {} : { response_format: toResponseFormat(request.schemaName, request.schema) }),
      ...(toolSpecs ? { tools: toolSpecs, tool_choice: "none" as const } : {}),
    };
  }

  private baseBody<T>(request: StructuredRequest<T>) {
    const limit = request.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    return {
      model: this.model,
      ...(this.tokenParameter === "max_completion_tokens" ? { max_completion_tokens: limit } : { max_tokens: limit }),
      ...(request.temperature === undefined || !this.sendsSampling ? {} : { temperature: request.temperature }),
    };
  }

  /**
   * A 400 that names a parameter this model refuses (OpenAI's reasoning models: `max_tokens`,
   * `temperature`): adapt the request and remember it for every later call. False when the
   * refusal is about something else (or the adaptation was made already).
   */
  private adaptTo(detail: string, body: ChatCompletionCreateParamsNonStreaming): boolean {
    const b = body as unknown as Record<string, unknown>;
    if (/max_tokens/.test(detail) && /max_completion_tokens/.test(detail) && "max_tokens" in b) {
      this.tokenParameter = "max_completion_tokens";
      b.max_completion_tokens = b.max_tokens;
      delete b.max_tokens;
      log.info("the model refuses max_tokens; sending max_completion_tokens", { model: this.model });
      return true;
    }
    if (/temperature|top_p/i.test(detail) && /unsupported|not support/i.test(detail) && ("temperature" in b || "top_p" in b)) {
      this.sendsSampling = false;
      delete b.temperature;
      delete b.top_p;
      log.info("the model refuses sampling settings; leaving them out", { model: this.model });
      return true;
    }
    return false;
  }

  /**
   * Let the model call tools for a bounded number of turns. Returns its answer text when it
   * stops calling tools, or undefined when the turns ran out (it is then told to answer).
   */
  private async runToolLoop<T>(exchange: Exchange<T>, tools: ModelTool[]): Promise<string | undefined> {
    const { request, conversation } = exchange;
    const byName = new Map(tools.map((tool) => [toSchemaName(tool.name), tool]));
    exchange.toolSpecs = tools.map(toToolSpec);
    const maxTurns = this.options.maxToolTurns ?? DEFAULT_MAX_TOOL_TURNS;
    for (let turn = 0; turn < maxTurns; turn++) {
      const completion = await this.send(
        { ...this.baseBody(request), messages: conversation, tools: exchange.toolSpecs, tool_choice: "auto" },
        exchange,
      );
      const message = completion.choices[0]?.message;
      const calls = (message?.tool_calls ?? []).filter(
        (call): call is ChatCompletionMessageFunctionToolCall => call.type === "function",
      );
      if (calls.length === 0) return message?.content ?? "";
      conversation.push({ role: "assistant", content: message?.content ?? null, tool_calls: calls });
      const results = await Promise.all(calls.map((call) => runToolCall(byName.get(call.function.name), call)));
      request.signal?.throwIfAborted();
      calls.forEach((call, i) => conversation.push({ role: "tool", tool_call_id: call.id, content: results[i] ?? "" }));
    }
    conversation.push({
      role: "user",
      content: `You have used all ${maxTurns} tool turns. Give your final answer now, from what you have.`,
    });
    return undefined;
  }

  /** One chat completion with retries on transient failures; usage of the call is counted. */
  private async send<T>(body: ChatCompletionCreateParamsNonStreaming, exchange: Exchange<T>): Promise<ChatCompletion> {
    const signal = exchange.request.signal;
    for (let attempt = 0; ; attempt++) {
      let failure: Failure;
      try {
        const completion = await this.limit(() => {
          // Checked again when the call gets its turn: calls queued behind a failing run stop here.
          this.breaker.check(this.where());
          return this.client.chat.completions.create(body, { signal, timeout: this.config.timeoutMs });
        }, signal);
        this.count(completion, exchange);
        return completion;
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (err instanceof ModelError) throw err;
        failure = classifyFailure(err);
        if (failure.kind === "rejected" && body.response_format && /response_format|json_schema/i.test(failure.detail)) {
          throw new ResponseFormatRejected(failure.detail);
        }
        // A refused parameter is adapted and the call made again at once; it is no failure of the model.
        if (failure.kind === "rejected" && this.adaptTo(failure.detail, body)) {
          attempt--;
          continue;
        }
        // Every failed attempt counts toward stopping early, except a rate limit that says how long to wait.
        if (!(failure.kind === "rate_limit" && failure.retryAfterMs !== undefined)) {
          this.breaker.failure(failure.kind, describeFailure(failure, 1, this.config));
        }
        if (!failure.retryable || attempt >= this.config.maxRetries) {
          throw new ModelError(describeFailure(failure, attempt + 1, this.config), failure.retryable, failure.kind);
        }
      }
      const delay = retryDelay(attempt, failure.retryAfterMs, this.backoff);
      log.debug("retrying model call", { model: this.model, kind: failure.kind, status: failure.status, delayMs: Math.round(delay) });
      await sleep(delay, signal);
    }
  }

  private count<T>(completion: ChatCompletion, exchange: Exchange<T>): void {
    const usage = callUsage(
      completion.usage?.prompt_tokens ?? 0,
      completion.usage?.completion_tokens ?? 0,
      this.config.pricing,
    );
    exchange.usage = addUsage(exchange.usage, usage);
    this.options.meter?.add(usage);
  }
}

function toMessageParam(message: ChatMessage): ChatCompletionMessageParam {
  return { role: message.role, content: message.content };
}

function replyText(completion: ChatCompletion): string {
  return completion.choices[0]?.message.content ?? "";
}

/** Add a note to the leading system message (or start one): some servers accept only one, first. */
function withSystemNote(messages: ChatCompletionMessageParam[], note: string): ChatCompletionMessageParam[] {
  const [first, ...rest] = messages;
  if (first?.role === "system" && typeof first.content === "string") {
    return [{ role: "system", content: `${first.content}\n\n${note}` }, ...rest];
  }
  return [{ role: "system", content: note }, ...messages];
}

function toToolSpec(tool: ModelTool): ChatCompletionFunctionTool {
  return {
    type: "function",
    function: { name: toSchemaName(tool.name), description: tool.description, parameters: toJsonSchema(tool.parameters) },
  };
}

/** A tool's answer, or an error text the model can act on: a bad call must not end the analysis. */
async function runToolCall(tool: ModelTool | undefined, call: ChatCompletionMessageFunctionToolCall): Promise<string> {
  if (!tool) return `Error: there is no tool named "${call.function.name}".`;
  let args: unknown;
  try {
    args = JSON.parse(call.function.arguments || "{}");
  } catch {
    return `Error: the arguments for ${tool.name} are not valid JSON.`;
  }
  const parsed = tool.parameters.safeParse(args);
  if (!parsed.success) return `Error: invalid arguments for ${tool.name}:\n${z.prettifyError(parsed.error)}`;
  try {
    return await tool.run(parsed.data);
  } catch (err) {
    return `Error: ${tool.name} failed: ${errorMessage(err)}`;
  }
}

/** The system error code under a connection error (fetch wraps it a level or two down). */
function causeCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** OpenAI's reasoning models, by id (also behind a provider prefix such as openai/o3-mini). */
export function isReasoningModel(model: string): boolean {
  const id = model.split("/").pop() ?? model;
  return /^(o\d|gpt-5)/i.test(id);
}

function classifyFailure(err: unknown): Failure {
  if (err instanceof APIConnectionTimeoutError) return { kind: "timeout", retryable: true, detail: err.message };
  if (err instanceof APIConnectionError) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    const code = causeCode(err);
    // Nobody listening, or no such host: retrying will not change that, so fail at once.
    const hopeless = code !== undefined && ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"].includes(code);
    return { kind: "connection", retryable: !hopeless, detail: `${err.message}${cause}${code ? ` (${code})` : ""}` };
  }
  if (err instanceof APIError && err.status !== undefined) {
    const status = err.status;
    const detail = err.message;
    const retryAfterMs = parseRetryAfter(err.headers);
    if (status === 429) return { kind: "rate_limit", retryable: true, status, detail, retryAfterMs };
    if (status >= 500 || status === 408 || status === 409) {
      return { kind: "server", retryable: true, status, detail, retryAfterMs };
    }
    if (status === 401 || status === 403) return { kind: "auth", retryable: false, status, detail };
    if (status === 404) return { kind: "not_found", retryable: false, status, detail };
    return { kind: "rejected", retryable: false, status, detail };
  }
  return { kind: "unknown", retryable: false, detail: errorMessage(err) };
}

function describeFailure(failure: Failure, attempts: number, config: ModelConfig): string {
  const where = `${config.baseURL} (model "${config.model}")`;
  const tries = attempts === 1 ? "" : ` on all ${attempts} attempts`;
  const http = failure.status === undefined ? "" : `HTTP ${failure.status}: `;
  switch (failure.kind) {
    case "timeout":
      return (
        `No answer from ${where} within ${config.timeoutMs} ms${tries}. Check that the server is up, ` +
        `raise TRACE2SKILL_TIMEOUT_MS for a slow model, or lower TRACE2SKILL_CONCURRENCY.`
      );
    case "connection":
      return `Could not reach ${config.baseURL}${tries} (${failure.detail}). Check OPENAI_BASE_URL and that the model server is running.`;
    case "rate_limit":
      return `Rate limited by ${where}${tries} (${http}${failure.detail}). Lower TRACE2SKILL_CONCURRENCY or try again later.`;
    case "server":
      return `The model server at ${where} failed${tries} (${http}${failure.detail}). Check the server's logs and that the model is loaded.`;
    case "auth":
      return `The model server at ${config.baseURL} refused the credentials (${http}${failure.detail}). Check OPENAI_API_KEY.`;
    case "not_found":
      return (
        `Not found at ${where} (${http}${failure.detail}). Check OPENAI_BASE_URL (it usually ends in /v1) ` +
        `and that TRACE2SKILL_MODEL names a model that server serves.`
      );
    case "rejected":
      return `The model server at ${where} rejected the request (${http}${failure.detail}). Check TRACE2SKILL_MODEL and the server's chat-completions support.`;
    case "unknown":
      return `Calling ${where} failed: ${failure.detail}. Check OPENAI_BASE_URL and the model server.`;
  }
}

/** retry-after-ms (OpenAI, vLLM) or retry-after in seconds or as an HTTP date. */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Exponential backoff with "equal jitter" (half fixed, half random), so a fleet of analysts
 * hitting the same rate limit spreads out instead of retrying in lock-step.
 */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, backoff: BackoffOptions): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, backoff.maxRetryAfterMs);
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** attempt);
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface ModelCheck {
  ok: boolean;
  latencyMs: number;
  model: string;
  error?: string;
}

const HealthSchema = z.object({ ok: z.boolean() });

/** One tiny structured request, for `doctor`: is the server reachable and does the model answer in JSON? */
export async function checkModel(config: ModelConfig, options: OpenAICompatibleOptions = {}): Promise<ModelCheck> {
  const model = new OpenAICompatibleModel(
    { ...config, maxRetries: Math.min(config.maxRetries, 1), maxValidationRetries: Math.min(config.maxValidationRetries, 1) },
    options,
  );
  const started = performance.now();
  try {
    const result = await model.generate({
      schemaName: "health_check",
      schema: HealthSchema,
      messages: [{ role: "user", content: 'This is a connectivity check. Reply with the JSON object {"ok": true}.' }],
      maxOutputTokens: 20,
      temperature: 0,
    });
    return { ok: result.value.ok, latencyMs: Math.round(performance.now() - started), model: config.model };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), model: config.model, error: errorMessage(err) };
  }
}
