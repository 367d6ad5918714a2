import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { HTTP_MAX_BODY_BYTES, resolveHttpPolicy, startHttpServer, type RunningHttpServer } from "../../src/mcp/http.js";
import { InvalidInputError } from "../../src/util/errors.js";
import { REPO_ROOT, callTool, openTestEngine, tempDir, textOf } from "../helpers/mcp.js";

const TOKEN = "test-token-0123456789abcdef";

function run(task: string, success: boolean) {
  return {
    skill: "http-demo",
    trajectory: {
      task,
      steps: [
        { role: "user", text: task },
        { role: "assistant", text: "done", toolCalls: [{ name: "do_it", arguments: { task } }] },
        { role: "tool", toolResult: { name: "do_it", content: "ok", isError: false } },
      ],
      outcome: { success },
    },
  };
}

async function connect(url: string, token?: string): Promise<Client> {
  const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: "http-test-client", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A plain HTTP request, so the test controls every header (fetch will not let us set Host). */
function rawRequest(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string | number>; body?: string } = {},
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: options.method ?? "POST",
        path: options.path ?? target.pathname,
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...options.headers },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

describe("MCP over Streamable HTTP, loopback without a token", () => {
  let engine: Engine;
  let server: RunningHttpServer;

  beforeAll(async () => {
    engine = await openTestEngine();
    server = await startHttpServer(engine, { host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await server.close();
  });

  it("announces the bound port in its url", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(server.url).not.toContain(":0/");
  });

  it("lists tools, takes a run, and serves it back as a resource", async () => {
    const client = await connect(server.url);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["submit_trajectory", "get_skill", "evolve_skill"]));
      const res = await callTool(client, "submit_trajectory", run("book a flight", true));
      expect(res.isError, textOf(res)).toBeFalsy();
      const id = (res.structuredContent as { id: string }).id;
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const read = await client.readResource({ uri: `trajectory://${id}` });
      const stored = JSON.parse((read.contents[0] as { text: string }).text) as { id: string; task: string; skill: string };
      expect(stored).toMatchObject({ id, task: "book a flight", skill: "http-demo" });
    } finally {
      await client.close();
    }
  });

  it("gives two clients at once their own sessions over one store", async () => {
    const [a, b] = await Promise.all([connect(server.url), connect(server.url)]);
    try {
      const [fromA, fromB] = await Promise.all([
        callTool(a, "submit_trajectory", run("cancel a booking", false)),
        callTool(b, "submit_trajectory", run("change a seat", true)),
      ]);
      const idA = (fromA.structuredContent as { id: string }).id;
      const idB = (fromB.structuredContent as { id: string }).id;
      const seenByB = JSON.parse(((await b.readResource({ uri: `trajectory://${idA}` })).contents[0] as { text: string }).text) as { task: string };
      const seenByA = JSON.parse(((await a.readResource({ uri: `trajectory://${idB}` })).contents[0] as { text: string }).text) as { task: string };
      expect(seenByB.task).toBe("cancel a booking");
      expect(seenByA.task).toBe("change a seat");
      const ids = (await engine.listTrajectories({ skill: "http-demo" })).map((r) => r.id);
      expect(ids).toEqual(expect.arrayContaining([idA, idB]));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("answers an oversize run with a tool error and stays up; refuses bodies over 64 MiB with 413", async () => {
    const client = await connect(server.url);
    try {
      const tooBig = await callTool(client, "submit_trajectory", { raw: "y".repeat(50 * 1024 * 1024), format: "openai-messages" });
      expect(tooBig.isError).toBe(true);
      expect(textOf(tooBig)).toMatch(/over the limit/);
      const declared = await rawRequest(server.url, { headers: { "content-length": HTTP_MAX_BODY_BYTES + 1 } });
      expect(declared.status).toBe(413);
      const sent = await rawRequest(server.url, {
        headers: { "transfer-encoding": "chunked" },
        body: `{"pad":"${"z".repeat(HTTP_MAX_BODY_BYTES)}"}`,
      }).catch((err: NodeJS.ErrnoException) => err);
      // Counted while streaming: the server answers 413 and drops the connection; the client may see either.
      if (!(sent instanceof Error)) expect(sent.status).toBe(413);
      const stillAlive = await callTool(client, "list_skills", {});
      expect(stillAlive.isError, textOf(stillAlive)).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it("ends a session on DELETE and then answers 404 for it", async () => {
    const client = await connect(server.url);
    const transport = client.transport as StreamableHTTPClientTransport;
    const sessionId = transport.sessionId;
    expect(sessionId).toBeDefined();
    const before = JSON.parse((await rawRequest(server.url, { method: "GET", path: "/healthz" })).body) as { sessions: number };
    await transport.terminateSession();
    const after = JSON.parse((await rawRequest(server.url, { method: "GET", path: "/healthz" })).body) as { status: string; sessions: number };
    expect(after.status).toBe("ok");
    expect(after.sessions).toBe(before.sessions - 1);
    const stale = await rawRequest(server.url, {
      headers: { "mcp-session-id": sessionId ?? "", "mcp-protocol-version": "2025-06-18" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    expect(stale.status).toBe(404);
    await client.close();
  });

  it("refuses a request without a session that is not initialize", async () => {
    const res = await rawRequest(server.url, { body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/initialize/);
  });

  it("refuses a Host header it does not answer to (DNS rebinding) and a foreign Origin", async () => {
    const port = new URL(server.url).port;
    const rebound = await rawRequest(server.url, { headers: { host: `attacker.example:${port}` }, body: INITIALIZE });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/Host header/);
    const foreign = await rawRequest(server.url, { headers: { origin: "https://attacker.example" }, body: INITIALIZE });
    expect(foreign.status).toBe(403);
    const local = await rawRequest(server.url, { headers: { host: `localhost:${port}` }, body: INITIALIZE });
    expect(local.status).toBe(200);
    expect(local.headers["mcp-session-id"]).toBeDefined();
  });
});

describe("MCP over Streamable HTTP with a bearer token", () => {
  let server: RunningHttpServer;

  beforeAll(async () => {
    server = await startHttpServer(await openTestEngine(), { host: "127.0.0.1", port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await server.close();
  });

  it("answers 401 without the token or with a wrong one, on every path", async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer wrong-token-0123456789abcdef" }, { authorization: TOKEN }];
    for (const headers of attempts) {
      const res = await rawRequest(server.url, { headers, body: INITIALIZE });
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
    }
    const health = await rawRequest(server.url, { method: "GET", path: "/healthz" });
    expect(health.status).toBe(401);
    await expect(connect(server.url)).rejects.toThrow();
    await expect(connect(server.url, "wrong-token-0123456789abcdef")).rejects.toThrow();
  });

  it("serves a client that sends the token", async () => {
    const client = await connect(server.url, TOKEN);
    try {
      const res = await callTool(client, "submit_trajectory", run("refund a ticket", true));
      expect(res.isError, textOf(res)).toBeFalsy();
      const health = await rawRequest(server.url, { method: "GET", path: "/healthz", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(health.status).toBe(200);
    } finally {
      await client.close();
    }
  });
});

describe("HTTP sessions are capped and expire when idle (issue 11, item 5)", () => {
  it("refuses a client past the cap with 503 and a clear message, and closes idle sessions", async () => {
    const engine = await openTestEngine();
    const server = await startHttpServer(engine, { port: 0, maxSessions: 3, sessionIdleMs: 1500 });
    try {
      const clients = await Promise.all([1, 2, 3].map(() => connect(server.url)));
      const refused = await connect(server.url).then(
        () => "connected",
        (err: Error) => err.message,
      );
      expect(refused).toMatch(/503|Too many open MCP sessions \(3 of at most 3\)/);
      const health = async () => JSON.parse((await rawRequest(server.url, { method: "GET", path: "/healthz" })).body) as { sessions: number };
      expect((await health()).sessions).toBe(3);
      // A session in use stays; idle ones are closed after 1.5 s, and their ids are then unknown.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      expect((await health()).sessions).toBe(0);
      const stale = await callTool(clients[0] as Client, "list_skills", {}).then(
        () => "answered",
        (err: Error) => err.message,
      );
      expect(stale).toMatch(/404|Session not found/);
      const fresh = await connect(server.url);
      expect((await callTool(fresh, "list_skills", {})).isError).toBeFalsy();
      await fresh.close();
      for (const c of clients) await c.close().catch(() => undefined);
    } finally {
      await server.close();
    }
  }, 20_000);
});

describe("HTTP server options", () => {
  it("refuses to listen beyond loopback without a token, before binding anything", async () => {
    const engine = await openTestEngine();
    for (const host of ["0.0.0.0", "::", "192.0.2.10", "localhost.attacker.example"]) {
      expect(() => resolveHttpPolicy({ host, port: 0 })).toThrow(/without a bearer token/);
    }
    // 192.0.2.10 is a documentation address: were the check missing, binding it would fail
    // with a different error rather than expose anything.
    await expect(startHttpServer(engine, { host: "192.0.2.10", port: 0 })).rejects.toBeInstanceOf(InvalidInputError);
    expect(() => resolveHttpPolicy({ host: "0.0.0.0", token: "short" })).toThrow(/at least 16/);
    expect(resolveHttpPolicy({ host: "0.0.0.0", port: 0, token: TOKEN }).tokenDigest).not.toBeNull();
  });

  it("accepts Host names by bind address: loopback names, the bound address, and --allowed-host", () => {
    const loopback = resolveHttpPolicy({ host: "127.0.0.1" }).allowedHostnames;
    expect([...loopback]).toEqual(expect.arrayContaining(["localhost", "127.0.0.1", "[::1]"]));
    expect(loopback.has("attacker.example")).toBe(false);
    const specific = resolveHttpPolicy({ host: "192.0.2.10", token: TOKEN, allowedHosts: ["skills.team.example"] }).allowedHostnames;
    expect([...specific].sort()).toEqual(["192.0.2.10", "skills.team.example"]);
    expect(() => resolveHttpPolicy({ port: 70000 })).toThrow(/0 to 65535/);
    expect(() => resolveHttpPolicy({ allowedHosts: ["http://x/"] })).toThrow(/not a host name/);
  });
});

describe("trace2skill serve --http (built CLI process)", () => {
  it("prints the bound port, serves a client, and stops cleanly on SIGTERM", async () => {
    const dataDir = await tempDir();
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    delete env.TRACE2SKILL_TOKEN;
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "dist/cli/main.js"), "serve", "--http", "--port", "0"], {
      cwd: dataDir,
      env: { ...env, TRACE2SKILL_HOME: dataDir, TRACE2SKILL_SKILLS_DIR: path.join(dataDir, "export"), TRACE2SKILL_LOG: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      let stderr = "";
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (chunk: string) => {
          stderr += chunk;
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr);
          if (match?.[1]) resolve(match[1]);
        });
        void exited.then((code) => reject(new Error(`server exited (${code}) before listening:\n${stderr}`)));
      });
      const client = await connect(url);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("submit_trajectory");
      const res = await callTool(client, "submit_trajectory", run("print a boarding pass", true));
      expect(res.isError, textOf(res)).toBeFalsy();
      await client.close();
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 60_000);
});
