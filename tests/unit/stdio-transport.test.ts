import { PassThrough } from "node:stream";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BoundedStdioServerTransport, LineSplitter, oversizeMessage } from "../../src/mcp/stdio-transport.js";

const CAP = 1024;

interface Harness {
  stdin: PassThrough;
  stdout: PassThrough;
  transport: BoundedStdioServerTransport;
  messages: JSONRPCMessage[];
  errors: Error[];
  /** Everything the transport wrote to stdout, one parsed JSON value per line. */
  written: () => unknown[];
}

const open: BoundedStdioServerTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

async function harness(cap = CAP): Promise<Harness> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let out = "";
  stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
  const transport = new BoundedStdioServerTransport(stdin, stdout, { maxMessageBytes: cap });
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  transport.onmessage = (m) => messages.push(m);
  transport.onerror = (e) => errors.push(e);
  await transport.start();
  open.push(transport);
  return {
    stdin,
    stdout,
    transport,
    messages,
    errors,
    written: () =>
      out
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as unknown),
  };
}

/** Lets the PassThrough streams deliver what was written. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const request = (id: number | string, method = "tools/list") => ({ jsonrpc: "2.0", id, method }) as const;
const line = (value: unknown) => JSON.stringify(value) + "\n";

describe("BoundedStdioServerTransport reading", () => {
  it("joins a message split across many chunks, byte by byte through a multi-byte character", async () => {
    const h = await harness();
    const msg = { jsonrpc: "2.0", id: 1, method: "ping", params: { note: "héllo — ✓" } };
    for (const byte of Buffer.from(line(msg), "utf8")) h.stdin.write(Buffer.from([byte]));
    await settle();
    expect(h.messages).toEqual([msg]);
    expect(h.errors).toEqual([]);
  });

  it("delivers several messages from one chunk in order, and accepts CRLF line ends", async () => {
    const h = await harness();
    h.stdin.write(JSON.stringify(request(1)) + "\r\n" + line(request(2)) + "\n" + line({ jsonrpc: "2.0", method: "notifications/initialized" }));
    await settle();
    expect(h.messages.map((m) => ("id" in m ? m.id : "notification"))).toEqual([1, 2, "notification"]);
    expect(h.errors).toEqual([]);
  });

  it("keeps a partial line until its newline arrives", async () => {
    const h = await harness();
    const text = line(request(7));
    h.stdin.write(text.slice(0, 10));
    await settle();
    expect(h.messages).toEqual([]);
    h.stdin.write(text.slice(10));
    await settle();
    expect(h.messages).toEqual([request(7)]);
  });

  it("reports a garbage line or a non-JSON-RPC value through onerror and goes on", async () => {
    const h = await harness();
    h.stdin.write("this is not json\n" + line({ hello: "world" }) + line(request(3)));
    await settle();
    expect(h.errors).toHaveLength(2);
    expect(h.errors[0]).toBeInstanceOf(SyntaxError);
    expect(h.messages).toEqual([request(3)]);
  });

  it("answers an over-cap request with an invalid-request error carrying its id, then serves later lines", async () => {
    const h = await harness();
    const big = { jsonrpc: "2.0", id: 42, method: "tools/call", params: { arguments: { raw: "y".repeat(5000) } } };
    const text = line(big);
    for (let i = 0; i < text.length; i += 300) h.stdin.write(text.slice(i, i + 300));
    h.stdin.write(line(request(43)));
    await settle();
    expect(h.messages).toEqual([request(43)]);
    const [reply] = h.written() as { id: unknown; error: { code: number; message: string } }[];
    expect(reply?.id).toBe(42);
    expect(reply?.error.code).toBe(-32600);
    expect(reply?.error.message).toBe(oversizeMessage(Buffer.byteLength(text) - 1, CAP));
    expect(reply?.error.message).toMatch(/over the 1\.0 KiB limit.*trace2skill ingest/);
  });

  it("finds the request id written after the huge params (as the SDK's client does), not one nested inside them", async () => {
    const h = await harness();
    const nested = { trajectory: { id: 999, steps: [{ id: "inner", text: "z".repeat(3000) }] } };
    h.stdin.write(line({ method: "tools/call", params: { arguments: nested }, jsonrpc: "2.0", id: "req-\"7\"" }));
    await settle();
    expect((h.written()[0] as { id: unknown }).id).toBe('req-"7"');
  });

  it("skips an over-cap line that has no request id, and one that is a response, without replying", async () => {
    const h = await harness();
    h.stdin.write(line({ jsonrpc: "2.0", method: "notifications/message", params: { data: "x".repeat(4000) } }));
    h.stdin.write(line({ jsonrpc: "2.0", id: 5, result: { content: "x".repeat(4000) } }));
    h.stdin.write("q".repeat(5000) + "\n");
    h.stdin.write(line(request(6)));
    await settle();
    expect(h.written()).toEqual([]);
    expect(h.messages).toEqual([request(6)]);
    expect(h.errors).toEqual([]);
  });

  it("accepts a message of exactly the cap", async () => {
    const h = await harness();
    const base = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "" } });
    const msg = { jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "p".repeat(CAP - base.length) } };
    expect(JSON.stringify(msg).length).toBe(CAP);
    h.stdin.write(line(msg));
    await settle();
    expect(h.messages).toEqual([msg]);
  });
});

describe("BoundedStdioServerTransport lifecycle and writing", () => {
  it("writes each message as one JSON line and waits for 'drain' when stdout is full", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough({ highWaterMark: 16 });
    const transport = new BoundedStdioServerTransport(stdin, stdout);
    open.push(transport);
    await transport.start();
    let sent = false;
    const sending = transport.send({ jsonrpc: "2.0", id: 1, result: { big: "b".repeat(100) } }).then(() => (sent = true));
    await settle();
    expect(sent).toBe(false);
    const written = String(stdout.read());
    await sending;
    expect(sent).toBe(true);
    expect(written.endsWith("\n")).toBe(true);
    expect(JSON.parse(written)).toEqual({ jsonrpc: "2.0", id: 1, result: { big: "b".repeat(100) } });
  });

  it("refuses a second start, and on close stops reading, pauses stdin and calls onclose", async () => {
    const h = await harness();
    await expect(h.transport.start()).rejects.toThrow(/already started/);
    const onclose = vi.fn();
    h.transport.onclose = onclose;
    await h.transport.close();
    expect(onclose).toHaveBeenCalledOnce();
    expect(h.stdin.isPaused()).toBe(true);
    h.stdin.write(line(request(1)));
    await settle();
    expect(h.messages).toEqual([]);
  });

  it("passes stdin stream errors to onerror", async () => {
    const h = await harness();
    h.stdin.emit("error", new Error("pipe broke"));
    expect(h.errors.map((e) => e.message)).toEqual(["pipe broke"]);
  });
});

describe("LineSplitter", () => {
  it("counts the full size of an over-cap line across chunks and forgets it afterwards", () => {
    const splitter = new LineSplitter(10);
    expect(splitter.push(Buffer.from('{"id":1,"method":"m","x":"'))).toEqual([]);
    expect(splitter.push(Buffer.from("a".repeat(100)))).toEqual([]);
    const events = splitter.push(Buffer.from('"}\n{"a":1}\n'));
    expect(events).toEqual([
      { kind: "oversize", bytes: 26 + 100 + 2, requestId: 1 },
      { kind: "line", text: '{"a":1}' },
    ]);
  });

  it("ignores blank lines", () => {
    expect(new LineSplitter(10).push(Buffer.from("\n\r\n\n"))).toEqual([]);
  });
});

describe("BoundedStdioServerTransport and lines that are not JSON-RPC (issue 11, item 9)", () => {
  it("answers a line that is not JSON with error -32700 and id null, and keeps serving", async () => {
    const h = await harness();
    h.stdin.write("this is not json\n");
    h.stdin.write(line(request(7)));
    await settle();
    expect(h.written()).toEqual([{ jsonrpc: "2.0", id: null, error: { code: -32700, message: expect.stringMatching(/^Parse error: the line is not valid JSON/) } }]);
    expect(h.messages).toEqual([request(7)]);
  });

  it("answers JSON that is not a JSON-RPC message with error -32600, naming its id when it has one", async () => {
    const h = await harness();
    h.stdin.write(line({ id: 3, hello: "world" }));
    h.stdin.write(line([1, 2, 3]));
    await settle();
    expect(h.written()).toEqual([
      { jsonrpc: "2.0", id: 3, error: { code: -32600, message: expect.stringMatching(/^Invalid Request: not a JSON-RPC 2\.0 message/) } },
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: expect.stringMatching(/^Invalid Request/) } },
    ]);
    expect(h.messages).toEqual([]);
  });
});
