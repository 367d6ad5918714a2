import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Engine } from "../../src/engine.js";
import { REPO_ROOT, TAU_FIXTURE, callTool, connectInMemory, openTestEngine, textOf } from "../helpers/mcp.js";

const tau = JSON.parse(await readFile(TAU_FIXTURE, "utf8")) as unknown[];

describe("MCP surface over the in-memory transport", () => {
  let engine: Engine;
  let client: Client;

  beforeAll(async () => {
    engine = await openTestEngine();
    client = await connectInMemory(engine);
  });
  afterAll(async () => {
    await client.close();
  });

  it("lists the foundation tools with input and output schemas and honest annotations", async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["submit_trajectory", "get_skill", "list_skills", "import_skill", "set_outcome"]));
    for (const tool of tools) {
      expect(tool.outputSchema, tool.name).toBeDefined();
      expect(tool.description?.length ?? 0, tool.name).toBeGreaterThan(40);
    }
    expect(tools.find((t) => t.name === "get_skill")?.annotations?.readOnlyHint).toBe(true);
    expect(tools.find((t) => t.name === "submit_trajectory")?.annotations?.readOnlyHint).toBe(false);
  });

  it("submits a raw tau-bench record, answers with its id, and is idempotent", async () => {
    const first = await callTool(client, "submit_trajectory", { raw: tau[0], format: "tau-bench", skill: "airline-support" });
    expect(first.isError).toBeFalsy();
    const sc = first.structuredContent as { id: string; created: number; duplicates: number };
    expect(sc.id).toMatch(/^[0-9a-f]{64}$/);
    expect(sc.created).toBe(1);
    const again = await callTool(client, "submit_trajectory", { raw: tau[0], format: "tau-bench", skill: "airline-support" });
    expect((again.structuredContent as { id: string }).id).toBe(sc.id);
    expect((again.structuredContent as { duplicates: number }).duplicates).toBe(1);

    const resource = await client.readResource({ uri: `trajectory://${sc.id}` });
    const stored = JSON.parse((resource.contents[0] as { text: string }).text) as { skill: string; outcome: { success: boolean; expected?: string } };
    expect(stored.skill).toBe("airline-support");
    expect(stored.outcome.success).toBe(false);
  });

  it("accepts the canonical object and records an outcome later", async () => {
    const res = await callTool(client, "submit_trajectory", {
      trajectory: {
        skill: "demo-skill",
        task: "say hello",
        steps: [
          { role: "user", text: "hi" },
          { role: "assistant", text: "hello", toolCalls: [{ name: "greet", arguments: { who: "you" } }] },
          { role: "tool", toolResult: { name: "greet", content: "ok", isError: false } },
        ],
      },
    });
    expect(res.isError).toBeFalsy();
    const id = (res.structuredContent as { id: string }).id;
    const set = await callTool(client, "set_outcome", { id, outcome: { success: true, feedback: "user happy" } });
    expect(set.isError).toBeFalsy();
    expect((await engine.getTrajectory(id)).outcome).toMatchObject({ success: true, feedback: "user happy" });
  });

  it("redacts planted secrets and says how many", async () => {
    const secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
    const res = await callTool(client, "submit_trajectory", {
      format: "openai-messages",
      skill: "demo-skill",
      raw: [
        { role: "user", content: "deploy it" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "deploy", arguments: JSON.stringify({ key: secret }) } }] },
        { role: "tool", tool_call_id: "c1", content: `used key ${secret}` },
      ],
    });
    expect(res.isError).toBeFalsy();
    const sc = res.structuredContent as { id: string; redactions: number };
    expect(sc.redactions).toBeGreaterThanOrEqual(2);
    expect(textOf(res)).toMatch(/redacted/);
    const all = await grepDir(engine.dataDir, secret);
    expect(all).toEqual([]);
  });

  it("answers bad inputs with isError and stores nothing", async () => {
    const before = (await engine.listTrajectories()).length;
    const cases: Record<string, unknown>[] = [
      { raw: [{ role: "user", content: "x" }], format: "no-such-format" },
      { raw: { hello: "world" } },
      { raw: [{ role: "user", content: "x" }], format: "openai-messages", skill: "../../etc" },
      { trajectory: { steps: "not an array" } },
      { raw: "x".repeat(50 * 1024 * 1024), format: "openai-messages" },
      {},
      { trajectory: { steps: [{ role: "user", text: "a" }] }, raw: [] },
    ];
    for (const args of cases) {
      const res = await callTool(client, "submit_trajectory", args);
      expect(res.isError, JSON.stringify(args).slice(0, 80)).toBe(true);
      expect(textOf(res).length).toBeGreaterThan(10);
    }
    const unknown = await callTool(client, "submit_trajectory", { raw: [{ role: "user", content: "x" }], format: "no-such-format" });
    expect(textOf(unknown)).toMatch(/openai-messages/);
    const tooBig = await callTool(client, "submit_trajectory", { raw: "x".repeat(50 * 1024 * 1024), format: "openai-messages" });
    expect(textOf(tooBig)).toMatch(/limit/i);
    const wrongType = await callTool(client, "get_skill", { skill: 42 });
    expect(wrongType.isError).toBe(true);
    expect((await engine.listTrajectories()).length).toBe(before);
    const entries = await readdir(path.join(engine.dataDir));
    expect(entries).not.toContain("etc");
  });

  it("imports the sample skill, serves it as a tool result and as a resource", async () => {
    const imported = await callTool(client, "import_skill", { path: path.join(REPO_ROOT, "skills/airline-support") });
    expect(imported.isError, textOf(imported)).toBeFalsy();
    expect(imported.structuredContent).toMatchObject({ skill: "airline-support", version: 1, status: "active" });

    const got = await callTool(client, "get_skill", { skill: "airline-support" });
    const view = got.structuredContent as { file: { path: string; content: string }; files: { path: string }[] };
    expect(view.file.path).toBe("SKILL.md");
    expect(view.file.content).toMatch(/^---\nname: airline-support/);

    const listed = await callTool(client, "list_skills", {});
    const skills = (listed.structuredContent as { skills: { name: string; trajectories: { total: number } }[] }).skills;
    expect(skills.find((s) => s.name === "airline-support")?.trajectories.total).toBeGreaterThanOrEqual(1);

    const resources = await client.listResources();
    expect(resources.resources.map((r) => r.uri)).toContain("skill://airline-support/SKILL.md");
    const read = await client.readResource({ uri: "skill://airline-support/SKILL.md" });
    expect((read.contents[0] as { text: string }).text).toBe(view.file.content);

    await expect(client.readResource({ uri: `trajectory://${"0".repeat(64)}` })).rejects.toMatchObject({ code: -32002 });
    await expect(client.readResource({ uri: "skill://no-such-skill/SKILL.md" })).rejects.toMatchObject({ code: -32002 });
    await expect(client.readResource({ uri: "skill://airline-support/..%2F..%2Fetc%2Fpasswd" })).rejects.toMatchObject({ code: -32602 });

    const escape = await callTool(client, "get_skill", { skill: "airline-support", file: "../../../etc/passwd" });
    expect(escape.isError).toBe(true);
    const badName = await callTool(client, "get_skill", { skill: "../../etc" });
    expect(badName.isError).toBe(true);
  });
});

async function grepDir(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    if ((await readFile(full, "utf8")).includes(needle)) hits.push(full);
  }
  return hits;
}
