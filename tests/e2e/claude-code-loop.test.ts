import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Engine } from "../../src/engine.js";
import { CLI_PATH, homeEnv, runCli } from "../helpers/cli.js";
import { sessionTurns, transcriptAfter } from "../helpers/claude-session.js";
import { callTool, connectInMemory, openTestEngine, tempDir } from "../helpers/mcp.js";

/**
 * The Claude Code loop as docs/clients.md promises it, with no manual labelling: hook events
 * of growing sessions (Stop after every answer) → one stored run per session → evolve judges
 * the unlabelled runs and makes a draft from them → it lands in the project's .claude/skills;
 * runs can be listed and deleted from the CLI and over MCP.
 */

const SKILL = "my-project";

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

describe("the Claude Code loop: hooked sessions → judged runs → a draft in .claude/skills", () => {
  let home: string;
  let project: string;
  let env: Record<string, string>;
  const cli = (args: string[], stdin?: string) => runCli(args, { env, cwd: project, stdin });

  /** What Claude Code does on Stop (or SessionEnd): the hook command with its JSON on stdin. */
  async function hookEvent(session: string, transcript: string, event: "Stop" | "SessionEnd") {
    const file = path.join(home, `${session}.jsonl`);
    await writeFile(file, transcript);
    const stdin = JSON.stringify({ session_id: session, transcript_path: file, cwd: project, hook_event_name: event, stop_hook_active: false });
    const res = await runCli(["hook", "claude-code", "--skill", SKILL], { env, cwd: project, stdin });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe("");
    return res.stderr;
  }

  beforeAll(async () => {
    home = await tempDir("t2s-loop-home-");
    project = await tempDir("t2s-loop-project-");
    await mkdir(path.join(project, ".claude", "skills"), { recursive: true });
    env = homeEnv(home);
  });

  it("stores a session hooked 30 times (1.1 MB transcript) as one run, within 2.5 MB on disk", async () => {
    const turns = sessionTurns({ task: "Fix the flaky retry test.", turns: 30, succeeds: false, outputBytes: 36_000 });
    const full = transcriptAfter(turns, 30);
    expect(Buffer.byteLength(full)).toBeGreaterThan(1_050_000);
    for (let stop = 1; stop <= 30; stop++) {
      const said = await hookEvent("session-long", transcriptAfter(turns, stop), "Stop");
      expect(said).toMatch(/trace2skill: stored/);
    }
    const listed = await cli(["runs", "--skill", SKILL, "--json"]);
    const runs = (JSON.parse(listed.stdout) as { runs: { id: string; steps: number; session: string; outcome: string }[] }).runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ session: "session-long", outcome: "unknown" });
    expect(runs[0]?.steps).toBeGreaterThanOrEqual(120);
    expect(await dirBytes(home)).toBeLessThan(2.5 * 1024 * 1024 + Buffer.byteLength(full));
    expect(await dirBytes(path.join(home, "trajectories"))).toBeLessThan(2.5 * 1024 * 1024);
  }, 120_000);

  it("stores a 12 MiB session with its longest tool outputs cut instead of refusing it", async () => {
    const turns = sessionTurns({ task: "Chase the memory leak.", turns: 4, succeeds: false, outputBytes: 3 * 1024 * 1024 });
    const transcript = transcriptAfter(turns, 4);
    expect(Buffer.byteLength(transcript)).toBeGreaterThan(12 * 1024 * 1024);
    expect(await hookEvent("session-huge", transcript, "SessionEnd")).toMatch(/trace2skill: stored 1 run.*tool output\(s\) cut to fit the 8\.0 MiB per-run limit/);
    const runs = JSON.parse((await cli(["runs", "--json"])).stdout) as { runs: { id: string; session: string; bytes: number }[] };
    const huge = runs.runs.find((r) => r.session === "session-huge");
    expect(huge?.bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    const shown = await cli(["runs", huge!.id.slice(0, 12), "--json"]);
    expect(shown.stdout).toMatch(/bytes cut here: the run was over the 8\.0 MiB per-run limit/);
    expect((await cli(["delete-run", huge!.id])).code).toBe(0);
  }, 60_000);

  it("judges the unlabelled sessions and evolves a draft from them, with no label given by anyone", async () => {
    const sessions = [
      { id: "session-ok-1", succeeds: true },
      { id: "session-ok-2", succeeds: true },
      { id: "session-bad-1", succeeds: false },
    ];
    for (const s of sessions) {
      const turns = sessionTurns({ task: `Make the retry tests pass (${s.id}).`, turns: 3, succeeds: s.succeeds });
      await hookEvent(s.id, transcriptAfter(turns, 2), "Stop");
      await hookEvent(s.id, transcriptAfter(turns, 3), "SessionEnd");
    }
    expect(JSON.parse((await cli(["runs", "--skill", SKILL, "--json"])).stdout).runs).toHaveLength(4);

    const evolved = await cli(["evolve", "--skill", SKILL, "--purpose", "Fix failing tests in this project"]);
    expect(evolved.code, evolved.stderr).toBe(0);
    expect(evolved.stdout).toContain("Judged 4 run(s) without a recorded outcome (heuristic judge): 2 succeeded, 2 failed, 0 unknown.");
    expect(evolved.stdout).toMatch(/^New draft: my-project v2 \(from v1\)/m);

    const judged = JSON.parse((await cli(["runs", "--skill", SKILL, "--outcome", "judged", "--json"])).stdout) as { runs: { outcome: string }[] };
    expect(judged.runs.map((r) => r.outcome).sort()).toEqual(["failure", "failure", "success", "success"]);

    const promoted = await cli(["promote", SKILL, "2", "--to", path.join(project, ".claude", "skills")]);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect((await stat(path.join(project, ".claude", "skills", SKILL, "SKILL.md"))).isFile()).toBe(true);
  }, 120_000);

  describe("over MCP", () => {
    let client: Client;
    let engine: Engine;
    beforeAll(async () => {
      engine = await openTestEngine(home);
      client = await connectInMemory(engine);
    });
    afterAll(async () => {
      await client.close();
    });

    it("lists the runs with who set their outcome, and deletes one with what was derived from it", async () => {
      const listed = await callTool(client, "list_trajectories", { skill: SKILL });
      const { runs, total } = listed.structuredContent as { total: number; runs: { id: string; outcomeBy: string; judge: string; session: string }[] };
      expect(total).toBe(4);
      expect(runs.every((r) => r.outcomeBy === "judged" && r.judge === "heuristic")).toBe(true);
      const victim = runs.find((r) => r.session === "session-bad-1");
      const deleted = await callTool(client, "delete_trajectories", { ids: [victim!.id.slice(0, 12)] });
      expect(deleted.isError).toBeFalsy();
      const out = deleted.structuredContent as { deleted: string[]; analysesRemoved: number; citedBy: { skill: string; version: number }[] };
      expect(out.deleted).toEqual([victim!.id]);
      expect(out.analysesRemoved).toBeGreaterThan(0);
      expect(out.citedBy).toEqual(expect.arrayContaining([expect.objectContaining({ skill: SKILL, version: 2 })]));
      // The version's provenance keeps the id, marked deleted.
      const provenance = (await engine.versionDetail(SKILL, 2)).provenance;
      expect(provenance.some((p) => p.support.includes(victim!.id) && p.deletedSupport?.includes(victim!.id))).toBe(true);
      const after = await callTool(client, "list_trajectories", { skill: SKILL });
      expect((after.structuredContent as { total: number }).total).toBe(3);
      const resource = await client.readResource({ uri: `trajectory://${victim!.id}` }).catch((err: Error) => err);
      expect(resource).toBeInstanceOf(Error);
    });

    it("deletes from the CLI too: `delete-run` by prefix, and `runs` no longer lists it", async () => {
      const before = JSON.parse((await cli(["runs", "--skill", SKILL, "--json"])).stdout) as { runs: { id: string; session: string }[] };
      const long = before.runs.find((r) => r.session === "session-long")!;
      const res = await cli(["delete-run", long.id.slice(0, 10)]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/Deleted 1 run\(s\)/);
      const after = JSON.parse((await cli(["runs", "--skill", SKILL, "--json"])).stdout) as { runs: unknown[] };
      expect(after.runs).toHaveLength(2);
      expect(await dirBytes(path.join(home, "trajectories"))).toBeLessThan(200_000);
    });
  });
});

void CLI_PATH;
