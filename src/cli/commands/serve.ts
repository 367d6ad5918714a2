import { parseArgs } from "node:util";
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, HEALTH_PATH, MCP_PATH, startHttpServer, type HttpServerOptions } from "../../mcp/http.js";
import { runStdioServer } from "../../mcp/stdio.js";
import { errorMessage } from "../../util/errors.js";
import { log } from "../../util/log.js";
import { GLOBAL_HELP, GLOBAL_OPTIONS, UsageError, openEngine, out, type Command } from "../context.js";

const HTTP_OPTIONS = {
  http: { type: "boolean" },
  host: { type: "string" },
  port: { type: "string" },
  token: { type: "string" },
  "allowed-host": { type: "string", multiple: true },
  "max-sessions": { type: "string" },
  "session-idle-minutes": { type: "string" },
} as const;

interface HttpFlags {
  http?: boolean;
  host?: string;
  port?: string;
  token?: string;
  "allowed-host"?: string[];
  "max-sessions"?: string;
  "session-idle-minutes"?: string;
}

/** Turn the flags into server options; the server itself checks what makes them unsafe. */
export function httpOptionsFrom(values: HttpFlags, env: NodeJS.ProcessEnv): HttpServerOptions {
  const options: HttpServerOptions = {};
  if (values.host !== undefined) options.host = values.host;
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port)) throw new UsageError(`--port must be a whole number from 0 to 65535 (got "${values.port}").`);
    options.port = Number(values.port);
  }
  // An empty variable is "not set": `export TRACE2SKILL_TOKEN=` must not pass as a token.
  const token = values.token ?? (env.TRACE2SKILL_TOKEN || undefined);
  if (token !== undefined) options.token = token;
  if (values["allowed-host"] !== undefined) options.allowedHosts = values["allowed-host"];
  const maxSessions = values["max-sessions"];
  if (maxSessions !== undefined) {
    if (!/^\d+$/.test(maxSessions) || Number(maxSessions) < 1) throw new UsageError(`--max-sessions must be a whole number of at least 1 (got "${maxSessions}").`);
    options.maxSessions = Number(maxSessions);
  }
  const idle = values["session-idle-minutes"];
  if (idle !== undefined) {
    if (!Number.isFinite(Number(idle)) || Number(idle) <= 0) throw new UsageError(`--session-idle-minutes must be a number of minutes above 0 (got "${idle}").`);
    options.sessionIdleMs = Math.round(Number(idle) * 60_000);
  }
  return options;
}

export const serveCommand: Command = {
  name: "serve",
  summary: "run the MCP server over stdio (the default command), or over HTTP for a team with --http",
  help: `Usage: trace2skill [serve] [options]
       trace2skill serve --http [--host <addr>] [--port <n>] [--token <t>] [--allowed-host <name>]...

Without --http: runs the MCP server on stdin/stdout for an MCP client (Claude Code, Claude Desktop,
Cursor, VS Code…).

With --http: one server for many agents, over MCP Streamable HTTP at http://<host>:<port>${MCP_PATH}
(health check: GET ${HEALTH_PATH}). Every client gets its own session over the same store.
Prints "listening on <url>" on stderr once it accepts connections; stops cleanly on Ctrl-C / SIGTERM.

HTTP options:
  --http                  serve over Streamable HTTP instead of stdio
  --host <addr>           address to bind (default ${DEFAULT_HTTP_HOST}, this machine only). Any other address,
                          e.g. 0.0.0.0 for every interface, requires a bearer token.
  --port <n>              port (default ${DEFAULT_HTTP_PORT}; 0 picks a free one)
  --token <t>             bearer token every request must send as "Authorization: Bearer <t>"
                          (default $TRACE2SKILL_TOKEN; prefer the variable: flags show in the process list).
                          At least 16 characters, e.g. $(openssl rand -hex 32).
  --allowed-host <name>   a name clients use to reach the server (DNS name, reverse proxy), accepted in
                          the Host header; repeatable. Requests naming any other host are refused
                          (DNS-rebinding protection).
  --max-sessions <n>      open MCP sessions at most (default 100); a client beyond it gets HTTP 503
  --session-idle-minutes <m>
                          close a session after this long with no request (default 30); its
                          client starts a new one

Logs go to stderr.

${GLOBAL_HELP}`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...HTTP_OPTIONS }, allowPositionals: false });
    if (!values.http) {
      const httpOnly = (["host", "port", "token", "allowed-host", "max-sessions", "session-idle-minutes"] as const).filter((flag) => values[flag] !== undefined);
      if (httpOnly.length > 0) throw new UsageError(`${httpOnly.map((f) => `--${f}`).join(", ")}: HTTP options, used only with --http.`);
      const engine = await openEngine(values);
      if (process.stdin.isTTY) {
        // Someone typed `trace2skill` at a prompt: the server is waiting for an MCP client, say so.
        out.err("trace2skill: MCP server on stdio, waiting for an MCP client (Ctrl-D to stop). For the CLI: trace2skill --help");
      }
      await runStdioServer(engine);
      return -1; // keeps running until stdin closes
    }
    const options = httpOptionsFrom(values, process.env);
    if (values.token !== undefined) log.warn("--token is visible to other users in the process list; prefer TRACE2SKILL_TOKEN");
    const engine = await openEngine(values);
    const running = await startHttpServer(engine, options);
    out.err(`trace2skill: listening on ${running.url}`);
    const shutdown = (signal: NodeJS.Signals) => {
      log.info(`${signal}: closing sessions and stopping the HTTP server`);
      running.close().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error("shutdown failed", { error: errorMessage(err) });
          process.exit(1);
        },
      );
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
    return -1; // keeps running until a signal
  },
};
