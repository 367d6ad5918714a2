import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, tempDir } from "../helpers/mcp.js";

const MiB = 1024 * 1024;

interface Reply {
  id: number | string;
  result?: { isError?: boolean; content?: { type: string; text: string }[]; tools?: { name: string }[] };
  error?: { code: number; message: string };
}

/**
 * Raw JSON-RPC lines written to the built server's stdin, so the test controls exactly what
 * goes over the pipe (the SDK's client would refuse nothing, but hides the wire).
 */
class RawStdioClient {
  readonly stdoutLines: string[] = [];
  private pending = "";
  private readonly waiting = new Map<number | string, (reply: Reply) => void>();
  exitCode: number | null | undefined;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => this.read(text));
    child.stderr.resume();
    child.on("exit", (code) => (this.exitCode = code));
  }

  /** Sends one line and resolves with the reply carrying `id`; `line` must hold that id. */
  call(id: number | string, line: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.child.once("exit", (code) => reject(new Error(`server exited (${code}) before answering ${id}`)));
      this.child.stdin.write(line + "\n");
    });
  }

  notify(message: object): void {
    this.child.stdin.write(JSON.stringify(message) + "\n");
  }

  private read(text: string): void {
    this.pending += text;
    let newline: number;
    while ((newline = this.pending.indexOf("\n")) !== -1) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      this.stdoutLines.push(line);
      const reply = JSON.parse(line) as Reply;
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    }
  }
}

describe("the built stdio server with very large messages", () => {
  let child: ChildProcessWithoutNullStreams;
  let client: RawStdioClient;

  beforeAll(async () => {
    const home = await tempDir();
    child = spawn(process.execPath, [path.join(REPO_ROOT, "dist/cli/main.js"), "serve"], {
      cwd: REPO_ROOT,
      env: { ...process.env, TRACE2SKILL_HOME: home, TRACE2SKILL_SKILLS_DIR: path.join(home, "export"), TRACE2SKILL_LOG: "warn" },
    });
    client = new RawStdioClient(child);
    const init = await client.call(
      1,
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
      }),
    );
    expect(init.error).toBeUndefined();
    client.notify({ jsonrpc: "2.0", method: "notifications/initialized" });
  });
  afterAll(() => {
    child.kill();
  });

  it("answers a 50 MiB submission with the tool's own over-48-MiB error, in seconds", async () => {
    const started = Date.now();
    const reply = await client.call(
      2,
      JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "submit_trajectory", arguments: { raw: "y".repeat(50 * MiB), format: "openai-messages" } },
      }),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(reply.result?.isError).toBe(true);
    expect(reply.result?.content?.[0]?.text).toMatch(/50\.0 MiB, over the limit of 48\.0 MiB/);
  });

  it("answers a 70 MiB request (id written last, as the SDK's client does) with a JSON-RPC error and stays up", async () => {
    const started = Date.now();
    const line = JSON.stringify({
      method: "tools/call",
      params: { name: "submit_trajectory", arguments: { raw: "y".repeat(70 * MiB), format: "openai-messages" } },
      jsonrpc: "2.0",
      id: "big-3",
    });
    const reply = await client.call("big-3", line);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(reply.error?.code).toBe(-32600);
    expect(reply.error?.message).toMatch(/Message of 70\.0 MiB is over the 64\.0 MiB limit.*trace2skill ingest/);

    const tools = await client.call(4, JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/list" }));
    expect(tools.result?.tools?.map((t) => t.name)).toContain("submit_trajectory");
    expect(client.exitCode).toBeUndefined();
    // stdout carried protocol messages only: every line was a JSON-RPC reply.
    expect(client.stdoutLines).toHaveLength(4);
  });
});
