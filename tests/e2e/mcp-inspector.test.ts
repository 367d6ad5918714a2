import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine.js";
import { REPO_ROOT, tempDir } from "../helpers/mcp.js";

/**
 * The MCP Inspector (its CLI, an independent client built on the v2 SDK) against the built
 * server over stdio: its strict schema check finds nothing to warn about, and its Skills
 * Extension client lists and reads our skills.
 */

const run = promisify(execFile);
const INSPECTOR = path.join(REPO_ROOT, "node_modules/.bin/mcp-inspector");
const SERVER = ["node", path.join(REPO_ROOT, "dist/cli/main.js"), "serve"];

describe("the MCP Inspector CLI", () => {
  let home: string;

  beforeAll(async () => {
    home = await tempDir("t2s-inspector-");
    const engine = await Engine.open({ dataDir: home, skillsDir: path.join(home, "export") });
    await engine.importSkill(path.join(REPO_ROOT, "skills/airline-support"));
  });

  const inspect = (...args: string[]) =>
    run(INSPECTOR, ["--cli", "-e", `TRACE2SKILL_HOME=${home}`, ...args, ...SERVER], { cwd: home, timeout: 60_000 });

  it("finds no schema portability problem in tools/list with --strict", async () => {
    const { stdout, stderr } = await inspect("--method", "tools/list", "--strict");
    const tools = (JSON.parse(stdout) as { tools: { name: string }[] }).tools;
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["evolve_skill", "list_work_items", "get_work_item"]));
    const findings = stderr.split("\n").filter((line) => /^(Warning|Error)\b/.test(line));
    expect(findings, stderr).toEqual([]);
  });

  it("lists and reads the skills through its Skills Extension client", async () => {
    const listed = JSON.parse((await inspect("--method", "skills/list")).stdout) as { skills: { uri: string; resources: unknown[] }[] };
    expect(listed.skills.map((s) => s.uri)).toEqual(["skill://airline-support/SKILL.md"]);
    expect(listed.skills[0]?.resources).toHaveLength(2);
    const got = JSON.parse((await inspect("--method", "skills/get", "--uri", "skill://airline-support/SKILL.md")).stdout) as {
      skill: { frontmatter: { name: string } };
    };
    expect(got.skill.frontmatter.name).toBe("airline-support");
  });
});
