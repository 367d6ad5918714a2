import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import net from "node:net";
import os from "node:os";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Engine } from "../engine.js";
import { InvalidInputError, StoreUnavailableError, Trace2SkillError, errorMessage, formatBytes } from "../util/errors.js";
import { log } from "../util/log.js";
import { escapeHtml } from "../report/html.js";
import { SERVER_NAME, SERVER_VERSION, createServer } from "./server.js";

export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 3917;
export const MCP_PATH = "/mcp";
export const HEALTH_PATH = "/healthz";
/**
 * Above the 48 MiB a single submission may hold, so an oversize one still reaches the tool
 * and gets its clear isError answer; only bodies past this are refused with 413.
 */
export const HTTP_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Shorter secrets can be guessed by anyone who can reach the port and try. */
export const MIN_TOKEN_LENGTH = 16;

export interface HttpServerOptions {
  /** Address to bind. Default 127.0.0.1; anything but loopback requires `token`. */
  host?: string;
  /** TCP port; 0 picks a free one (read it back from `url`). Default 3917. */
  port?: number;
  /** Bearer token every request must carry (`Authorization: Bearer <token>`). */
  token?: string;
  /** Extra host names clients may use in the Host header (a DNS name, a reverse proxy's name). */
  allowedHosts?: string[];
  /** Open sessions at most; a new client beyond it is refused with 503 (default 100). */
  maxSessions?: number;
  /** A session with no request for this long is closed, its event stream too (default 30 minutes); the client starts a new one. */
  sessionIdleMs?: number;
}

export const DEFAULT_MAX_SESSIONS = 100;
export const DEFAULT_SESSION_IDLE_MS = 30 * 60_000;

export interface RunningHttpServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:3917/mcp */
  url: string;
  close(): Promise<void>;
}

/** What every request is checked against before it reaches MCP. */
export interface HttpPolicy {
  host: string;
  port: number;
  /** Lowercased host names (IPv6 in brackets) accepted in Host and Origin headers. */
  allowedHostnames: ReadonlySet<string>;
  /** sha256 of the token: comparing equal-length digests keeps the check constant-time. */
  tokenDigest: Buffer | null;
}

interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  cleanup: () => Promise<void>;
  /** When a request of this session last came in or ended. */
  lastSeen: number;
  /** Requests of this session still being answered: it is not idle meanwhile (an open GET event stream does not count). */
  open: number;
}

const LOOPBACK_HOSTNAMES = ["localhost", "127.0.0.1", "[::1]"];
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

export function isLoopbackHost(host: string): boolean {
  const bare = unbracket(host).toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  return net.isIPv4(bare) && bare.startsWith("127.");
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** The form a URL (and so a Host header) spells a host in: IPv6 literals in brackets. */
function urlHostname(host: string): string {
  const bare = unbracket(host).toLowerCase();
  return net.isIPv6(bare) ? `[${bare}]` : bare;
}

/** The names this machine answers to, for a server bound to every interface. */
function machineHostnames(): string[] {
  const addresses = Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((info) => info.address);
  return [os.hostname(), ...addresses];
}

/**
 * Which Host header names to accept. DNS rebinding points an attacker's name at this
 * address, so a request naming any host we do not answer to is refused.
 */
export function allowedHostnamesFor(host: string, extra: readonly string[] = [], machine: () => string[] = machineHostnames): Set<string> {
  const names = isLoopbackHost(host)
    ? [...LOOPBACK_HOSTNAMES, host]
    : WILDCARD_HOSTS.has(host)
      ? [...LOOPBACK_HOSTNAMES, ...machine()]
      : [host];
  return new Set([...names, ...extra].map(urlHostname));
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/**
 * Check the options before binding anything: a server reachable from other machines
 * without a token would let anyone read and rewrite the team's skills.
 */
export function resolveHttpPolicy(options: HttpServerOptions): HttpPolicy {
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const port = options.port ?? DEFAULT_HTTP_PORT;
  if (host.trim() === "") throw new InvalidInputError("The host to bind is empty: give an address such as 127.0.0.1.");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidInputError(`Port must be a whole number from 0 to 65535 (got ${String(port)}); 0 picks a free port.`);
  }
  const { token } = options;
  if (token !== undefined) {
    if (!/^[\x21-\x7e]+$/.test(token)) {
      throw new InvalidInputError("The bearer token must be printable ASCII without spaces (it travels in an HTTP header).");
    }
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new InvalidInputError(
        `The bearer token is ${token.length} characters; use at least ${MIN_TOKEN_LENGTH}, e.g. the output of \`openssl rand -hex 32\`.`,
      );
    }
  }
  if (token === undefined && !isLoopbackHost(host)) {
    throw new InvalidInputError(
      `Refusing to listen on ${host} without a bearer token: anyone who can reach that address could read and change your skills. ` +
        "Set TRACE2SKILL_TOKEN (or --token) to a long random secret (the output of `openssl rand -hex 32`, for example), " +
        "and give it to your clients; or bind to 127.0.0.1.",
    );
  }
  for (const name of options.allowedHosts ?? []) {
    if (name.trim() === "" || /[\s/@]/.test(name)) {
      throw new InvalidInputError(`Allowed host "${name}" is not a host name: give a bare name or address, without scheme or path.`);
    }
  }
  return {
    host,
    port,
    allowedHostnames: allowedHostnamesFor(host, options.allowedHosts),
    tokenDigest: token === undefined ? null : digest(token),
  };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function hostnameOf(authority: string): string | undefined {
  try {
    return new URL(`http://${authority}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function originHostname(origin: string): string | undefined {
  try {
    return new URL(origin).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function bearerMatches(authorization: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
  if (!match?.[1]) return false;
  return timingSafeEqual(digest(match[1]), expected);
}

/** Host, Origin and token checks, in that order; undefined when the request may proceed. */
export function checkRequestHeaders(headers: IncomingHttpHeaders, policy: HttpPolicy): Refusal | undefined {
  const host = headerValue(headers, "host");
  const hostname = host === undefined ? undefined : hostnameOf(host);
  if (hostname === undefined || !policy.allowedHostnames.has(hostname)) {
    return {
      status: 403,
      message:
        `Host header "${host ?? ""}" is not one this server answers to. ` +
        "If clients reach it under another name, start the server with --allowed-host <name>.",
    };
  }
  const origin = headerValue(headers, "origin");
  if (origin !== undefined) {
    const originHost = originHostname(origin);
    if (originHost === undefined || !policy.allowedHostnames.has(originHost)) {
      return { status: 403, message: `Origin "${origin}" may not call this server.` };
    }
  }
  if (policy.tokenDigest !== null && !bearerMatches(headerValue(headers, "authorization"), policy.tokenDigest)) {
    return {
      status: 401,
      message: "Missing or wrong bearer token: send the header `Authorization: Bearer <token>` with the server's TRACE2SKILL_TOKEN.",
      headers: { "www-authenticate": `Bearer realm="${SERVER_NAME}"` },
    };
  }
  return undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Errors in the JSON-RPC shape the SDK's transport uses, so MCP clients surface the message. */
function sendError(res: ServerResponse, refusal: Refusal, code = -32000): void {
  sendJson(res, refusal.status, { jsonrpc: "2.0", error: { code, message: refusal.message }, id: null }, refusal.headers);
}

type BodyResult = { kind: "ok"; body: unknown } | { kind: "too-large" } | { kind: "invalid-json" };

/** Read the request body up to `limit` bytes without buffering anything past it. */
function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  if (Number(req.headers["content-length"]) > limit) return Promise.resolve({ kind: "too-large" });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        req.off("end", onEnd);
        req.pause();
        resolve({ kind: "too-large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      try {
        resolve({ kind: "ok", body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown });
      } catch {
        resolve({ kind: "invalid-json" });
      }
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", reject);
  });
}

function listen(server: ReturnType<typeof createHttpServer>, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") {
        reject(new Trace2SkillError(`Port ${port} on ${host} is already in use: stop the other server or pick another port with --port.`, "address_in_use"));
      } else if (err.code === "EACCES") {
        reject(new Trace2SkillError(`Not allowed to listen on ${host}:${port}: ports below 1024 need privileges; pick another port with --port.`, "address_denied"));
      } else if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") {
        reject(new Trace2SkillError(`Cannot listen on ${host}: it is not an address of this machine. Use 127.0.0.1, or one of this machine's addresses.`, "address_unavailable"));
      } else {
        reject(err);
      }
    };
    server.once("error", onError);
    server.listen(port, unbracket(host), () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

/**
 * Serve MCP over Streamable HTTP: one stateful MCP session per client, all over the same
 * engine (one process, one store). POST/GET/DELETE on /mcp, GET /healthz.
 */
export async function startHttpServer(engine: Engine, options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const policy = resolveHttpPolicy(options);
  const sessions = new Map<string, Session>();
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const idleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;

  // Sessions nobody uses are closed: a client that vanished without DELETE leaves no server behind.
  const closeIdle = async (): Promise<void> => {
    const now = Date.now();
    for (const [id, session] of sessions) {
      if (session.open > 0 || now - session.lastSeen < idleMs) continue;
      sessions.delete(id);
      log.info("MCP session closed after being idle", { session: id, idleMs: now - session.lastSeen, sessions: sessions.size });
      await session.cleanup().catch((err: unknown) => log.warn("closing an idle session failed", { error: errorMessage(err) }));
    }
  };
  const sweeper = setInterval(() => void closeIdle(), Math.max(1_000, Math.min(60_000, Math.floor(idleMs / 2))));
  sweeper.unref();

  /** Count a request as open on its session until its response ends. */
  const track = (session: Session, res: ServerResponse): void => {
    session.open += 1;
    session.lastSeen = Date.now();
    res.once("close", () => {
      session.open -= 1;
      session.lastSeen = Date.now();
    });
  };

  const openSession = async (): Promise<StreamableHTTPServerTransport> => {
    const { server, cleanup } = createServer(engine);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, cleanup, lastSeen: Date.now(), open: 0 });
        log.info("MCP session opened", { session: id, sessions: sessions.size });
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && sessions.delete(id)) log.info("MCP session closed", { session: id, sessions: sessions.size });
    };
    transport.onerror = (err) => log.debug("MCP transport refused a request", { error: err.message });
    await server.connect(transport);
    return transport;
  };

  const sessionFor = (req: IncomingMessage, res: ServerResponse): Session | undefined => {
    const id = headerValue(req.headers, "mcp-session-id");
    if (id === undefined) {
      sendError(res, { status: 400, message: "Missing mcp-session-id header: start a session with an initialize request first." });
      return undefined;
    }
    const session = sessions.get(id);
    if (!session) {
      sendError(res, { status: 404, message: "Session not found (it was closed, or the server restarted): start a new session with initialize." }, -32001);
    }
    return session;
  };

  const handlePost = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const read = await readJsonBody(req, HTTP_MAX_BODY_BYTES);
    if (read.kind === "too-large") {
      // The client may still be sending: answer, then drop the connection instead of reading the rest.
      res.once("finish", () => req.socket.destroy());
      sendError(res, {
        status: 413,
        message: `Request body over ${formatBytes(HTTP_MAX_BODY_BYTES)}. A submission may be at most 48 MiB: split it into several.`,
        headers: { connection: "close" },
      });
      return;
    }
    if (read.kind === "invalid-json") {
      sendError(res, { status: 400, message: "Parse error: the request body is not valid JSON." }, -32700);
      return;
    }
    if (headerValue(req.headers, "mcp-session-id") !== undefined) {
      const session = sessionFor(req, res);
      if (session) {
        track(session, res);
        await session.transport.handleRequest(req, res, read.body);
      }
      return;
    }
    if (!isInitializeRequest(read.body)) {
      sendError(res, { status: 400, message: "No mcp-session-id header: the first request of a session must be initialize." });
      return;
    }
    if (sessions.size >= maxSessions) await closeIdle();
    if (sessions.size >= maxSessions) {
      log.warn("refused a new MCP session: too many open", { sessions: sessions.size, maxSessions });
      sendError(res, {
        status: 503,
        message:
          `Too many open MCP sessions (${sessions.size} of at most ${maxSessions}). Close clients you no longer use (they end ` +
          `their session with DELETE), wait for idle ones to expire, or start the server with a higher --max-sessions.`,
        headers: { "retry-after": "60" },
      });
      return;
    }
    const transport = await openSession();
    await transport.handleRequest(req, res, read.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refusal = checkRequestHeaders(req.headers, policy);
    if (refusal) {
      log.warn("refused an HTTP request", { status: refusal.status, method: req.method, remote: req.socket.remoteAddress });
      sendError(res, refusal);
      return;
    }
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === HEALTH_PATH && req.method === "GET") {
      // A replica whose database is out of reach is not healthy: a load balancer should route around it.
      const storeOk = await engine.storeHealthy();
      sendJson(res, storeOk ? 200 : 503, { status: storeOk ? "ok" : "store unreachable", name: SERVER_NAME, version: SERVER_VERSION, sessions: sessions.size });
      return;
    }
    // The skill's HTML report, behind the same token as MCP (the checks above).
    const report = /^\/report\/([a-z0-9-]{1,64})\/?$/.exec(path);
    if (report && req.method === "GET") {
      const html = await engine.reportHtml(report[1] as string).catch((err: unknown) => {
        // A page for a browser: the error as a page too.
        res.writeHead(err instanceof StoreUnavailableError ? 503 : 404, { "content-type": "text/html; charset=utf-8", "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'" });
        res.end(`<!doctype html><meta charset="utf-8"><title>Not found</title><p>${escapeHtml(errorMessage(err))}</p>\n`);
        return null;
      });
      if (html !== null) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'" });
        res.end(html);
      }
      return;
    }
    if (path !== MCP_PATH) {
      sendError(res, { status: 404, message: `Not found: the MCP endpoint is ${MCP_PATH} (health: GET ${HEALTH_PATH}).` });
      return;
    }
    if (req.method === "POST") {
      await handlePost(req, res);
      return;
    }
    if (req.method === "GET" || req.method === "DELETE") {
      const session = sessionFor(req, res);
      if (session) {
        // A GET is the session's event stream: it marks the session seen, but stays open while the client is quiet.
        if (req.method === "GET") session.lastSeen = Date.now();
        else track(session, res);
        await session.transport.handleRequest(req, res);
      }
      return;
    }
    sendError(res, { status: 405, message: `Method ${req.method ?? ""} not allowed on ${MCP_PATH}: use POST, GET or DELETE.`, headers: { allow: "GET, POST, DELETE" } });
  };

  const httpServer = createHttpServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error("HTTP request failed", { method: req.method, url: req.url, error: errorMessage(err) });
      if (!res.headersSent) sendError(res, { status: 500, message: "Internal server error; see the server's log." }, -32603);
      else res.destroy();
    });
  });
  const port = await listen(httpServer, policy.host, policy.port);
  const url = `http://${urlHostname(policy.host)}:${port}${MCP_PATH}`;
  log.info("MCP server on Streamable HTTP", { url, auth: policy.tokenDigest ? "bearer token" : "none (loopback only)", store: engine.storeLocation });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(sweeper);
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await Promise.all([...sessions.values()].map((s) => s.cleanup().catch((err: unknown) => log.warn("closing a session failed", { error: errorMessage(err) }))));
      sessions.clear();
      httpServer.closeAllConnections();
      await stopped;
    })();
    return closing;
  };
  return { url, close };
}
