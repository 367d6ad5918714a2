import type { Engine } from "../engine.js";
import { log } from "../util/log.js";
import { createServer } from "./server.js";
import { BoundedStdioServerTransport } from "./stdio-transport.js";

/**
 * Largest stdio message read in full. Above our own payload limit (48 MiB per
 * submission), so a moderately oversize submission still reaches its tool and gets that
 * tool's clear isError; a message past this is discarded as it streams and, when it is a
 * request, answered with a JSON-RPC error, the server staying up. (The SDK's own transport
 * is quadratic in message size and closes the connection past its buffer: see
 * stdio-transport.ts.)
 */
export const STDIO_MAX_BUFFER = 64 * 1024 * 1024;

export async function runStdioServer(engine: Engine): Promise<void> {
  const { server, cleanup } = createServer(engine);
  const transport = new BoundedStdioServerTransport(process.stdin, process.stdout, { maxMessageBytes: STDIO_MAX_BUFFER });
  transport.onerror = (err) => log.error("stdio transport error", { error: err.message });
  await server.connect(transport);
  log.info("trace2skill MCP server ready on stdio", { store: engine.storeLocation });
  const shutdown = async () => {
    await cleanup().catch(() => undefined);
    process.exit(0);
  };
  process.stdin.on("end", shutdown);
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}
