import type { z } from "zod";
import type { Usage } from "./usage.js";

/**
 * The one model port. Providers that hold a model (openai-compatible, mcp-sampling)
 * implement it; the two model-less providers (agent: work items for the calling agent,
 * heuristic: statistics) live at the analysis level and never call `generate`.
 */
export type ProviderName = "openai-compatible" | "mcp-sampling" | "agent" | "heuristic";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The usual request: instructions, then the material. */
export function systemAndUser(system: string, user: string): ChatMessage[] {
  return [
    { role: "system", content: system },
    { role: "user", content: user },
  ];
}

/** A tool the model may call while answering (agentic analyst), answered by `run`. */
export interface ModelTool {
  name: string;
  description: string;
  parameters: z.ZodType;
  run(args: unknown): Promise<string>;
}

export interface StructuredRequest<T> {
  /** Name of the JSON schema sent to the model, e.g. "analysis". */
  schemaName: string;
  /** The zod schema the reply must satisfy; the JSON Schema sent to the model is generated from it. */
  schema: z.ZodType<T>;
  messages: ChatMessage[];
  maxOutputTokens?: number;
  temperature?: number;
  /** Optional tools for agentic use; ignored by providers that cannot call tools. */
  tools?: ModelTool[];
  signal?: AbortSignal;
}

export interface StructuredResult<T> {
  value: T;
  usage: Usage;
  model: string;
}

export interface LanguageModel {
  readonly provider: ProviderName;
  /** Model id as the provider names it (for cache keys and reports). */
  readonly model: string;
  /** True when `tools` in a request are honoured. */
  readonly supportsTools: boolean;
  /**
   * Ask for a reply that satisfies `schema`. Implementations validate with zod, retry an
   * invalid reply with the validation error (bounded), back off on 429/5xx/timeouts, and
   * throw ModelError when they give up. Never returns an unvalidated value.
   */
  generate<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>>;
}
