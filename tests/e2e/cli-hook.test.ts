import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { CLI_PATH, cleanEnv, runCli, type CliResult } from "../helpers/cli.js";
import { REPO_ROOT, openTestEngine, tempDir } from "../helpers/mcp.js";

const TRANSCRIPT = path.join(REPO_ROOT, "fixtures/formats/claude-code_tool-call.input.jsonl");

/** Runs a command line through the shell, as Claude Code runs a hook's `command`. */
function runShell(line: string, opts: { stdin: string; cwd: string; env: Record<string, string> }): Promise<CliResult> {
  return runCli(["-c", line], { ...opts, command: "/bin/sh" });
}

function hookInput(fields: Record<string, unknown>): string {
  return JSON.stringify({
    session_id: "3f1c2a9e-0000-4000-8000-123456789abc",
    transcript_path: TRANSCRIPT,
    cwd: "/home/me/My Project",
    permission_mode: "default",
    hook_event_name: "Stop",
    stop_hook_active: false,
    ...fields,
  });
}

let home: string;
let env: Record<string, string>;

beforeEach(async () => {
  home = await tempDir("t2s-hook-home-");
  env = cleanEnv({ TRACE2SKILL_HOME: home, TRACE2SKILL_LOG: "warn" });
});

const hook = (args: string, stdin: string, extraEnv: Record<string, string> = {}) =>
  runShell(`"${process.execPath}" "${CLI_PATH}" hook ${args}`, { stdin, cwd: REPO_ROOT, env: { ...env, ...extraEnv } });

describe("trace2skill hook claude-code (built CLI)", () => {
  it("stores the transcript the Stop hook points to, under the project folder's name, silent on stdout", async () => {
    const res = await hook("claude-code", hookInput({}));
    expect(res.code).toBe(0);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(/stored 1 run\(s\) for skill "my-project"/);
    const engine = await openTestEngine(home);
    const rows = await engine.store.listTrajectories({ skill: "my-project" });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source: "claude-code", success: null, tags: ["session:3f1c2a9e-0000-4000-8000-123456789abc"] });
    const stored = await engine.getTrajectory(rows[0]!.id);
    expect(stored.steps.some((s) => s.toolResult?.isError === true)).toBe(true);

    const again = await hook("claude-code", hookInput({}));
    expect(again.stderr).toContain("already stored");
  });

  it("takes the skill from --skill, then $TRACE2SKILL_SKILL, and the outcome from --outcome", async () => {
    await hook("claude-code --skill flagged --outcome failure", hookInput({}), { TRACE2SKILL_SKILL: "from-env" });
    await hook("claude-code", hookInput({}), { TRACE2SKILL_SKILL: "from-env" });
    await hook("claude-code", hookInput({ cwd: "/" }));
    const engine = await openTestEngine(home);
    expect(await engine.store.listTrajectories({ skill: "flagged" })).toEqual([expect.objectContaining({ success: false })]);
    expect(await engine.store.listTrajectories({ skill: "from-env" })).toHaveLength(1);
    expect(await engine.store.listTrajectories({ skill: "general" })).toHaveLength(1);
  });

  it("records which version the session used, from the export marker in the project's .claude/skills (issue 12, item 1)", async () => {
    const project = await tempDir("t2s-hook-project-");
    const imported = await runCli(["import", path.join(REPO_ROOT, "skills/airline-support")], { env });
    expect(imported.code, imported.stderr).toBe(0);
    const exported = await runCli(["export", "airline-support", "--to", path.join(project, ".claude", "skills")], { env });
    expect(exported.code, exported.stderr).toBe(0);
    await hook("claude-code --skill airline-support", hookInput({ cwd: project }), { HOME: await tempDir("t2s-hook-userhome-") });
    const engine = await openTestEngine(home);
    const [row] = await engine.store.listTrajectories({ skill: "airline-support" });
    expect((await engine.getTrajectory(row!.id)).skillVersion).toBe(1);
  });

  it("never breaks the session: a missing transcript, bad stdin or bad flags exit 0 with one line on stderr", async () => {
    const missing = await hook("claude-code", hookInput({ transcript_path: path.join(home, "gone.jsonl") }));
    expect(missing).toMatchObject({ code: 0, stdout: "" });
    expect(missing.stderr).toMatch(/^trace2skill hook: the transcript .*gone\.jsonl does not exist/);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);

    for (const [args, stdin, message] of [
      ["claude-code", "not json", "stdin is not JSON"],
      ["claude-code", JSON.stringify({ session_id: "x" }), "no transcript_path"],
      ["claude-code", "", "no hook JSON on stdin"],
      ["claude-code --bogus", hookInput({}), "bogus"],
      ["claude-code --outcome maybe", hookInput({}), "--outcome must be success or failure"],
      ["claude-code --skill Not_Valid", hookInput({}), "not a valid skill name"],
      ["cursor", hookInput({}), "one of claude-code"],
    ] as const) {
      const res = await hook(args, stdin);
      expect(res, `${args} / ${stdin}`).toMatchObject({ code: 0, stdout: "" });
      expect(res.stderr).toContain(message);
    }
    const engine = await openTestEngine(home);
    expect(await engine.store.listTrajectories()).toHaveLength(0);
  });
});
