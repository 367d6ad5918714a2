import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import { homeEnv, runCli } from "../helpers/cli.js";
import { REPO_ROOT, tempDir } from "../helpers/mcp.js";

/** Issue 12, item 2 (CLI): `trace2skill stats` over runs tagged with the version they used. */
it("shows each version's runs with a Wilson interval, from runs that say which version they used", async () => {
  const home = await tempDir("t2s-cli-stats-");
  const env = homeEnv(home);
  expect((await runCli(["import", path.join(REPO_ROOT, "skills/airline-support")], { env })).code).toBe(0);
  for (let i = 0; i < 10; i++) {
    const run = { skill: "airline-support", task: `task ${i}`, skillVersion: 1, steps: [{ role: "user", text: `task ${i}` }], outcome: { success: i < 8 } };
    await writeFile(path.join(home, `run-${i}.json`), JSON.stringify(run));
  }
  expect((await runCli(["ingest", path.join(home, "run-*.json"), "--format", "canonical"], { env })).code).toBe(0);
  const res = await runCli(["stats", "airline-support"], { env });
  expect(res.code, res.stderr).toBe(0);
  expect(res.stdout).toMatch(/^v1 +active +10 +8 +2 +0 +80\.0% +49\.0%–94\.3% +0\/0 +— +1\.0 +— /m);
  const json = JSON.parse((await runCli(["stats", "airline-support", "--json"], { env })).stdout) as { versions: { version: number; interval: { low: number } }[] };
  expect(json.versions[0]?.interval.low).toBeCloseTo(0.49, 2);
});

it("names an unknown skill as such, not as a missing version of it (review, session 3)", async () => {
  const home = await tempDir("t2s-cli-unknown-");
  const res = await runCli(["checks", "nosuch", "2"], { env: homeEnv(home) });
  expect(res.code).toBe(1);
  expect(res.stderr).toMatch(/Skill "nosuch" not found/);
});

it("ingest --skill-version tags runs that do not say which version they used (review, session 4)", async () => {
  const home = await tempDir("t2s-cli-stats-version-");
  const env = homeEnv(home);
  expect((await runCli(["import", path.join(REPO_ROOT, "skills/airline-support")], { env })).code).toBe(0);
  for (let i = 0; i < 3; i++) {
    await writeFile(path.join(home, `run-${i}.json`), JSON.stringify({ skill: "airline-support", task: `t ${i}`, steps: [{ role: "user", text: `t ${i}` }], outcome: { success: true } }));
  }
  const bad = await runCli(["ingest", path.join(home, "run-*.json"), "--skill-version", "two"], { env });
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/--skill-version must be a version number/);
  expect((await runCli(["ingest", path.join(home, "run-*.json"), "--skill-version", "1"], { env })).code).toBe(0);
  expect((await runCli(["stats", "airline-support"], { env })).stdout).toMatch(/^v1 +active +3 +3 +0 +0 +100\.0%/m);
  // The listing shows which version each run used.
  expect((await runCli(["runs"], { env })).stdout).toMatch(/^[0-9a-f]{12}  airline-support +v1 +canonical/m);
  const listed = JSON.parse((await runCli(["runs", "--json"], { env })).stdout) as { runs: { skillVersion: number | null }[] } | { skillVersion: number | null }[];
  const rows = Array.isArray(listed) ? listed : listed.runs;
  expect(rows.map((r) => r.skillVersion)).toEqual([1, 1, 1]);
});
