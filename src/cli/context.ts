import { redactSecrets } from "../util/redact.js";
import { Engine } from "../engine.js";
import { loadConfigFile, modelConfigFrom } from "../config/file.js";
import { resolveDataDir, resolveSkillsDir } from "../config/paths.js";
import type { ModelSettings } from "../llm/config.js";

/** Options every command understands. */
export const GLOBAL_OPTIONS = {
  "data-dir": { type: "string" },
  store: { type: "string" },
  "skills-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
} as const;

export const GLOBAL_HELP = `Global options:
  --data-dir <dir>     data directory (default $TRACE2SKILL_HOME or ~/.trace2skill)
  --store <url>        keep the state in PostgreSQL (postgres://…; default $TRACE2SKILL_STORE,
                       else "store" in config.json, else the data directory)
  --skills-dir <dir>   where promote/export write skill folders (default $TRACE2SKILL_SKILLS_DIR, else <data>/export;
                       e.g. .claude/skills)
  --json               machine-readable output
  -h, --help           this help`;

/** Flags that choose the model for commands that use one (analyse, evolve). */
export const MODEL_OPTIONS = {
  "base-url": { type: "string" },
  model: { type: "string" },
  concurrency: { type: "string" },
} as const;

export const MODEL_HELP = `Model options (default: $OPENAI_BASE_URL / $OPENAI_API_KEY / $TRACE2SKILL_MODEL, or <data>/config.json):
  --base-url <url>     OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp, LM Studio, OpenRouter…)
  --model <id>         model id
  --concurrency <n>    analyses / merges in flight (default 8)
  --provider <p>       openai-compatible | heuristic (default: the model when configured, else heuristic)`;

export async function openEngine(
  values: { "data-dir"?: string; "skills-dir"?: string; store?: string; "base-url"?: string; model?: string; concurrency?: string },
): Promise<Engine> {
  const dataDir = resolveDataDir(values["data-dir"]);
  const file = await loadConfigFile(dataDir);
  const flags: ModelSettings = {};
  if (values["base-url"] !== undefined) flags.baseURL = values["base-url"];
  if (values.model !== undefined) flags.model = values.model;
  if (values.concurrency !== undefined) flags.concurrency = values.concurrency;
  const modelConfig = modelConfigFrom(file, flags);
  const concurrency = values.concurrency !== undefined ? Number(values.concurrency) : file.concurrency;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new UsageError(`--concurrency must be a whole number of at least 1 (got "${values.concurrency}").`);
  }
  const policy = process.env.TRACE2SKILL_REGRESSION_POLICY || file.regressionPolicy;
  if (policy !== undefined && policy !== "flag" && policy !== "auto-rollback") {
    throw new UsageError(`TRACE2SKILL_REGRESSION_POLICY must be "flag" or "auto-rollback" (got "${policy}").`);
  }
  return Engine.open({
    dataDir,
    skillsDir: resolveSkillsDir(dataDir, values["skills-dir"] ?? (process.env.TRACE2SKILL_SKILLS_DIR || file.skillsDir)),
    modelConfig,
    concurrency,
    ...(policy ? { regressionPolicy: policy } : {}),
    store: values.store ?? (process.env.TRACE2SKILL_STORE || file.store),
  });
}

/** Output helpers: results to stdout, progress and diagnostics to stderr. */
export const out = {
  line: (text = "") => process.stdout.write(text + "\n"),
  json: (value: unknown) => process.stdout.write(JSON.stringify(value, null, 2) + "\n"),
  // Errors and warnings may echo input (a name, a path): secrets in them are redacted.
  err: (text: string) => process.stderr.write(redactSecrets(text).value + "\n"),
};

export class UsageError extends Error {}

export interface Command {
  name: string;
  /** Other names it answers to (kept when a command is renamed). */
  aliases?: string[];
  summary: string;
  help: string;
  run(argv: string[]): Promise<number>;
}
