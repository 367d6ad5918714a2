import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT, TAU_FIXTURE, callTool, connectStdioFromMcpJson, openTestEngine, tempDir, textOf } from "../helpers/mcp.js";

const tau = JSON.parse(await readFile(TAU_FIXTURE, "utf8")) as unknown[];

describe("the server started exactly as mcp.json says (real stdio process)", () => {
  it("lists tools, takes the 100 fixture runs, reads them back, and is idempotent", async () => {
    const dataDir = await tempDir();
    const client = await connectStdioFromMcpJson(dataDir);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("submit_trajectory");

      const ids: string[] = [];
      for (const record of tau) {
        const res = await callTool(client, "submit_trajectory", { raw: record, format: "tau-bench", skill: "airline-support" });
        expect(res.isError, textOf(res)).toBeFalsy();
        ids.push((res.structuredContent as { id: string }).id);
      }
      expect(new Set(ids).size).toBe(100);

      const again = await callTool(client, "submit_trajectory", { raw: tau[7], format: "tau-bench", skill: "airline-support" });
      expect((again.structuredContent as { id: string; created: number }).id).toBe(ids[7]);
      expect((again.structuredContent as { created: number }).created).toBe(0);

      for (const id of [ids[0], ids[50], ids[99]]) {
        const read = await client.readResource({ uri: `trajectory://${id}` });
        const t = JSON.parse((read.contents[0] as { text: string }).text) as { id: string; steps: unknown[] };
        expect(t.id).toBe(id);
        expect(t.steps.length).toBeGreaterThan(2);
      }

      const tooBig = await callTool(client, "submit_trajectory", { raw: "y".repeat(20 * 1024 * 1024), format: "openai-messages" });
      expect(tooBig.isError).toBe(true);
      const stillAlive = await callTool(client, "list_skills", {});
      expect(stillAlive.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    const engine = await openTestEngine(dataDir);
    const rows = await engine.listTrajectories({ skill: "airline-support" });
    expect(rows.length).toBe(100);
    expect(rows.filter((r) => r.success === true).length).toBe(31);
  }, 120_000);

  it("several server processes submitting to one data dir at once lose nothing", async () => {
    const dataDir = await tempDir();
    const clients = await Promise.all([0, 1, 2, 3].map(() => connectStdioFromMcpJson(dataDir)));
    try {
      const slices = clients.map((_, i) => tau.slice(i * 25, i * 25 + 25));
      const results = await Promise.all(
        clients.map(async (client, i) => {
          const ids: string[] = [];
          await Promise.all(
            slices[i]!.map(async (record) => {
              const res = await callTool(client, "submit_trajectory", { raw: record, format: "tau-bench", skill: "airline-support" });
              expect(res.isError, textOf(res)).toBeFalsy();
              ids.push((res.structuredContent as { id: string }).id);
            }),
          );
          return ids;
        }),
      );
      const all = results.flat();
      expect(new Set(all).size).toBe(100);
      const engine = await openTestEngine(dataDir);
      const rows = await engine.listTrajectories();
      expect(rows.map((r) => r.id).sort()).toEqual([...all].sort());
      for (const id of all) expect((await engine.getTrajectory(id)).id).toBe(id);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 120_000);

  it("runs the whole loop from a real client: import, submit, evolve, review, promote", async () => {
    const dataDir = await tempDir();
    const client = await connectStdioFromMcpJson(dataDir);
    try {
      const imported = await callTool(client, "import_skill", { path: path.join(REPO_ROOT, "skills/airline-support") });
      expect(imported.isError, textOf(imported)).toBeFalsy();
      for (const record of tau) {
        const res = await callTool(client, "submit_trajectory", { raw: record, format: "tau-bench", skill: "airline-support" });
        expect(res.isError, textOf(res)).toBeFalsy();
      }
      const evolved = await callTool(client, "evolve_skill", { skill: "airline-support", provider: "heuristic", waitSeconds: 55 });
      expect(evolved.isError, textOf(evolved)).toBeFalsy();
      const run = evolved.structuredContent as { stage: string; versionPath: string; result: { status: string; version: number } };
      expect(run.stage).toBe("done");
      expect(run.result.status).toBe("draft");
      const { stdout } = await promisify(execFile)(path.join(REPO_ROOT, "node_modules/.bin/skills-ref"), ["validate", run.versionPath]);
      expect(stdout).toMatch(/Valid skill/);

      const history = await callTool(client, "skill_history", { skill: "airline-support", diffTo: run.result.version });
      expect(textOf(history)).toMatch(/^\+.*returned the error "/m);
      const promoted = await callTool(client, "promote_skill_version", { skill: "airline-support", version: run.result.version });
      expect(promoted.isError, textOf(promoted)).toBeFalsy();
      const active = await callTool(client, "get_skill", { skill: "airline-support" });
      expect((active.structuredContent as { version: number; status: string }).version).toBe(run.result.version);
      expect((active.structuredContent as { status: string }).status).toBe("active");
    } finally {
      await client.close();
    }
  }, 120_000);
});
