import process from "node:process";
import type { Readable, Writable } from "node:stream";
import { serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage, type RequestId } from "@modelcontextprotocol/sdk/types.js";
import { formatBytes } from "../util/errors.js";
import { log } from "../util/log.js";

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * The top level of an oversize message, nested values elided, is all we keep of it; past
 * this it cannot be a sane request envelope and we stop recording.
 */
const MAX_ENVELOPE_BYTES = 4 * 1024;

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Reduces a JSON text streamed through it to its top-level envelope, with every nested
 * object or array emptied: `{"method":"tools/call","params":{},"jsonrpc":"2.0","id":7}`.
 * Needed because clients put the id anywhere: the SDK's own client writes it last, after
 * the huge params, and a regex on the first bytes would find an id nested in the payload.
 */
class EnvelopeRecorder {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private readonly kept: number[] = [];
  private overflow = false;

  feed(bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        if (this.depth <= 1) this.keep(b);
        continue;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) this.depth--;
      if (this.depth <= 1) this.keep(b);
      if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
    }
  }

  /** The id of the request this was, when its envelope is a JSON-RPC request. */
  requestId(): RequestId | undefined {
    if (this.overflow) return undefined;
    try {
      const envelope: unknown = JSON.parse(Buffer.from(this.kept).toString("utf8"));
      if (typeof envelope !== "object" || envelope === null) return undefined;
      const { id, method } = envelope as { id?: unknown; method?: unknown };
      if (typeof method !== "string") return undefined;
      return typeof id === "string" || typeof id === "number" ? id : undefined;
    } catch {
      return undefined;
    }
  }

  private keep(b: number): void {
    if (this.kept.length >= MAX_ENVELOPE_BYTES) this.overflow = true;
    else this.kept.push(b);
  }
}

export type LineEvent = { kind: "line"; text: string } | { kind: "oversize"; bytes: number; requestId: RequestId | undefined };

/**
 * Splits a byte stream into newline-delimited lines in linear time: chunks are kept in a
 * list and joined once per line, and only each new chunk is searched for the newline.
 * A line that grows past `maxLineBytes` is dropped as it streams; only its envelope is kept.
 */
export class LineSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private oversize: { bytes: number; envelope: EnvelopeRecorder } | undefined;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): LineEvent[] {
    const events: LineEvent[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      this.take(chunk.subarray(start, newline === -1 ? chunk.length : newline));
      if (newline === -1) break;
      const event = this.endLine();
      if (event) events.push(event);
      start = newline + 1;
    }
    return events;
  }

  clear(): void {
    this.chunks = [];
    this.buffered = 0;
    this.oversize = undefined;
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.oversize) {
      this.oversize.bytes += piece.length;
      this.oversize.envelope.feed(piece);
      return;
    }
    if (this.buffered + piece.length <= this.maxLineBytes) {
      this.chunks.push(piece);
      this.buffered += piece.length;
      return;
    }
    const envelope = new EnvelopeRecorder();
    for (const held of this.chunks) envelope.feed(held);
    envelope.feed(piece);
    this.oversize = { bytes: this.buffered + piece.length, envelope };
    this.chunks = [];
    this.buffered = 0;
  }

  private endLine(): LineEvent | undefined {
    const { oversize } = this;
    if (oversize) {
      this.clear();
      return { kind: "oversize", bytes: oversize.bytes, requestId: oversize.envelope.requestId() };
    }
    const text = Buffer.concat(this.chunks, this.buffered).toString("utf8").replace(/\r$/, "");
    this.clear();
    return text.length > 0 ? { kind: "line", text } : undefined;
  }
}

export interface StdioTransportOptions {
  /** Largest message accepted, in bytes; larger ones are discarded and answered with an error. */
  maxMessageBytes?: number;
}

export function oversizeMessage(bytes: number, limit: number): string {
  return (
    `Message of ${formatBytes(bytes)} is over the ${formatBytes(limit)} limit of this server's stdio transport and was discarded. ` +
    `Send large runs with the CLI (trace2skill ingest <file>), or split them into smaller submissions.`
  );
}

/**
 * Server side of MCP over stdin/stdout, with the SDK StdioServerTransport's start/close/send
 * behaviour. It exists because the SDK's read buffer re-concatenates on every chunk
 * (quadratic: a 40 MB call took over a minute) and closes the connection on an oversize
 * message; here reading is linear and an oversize request gets an error reply instead.
 */
export class BoundedStdioServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly lines: LineSplitter;
  private readonly maxMessageBytes: number;
  private started = false;

  constructor(
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
    options: StdioTransportOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.lines = new LineSplitter(this.maxMessageBytes);
  }

  async start(): Promise<void> {
    if (this.started) throw new Error("BoundedStdioServerTransport already started (Server.connect() starts it).");
    this.started = true;
    this.stdin.on("data", this.onData);
    this.stdin.on("error", this.onStreamError);
  }

  async close(): Promise<void> {
    this.stdin.off("data", this.onData);
    this.stdin.off("error", this.onStreamError);
    // Pausing is only ours to do when nobody else in the process reads stdin.
    if (this.stdin.listenerCount("data") === 0) this.stdin.pause();
    this.lines.clear();
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(serializeMessage(message))) resolve();
      else this.stdout.once("drain", resolve);
    });
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    for (const event of this.lines.push(bytes)) {
      if (event.kind === "line") this.deliver(event.text);
      else this.refuse(event.bytes, event.requestId);
    }
  };

  private readonly onStreamError = (error: Error): void => {
    this.onerror?.(error);
  };

  /**
   * A line that is not JSON is answered with -32700 (parse error) and one that is JSON but not a
   * JSON-RPC message with -32600 (invalid request), as JSON-RPC 2.0 asks, so a client waiting on
   * it hears why instead of timing out; either way the line is reported and skipped.
   */
  private deliver(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      this.onerror?.(asError(error));
      this.reject(null, -32700, `Parse error: the line is not valid JSON (${asError(error).message.slice(0, 200)}). Send one JSON-RPC message per line.`);
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      this.onerror?.(new Error(`not a JSON-RPC message: ${parsed.error.message.slice(0, 200)}`));
      const id = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as { id?: unknown }).id : undefined;
      this.reject(
        typeof id === "string" || typeof id === "number" ? id : null,
        ErrorCode.InvalidRequest,
        'Invalid Request: not a JSON-RPC 2.0 message (it needs "jsonrpc": "2.0" and a method, or a result or error with an id).',
      );
      return;
    }
    try {
      this.onmessage?.(parsed.data);
    } catch (error) {
      this.onerror?.(asError(error));
    }
  }

  private reject(id: RequestId | null, code: number, message: string): void {
    // JSON-RPC answers an unreadable request with id null; the SDK's types have no such message, hence the cast.
    const answer = { jsonrpc: "2.0", id, error: { code, message } } as unknown as JSONRPCMessage;
    this.send(answer).catch((error: unknown) => this.onerror?.(asError(error)));
  }

  private refuse(bytes: number, requestId: RequestId | undefined): void {
    if (requestId === undefined) {
      log.warn("discarded an oversize stdio message that is not a request with an id", { bytes });
      return;
    }
    log.warn("refused an oversize stdio request", { bytes, id: requestId });
    this.send({ jsonrpc: "2.0", id: requestId, error: { code: ErrorCode.InvalidRequest, message: oversizeMessage(bytes, this.maxMessageBytes) } }).catch(
      (error: unknown) => this.onerror?.(asError(error)),
    );
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
