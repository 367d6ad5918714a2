import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ModelSettingsSchema, resolveModelConfig, type ModelConfig, type ModelSettings } from "../llm/config.js";
import { closest } from "../util/closest.js";
import { InvalidInputError } from "../util/errors.js";

/**
 * Optional config file: $TRACE2SKILL_CONFIG, else <data>/config.json. Environment variables
 * and flags override it. Example:
 *   { "model": { "baseURL": "http://127.0.0.1:11434/v1", "model": "qwen2.5:14b" }, "concurrency": 4 }
 */
export const ConfigFileSchema = z.object({
  model: ModelSettingsSchema.optional(),
  concurrency: z.number().int().min(1).max(64).optional(),
  skillsDir: z.string().optional(),
  regressionPolicy: z
    .enum(["flag", "auto-rollback"])
    .optional()
    .describe("When the active version's runs show it worse than its parent: flag it (default), or also roll it back"),
  store: z
    .string()
    .optional()
    .describe('Where the state lives: a postgres:// URL shared by several servers and workers; unset (or "file"): the data directory'),
});
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export async function loadConfigFile(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfigFile & { path: string | null }> {
  const file = env.TRACE2SKILL_CONFIG ?? path.join(dataDir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === "ENOENT" || code === "ENOTDIR") && !env.TRACE2SKILL_CONFIG) return { path: null };
    throw new InvalidInputError(`Cannot read the config file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    // Editors on Windows may save a byte-order mark; it is not part of the JSON.
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    throw new InvalidInputError(`The config file ${file} is not valid JSON (${(err as Error).message}). Fix it or remove it.`);
  }
  const problem = unknownKeys(json);
  if (problem) throw new InvalidInputError(`The config file ${file} is invalid: ${problem} See "Configuration file" in the README.`);
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidInputError(`The config file ${file} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return { ...parsed.data, path: file };
}

const TOP_KEYS = Object.keys(ConfigFileSchema.shape);
const MODEL_KEYS = Object.keys(ModelSettingsSchema.shape);

/** Keys the file does not know are named, not ignored: a setting that is silently dropped is worse than an error. */
function unknownKeys(json: unknown): string | null {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return "the top level must be a JSON object.";
  const top = Object.keys(json);
  // Keys that are model settings only (top-level concurrency and skillsDir are settings of their own).
  const flat = top.filter((k) => MODEL_KEYS.includes(k) && !TOP_KEYS.includes(k));
  if (flat.length > 0) {
    return `${flat.map((k) => `"${k}"`).join(", ")} belong${flat.length === 1 ? "s" : ""} in the "model" section: { "model": { "baseURL": …, "model": "<model id>" } }.`;
  }
  if (typeof (json as { model?: unknown }).model === "string") {
    return `"model" is the model section, an object; the model id goes inside it: { "model": { "model": "${(json as { model: string }).model}" } }.`;
  }
  const describe = (keys: string[], known: string[], where: string) =>
    keys
      .map((k) => {
        const near = closest(k, known);
        return `unknown key "${k}"${where}${near ? ` (did you mean "${near}"?)` : ""}`;
      })
      .join("; ");
  const problems: string[] = [];
  const strayTop = top.filter((k) => !TOP_KEYS.includes(k));
  if (strayTop.length > 0) problems.push(`${describe(strayTop, TOP_KEYS, "")} — known keys: ${TOP_KEYS.join(", ")}`);
  const model = (json as { model?: unknown }).model;
  if (typeof model === "object" && model !== null && !Array.isArray(model)) {
    const strayModel = Object.keys(model).filter((k) => !MODEL_KEYS.includes(k));
    if (strayModel.length > 0) problems.push(`${describe(strayModel, MODEL_KEYS, ' in "model"')} — known keys there: ${MODEL_KEYS.join(", ")}`);
    const pricing = (model as { pricing?: unknown }).pricing;
    if (typeof pricing === "object" && pricing !== null && !Array.isArray(pricing)) {
      const known = ["inputPerMTok", "outputPerMTok"];
      const stray = Object.keys(pricing).filter((k) => !known.includes(k));
      if (stray.length > 0) problems.push(`${describe(stray, known, ' in "model.pricing"')} — known keys there: ${known.join(", ")}`);
    }
  }
  return problems.length > 0 ? `${problems.join("; ")}.` : null;
}

/** Model configuration from the three layers: config file < environment < flags. */
export function modelConfigFrom(file: ConfigFile, flags: ModelSettings = {}, env: NodeJS.ProcessEnv = process.env): ModelConfig | null {
  return resolveModelConfig(env, flags, file.model);
}
