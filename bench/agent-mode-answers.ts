/**
 * How big are agent mode's answers, and how many calls does a fan-out take?
 *   node --import tsx bench/agent-mode-answers.ts [--fan-in 5]
 *
 * Imports the sample airline skill and the 100 tau-bench runs, then drives a whole agent-mode
 * evolve through a real MCP client (in memory) that reads only structuredContent, follows
 * `next`, and fans out every pending item of each stage at once (tests/helpers/agent.ts: the
 * "subagents" answer from each brief's responseSchema). Prints the size of tools/list, the
 * largest answer of each tool (chars, and tokens as chars / 4: Claude Code shows at most 25k),
 * and each stage's fan-out.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Engine } from "../src/engine.js";
import { createServer } from "../src/mcp/server.js";
import { StructuredOnlyAgent } from "../tests/helpers/agent.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURE = path.join(ROOT, "fixtures/tau-bench/gpt-4o-airline.tasks-00-24.json");
const SKILL = "airline-support";

const { values } = parseArgs({ options: { "fan-in": { type: "string", default: "5" } } });
const fanIn = Number(values["fan-in"]);

const dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-bench-agent-"));
try {
  const engine = await Engine.open({ dataDir, skillsDir: path.join(dataDir, "export") });
  await engine.importSkill(path.join(ROOT, "skills", SKILL));
  await engine.submit({ raw: await readFile(FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
  const { server } = createServer(engine);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "bench", version: "1" });
  await Promise.all([server.connect(b), client.connect(a)]);

  const { tools } = await client.listTools();
  const visible = tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema }));
  console.log(`tools/list: ${tools.length} tools, ${JSON.stringify({ tools }).length} chars in all; ` +
    `${JSON.stringify(visible).length} chars of names, descriptions and input schemas (what a model reads)`);

  const agent = new StructuredOnlyAgent(client);
  const started = Date.now();
  const view = await agent.drive({ tool: "evolve_skill", arguments: { skill: SKILL, provider: "agent", fanIn, waitSeconds: 30 } });
  const seconds = (Date.now() - started) / 1000;
  const result = view.result as { status: string; version: number } | null;
  console.log(`\nresult: ${result?.status} v${result?.version} in ${seconds.toFixed(1)} s, ${agent.answers.length} calls\n`);

  console.log("| tool | calls | largest structuredContent (chars) | tokens (chars/4) | largest text (chars) |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  const byTool = new Map<string, { chars: number; text: number }[]>();
  for (const a of agent.answers) byTool.set(a.tool, [...(byTool.get(a.tool) ?? []), { chars: a.chars, text: a.textChars }]);
  const n = (x: number) => x.toLocaleString("en");
  for (const [tool, sizes] of byTool) {
    const largest = Math.max(...sizes.map((x) => x.chars));
    const text = Math.max(...sizes.map((x) => x.text));
    console.log(`| ${tool} | ${sizes.length} | ${n(largest)} | ${n(Math.ceil(largest / 4))} | ${n(text)} |`);
  }

  console.log("\n| stage | pending at once | listed on the first page |");
  console.log("| --- | ---: | ---: |");
  for (const l of agent.listings.filter((x) => x.stage !== "ready")) {
    console.log(`| ${l.stage}${l.level ? ` level ${l.level}/${l.levels}` : ""} | ${l.pending} | ${l.items.length} |`);
  }
  await client.close();
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
