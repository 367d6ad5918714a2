import { redactSecrets } from "./redact.js";

/**
 * Logging goes to stderr only: stdout of the stdio server belongs to the MCP protocol.
 * Level from TRACE2SKILL_LOG (debug | info | warn | error | silent), default info.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof LEVELS;

function threshold(): number {
  const wanted = (process.env.TRACE2SKILL_LOG ?? "info").toLowerCase();
  return wanted in LEVELS ? LEVELS[wanted as Level] : LEVELS.info;
}

function write(level: Exclude<Level, "silent">, message: string, fields?: Record<string, unknown>): void {
  if (LEVELS[level] < threshold()) return;
  const extra = fields && Object.keys(fields).length > 0 ? " " + JSON.stringify(fields) : "";
  // A log line may echo input (a path, a name, a model's reply): secrets in it are redacted.
  process.stderr.write(`[trace2skill] ${level}: ${redactSecrets(`${message}${extra}`).value}\n`);
}

export const log = {
  debug: (m: string, f?: Record<string, unknown>) => write("debug", m, f),
  info: (m: string, f?: Record<string, unknown>) => write("info", m, f),
  warn: (m: string, f?: Record<string, unknown>) => write("warn", m, f),
  error: (m: string, f?: Record<string, unknown>) => write("error", m, f),
};
