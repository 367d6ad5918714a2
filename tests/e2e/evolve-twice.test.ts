import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine.js";
import { REPO_ROOT, TAU_FIXTURE, tempDir } from "../helpers/mcp.js";

/**
 * Found by the user-level review of issue 12 (session 4): a second evolve on the fixture, from
 * the promoted first draft, copied every bullet the first one had added (references/pitfalls.md
 * held each twice). An evolve must not add what its base already says.
 */

const SKILL = "airline-support";

function bulletsOf(text: string): string[] {
  return text.split("\n").filter((l) => /^\s*[-*+] /.test(l)).map((l) => l.trim());
}

describe("evolving twice from the same runs", () => {
  it("adds no line the base already has (heuristic provider)", async () => {
    const dir = await tempDir("t2s-twice-");
    const engine = await Engine.open({ dataDir: dir, skillsDir: path.join(dir, "export") });
    await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    await engine.submit({ raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
    const evolve = async () => {
      const handle = await engine.evolution.startEvolve({ skill: SKILL, provider: "heuristic" }, { surface: "cli" });
      await engine.runs.wait(handle.id, Infinity);
      return (await engine.runView(handle.id)).result;
    };
    expect(await evolve()).toMatchObject({ status: "draft", version: 2 });
    await engine.promote(SKILL, 2, { export: false });
    const second = await evolve();
    // Nothing new to say from the same runs: no new version, or one without a repeated line.
    expect(["no-change", "no-patches", "existing", "draft"]).toContain(second?.status);
    const v2 = (await engine.resolveVersion(SKILL, 2)).folder;
    const latest = second?.status === "draft" && second.version ? (await engine.resolveVersion(SKILL, second.version)).folder : v2;
    for (const [file, text] of Object.entries(latest.files)) {
      const bullets = bulletsOf(text);
      expect(bullets.filter((b, i) => bullets.indexOf(b) !== i), file).toEqual([]);
    }
  });
});
