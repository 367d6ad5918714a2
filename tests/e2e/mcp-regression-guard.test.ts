import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ResourceListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { Engine } from "../../src/engine.js";
import { REPO_ROOT, callTool, connectInMemory, tempDir, textOf } from "../helpers/mcp.js";

/**
 * Issue 12, items 2 and 3 over MCP: per-version statistics (skill_stats), and the regression
 * guard — a worse active version is flagged in list_skills, and under the auto-rollback policy
 * rolled back, with connected clients told.
 */

const SKILL = "airline-support";

async function engineWithTwoVersions(policy?: "flag" | "auto-rollback"): Promise<Engine> {
  const dir = await tempDir("t2s-guard-");
  const engine = await Engine.open({ dataDir: dir, skillsDir: path.join(dir, "export"), ...(policy ? { regressionPolicy: policy } : {}) });
  await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
  const v2 = path.join(await tempDir("t2s-guard-v2-"), SKILL);
  await cp(path.join(REPO_ROOT, "skills", SKILL), v2, { recursive: true });
  await writeFile(path.join(v2, "SKILL.md"), `${await readFile(path.join(v2, "SKILL.md"), "utf8")}\n- A new rule.\n`);
  await engine.importSkill(v2);
  return engine;
}

const run = (i: number, version: number, success: boolean) => ({
  skill: SKILL,
  trajectory: { task: `task ${version}-${i}`, skillVersion: version, steps: [{ role: "user", text: `task ${version}-${i}` }] },
  outcome: { success },
});

describe("per-version statistics and the regression guard over MCP", () => {
  it("flags a worse active version in list_skills and skill_stats, and changes nothing under the default policy", async () => {
    const engine = await engineWithTwoVersions();
    const client = await connectInMemory(engine);
    for (let i = 0; i < 20; i++) await callTool(client, "submit_trajectory", run(i, 1, i < 18));
    for (let i = 0; i < 20; i++) await callTool(client, "submit_trajectory", run(i, 2, i < 4));
    const stats = await callTool(client, "skill_stats", { skill: SKILL });
    expect(stats.isError, textOf(stats)).toBeFalsy();
    const s = stats.structuredContent as { versions: { version: number; successRate: number; vsParent: { worse: boolean } | null }[]; regression: { version: number } | null };
    expect(s.versions.map((v) => [v.version, v.successRate])).toEqual([[1, 0.9], [2, 0.2]]);
    expect(s.versions[1]?.vsParent?.worse).toBe(true);
    expect(s.regression).toMatchObject({ version: 2, parent: 1 });
    const listed = await callTool(client, "list_skills", {});
    expect((listed.structuredContent as { skills: { regression: unknown }[] }).skills[0]?.regression).toMatchObject({ version: 2, parent: 1, runs: 20 });
    expect(textOf(listed)).toMatch(/REGRESSION: airline-support v2 does worse than v1: 20% of 20 runs succeeded against 90% of 20/);
    expect(await engine.store.getActiveVersion(SKILL)).toBe(2);
    await client.close();
  });

  it("rolls a worse version back under auto-rollback, and tells connected clients", async () => {
    const engine = await engineWithTwoVersions("auto-rollback");
    const client = await connectInMemory(engine);
    let listChanged = 0;
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void (listChanged += 1));
    for (let i = 0; i < 20; i++) await callTool(client, "submit_trajectory", run(i, 1, i < 18));
    expect(await engine.store.getActiveVersion(SKILL)).toBe(2);
    for (let i = 0; i < 20; i++) await callTool(client, "submit_trajectory", run(i, 2, i < 4));
    expect(await engine.store.getActiveVersion(SKILL)).toBe(1);
    await expect.poll(() => listChanged).toBeGreaterThan(0);
    // The flag stays in the history and the report once the version is rolled back.
    const history = await callTool(client, "skill_history", { skill: SKILL });
    expect((history.structuredContent as { flags: unknown[] }).flags).toEqual([expect.objectContaining({ version: 2, parent: 1, runs: 20, status: "retired" })]);
    expect(textOf(history)).toMatch(/FLAGGED: v2 did worse than v1: 20% of 20 runs against 90% of 20; retired/);
    const html = await engine.reportHtml(SKILL);
    expect(html).toMatch(/<ul id="flags"><li>v2 did worse than v1/);
    // In the chart, each bar's label sits past the bar and its interval, never on them (review, session 4).
    const bars = [...html.matchAll(/<rect x="([\d.]+)" y="[^"]+" width="([\d.]+)"[^>]*\/><line x1="[^"]+" x2="([\d.]+)"[^>]*\/><text x="([\d.]+)"/g)];
    expect(bars).toHaveLength(2);
    for (const [, x, width, ciEnd, label] of bars) expect(Number(label)).toBeGreaterThan(Math.max(Number(x) + Number(width), Number(ciEnd)));
    await client.close();
  });
});
