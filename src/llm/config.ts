import { z } from "zod";
import { InvalidInputError } from "../util/errors.js";

/**
 * Configuration of the openai-compatible provider. Three layers, lowest first: the config
 * file, the environment, command-line flags; each field is taken from the highest layer
 * that sets it. Without a base URL, a model or a key the provider is "not configured"
 * (resolveModelConfig returns null) and callers fall back to sampling / agent / heuristic.
 */

export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";
export const OPENAI_DEFAULT_MODEL = "gpt-4o-mini";
/** Local servers (Ollama, vLLM, llama.cpp) ignore the key, but the SDK insists on one. */
export const NO_API_KEY = "not-needed";

const PricingSchema = z.object({
  inputPerMTok: z.number().nonnegative().describe("USD per million input (prompt) tokens"),
  outputPerMTok: z.number().nonnegative().describe("USD per million output (completion) tokens"),
});
export type Pricing = z.infer<typeof PricingSchema>;

export const ModelConfigSchema = z.object({
  baseURL: z.url({ protocol: /^https?$/ }),
  apiKey: z.string().min(1),
  model: z.string().min(1),
  timeoutMs: z.number().int().positive().default(120_000),
  maxRetries: z.number().int().min(0).max(20).default(4),
  concurrency: z.number().int().min(1).max(256).default(8),
  maxValidationRetries: z.number().int().min(0).max(10).default(2),
  pricing: PricingSchema.optional(),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/**
 * One layer of settings (config file section or flags). Numbers may arrive as strings
 * (flags, env), so they are coerced; unknown keys are ignored so the model section can
 * sit inside a larger config file.
 */
/** A number, or its digits as text (flags, environment); never a boolean (`true` is not 1 ms). */
const count = z.preprocess((v) => (typeof v === "boolean" ? Number.NaN : v), z.coerce.number());
export const ModelSettingsSchema = z.object({
  baseURL: z.string().optional(),
  apiKey: z.string().optional(),
  model: z.string().optional(),
  timeoutMs: count.optional(),
  maxRetries: count.optional(),
  concurrency: count.optional(),
  maxValidationRetries: count.optional(),
  pricing: z.object({ inputPerMTok: count.optional(), outputPerMTok: count.optional() }).optional(),
});
export type ModelSettings = z.input<typeof ModelSettingsSchema>;
type Settings = z.output<typeof ModelSettingsSchema>;

/** Where a user sets each field, for error messages. */
const SOURCES: Record<string, string> = {
  baseURL: 'OPENAI_BASE_URL, --base-url or "model.baseURL" in the config file',
  apiKey: 'OPENAI_API_KEY or "model.apiKey" in the config file',
  model: 'TRACE2SKILL_MODEL, --model or "model.model" in the config file',
  timeoutMs: 'TRACE2SKILL_TIMEOUT_MS or "model.timeoutMs" in the config file',
  maxRetries: '"model.maxRetries" in the config file',
  concurrency: 'TRACE2SKILL_CONCURRENCY, --concurrency or "model.concurrency" in the config file',
  maxValidationRetries: '"model.maxValidationRetries" in the config file',
  pricing: 'TRACE2SKILL_PRICE_IN / TRACE2SKILL_PRICE_OUT (USD per million tokens) or "model.pricing" in the config file',
};

export type Env = Record<string, string | undefined>;

function envSettings(env: Env): ModelSettings {
  const get = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value ? value : undefined;
  };
  return {
    baseURL: get("OPENAI_BASE_URL"),
    apiKey: get("OPENAI_API_KEY"),
    model: get("TRACE2SKILL_MODEL"),
    timeoutMs: get("TRACE2SKILL_TIMEOUT_MS"),
    concurrency: get("TRACE2SKILL_CONCURRENCY"),
    pricing: { inputPerMTok: get("TRACE2SKILL_PRICE_IN"), outputPerMTok: get("TRACE2SKILL_PRICE_OUT") },
  };
}

function parseLayer(layer: unknown, origin: string): Settings {
  const parsed = ModelSettingsSchema.safeParse(layer ?? {});
  if (parsed.success) return parsed.data;
  throw new InvalidInputError(`Invalid model settings in ${origin}:\n${describeIssues(parsed.error)}`);
}

/** Field by field: the last layer that sets a value wins; `undefined` never overrides. */
function mergeLayers(layers: Settings[]): Settings {
  const merged: Settings = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer) as [keyof Settings, unknown][]) {
      if (value === undefined) continue;
      if (key === "pricing") merged.pricing = { ...merged.pricing, ...definedOnly(value as object) };
      else (merged as Record<string, unknown>)[key] = value;
    }
  }
  return merged;
}

function definedOnly(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

function pricingOf(settings: Settings): Settings["pricing"] {
  const { inputPerMTok, outputPerMTok } = settings.pricing ?? {};
  if (inputPerMTok === undefined && outputPerMTok === undefined) return undefined;
  // One price alone is almost certainly a mistake; refusing beats a silently wrong cost.
  if (inputPerMTok === undefined || outputPerMTok === undefined) {
    throw new InvalidInputError(`Set both the input and the output price, via ${SOURCES.pricing}.`);
  }
  return { inputPerMTok, outputPerMTok };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = String(issue.path[0] ?? "");
      const where = SOURCES[field];
      return `- ${issue.path.join(".") || "config"}: ${issue.message}${where ? ` (set via ${where})` : ""}`;
    })
    .join("\n");
}

/**
 * The effective model configuration, or null when no model is configured at all.
 * Rules: a key alone means OpenAI itself with its default model; a base URL other than
 * OpenAI's needs an explicit model (we cannot guess what a local server serves) but no key.
 */
export function resolveModelConfig(env: Env, flags?: ModelSettings, file?: ModelSettings): ModelConfig | null {
  const settings = mergeLayers([
    parseLayer(file, "the config file"),
    parseLayer(envSettings(env), "the environment"),
    parseLayer(flags, "the command-line flags"),
  ]);
  if (settings.baseURL === undefined && settings.model === undefined && settings.apiKey === undefined) return null;

  const baseURL = (settings.baseURL ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, "");
  // A malformed URL is reported by the schema below, with where to fix it.
  const isOpenAI = URL.canParse(baseURL) && new URL(baseURL).hostname === "api.openai.com";
  if (settings.model === undefined && !isOpenAI) {
    throw new InvalidInputError(
      `A model server is set (${baseURL}) but no model name. Set ${SOURCES.model} to a model that server serves ` +
        `(for Ollama see \`ollama list\`; for vLLM, GET ${baseURL}/models).`,
    );
  }
  if (settings.apiKey === undefined && isOpenAI) {
    throw new InvalidInputError(
      `api.openai.com needs an API key: set ${SOURCES.apiKey}. For a local server, set OPENAI_BASE_URL instead.`,
    );
  }

  const parsed = ModelConfigSchema.safeParse({
    ...settings,
    baseURL,
    apiKey: settings.apiKey ?? NO_API_KEY,
    model: settings.model ?? OPENAI_DEFAULT_MODEL,
    pricing: pricingOf(settings),
  });
  if (parsed.success) return parsed.data;
  throw new InvalidInputError(`Invalid model configuration:\n${describeIssues(parsed.error)}`);
}

