import { execFile, execFileSync } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine.js";
import { REPO_ROOT, TAU_FIXTURE, tempDir } from "../helpers/mcp.js";

/**
 * Issue 12, item 5: the report of the fixture's evolved skill opens in a real browser with
 * every part present. Headless Chromium (Debian's `chromium`, which .ci/run installs) renders
 * the page from a file, offline; the DOM after rendering is checked and a screenshot saved.
 */

const run = promisify(execFile);

function chromium(): string | null {
  if (process.env.CHROMIUM_BIN) return process.env.CHROMIUM_BIN;
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || null;
    } catch {
      // not on PATH
    }
  }
  return null;
}

const bin = chromium();

describe.skipIf(!bin)("the skill report in headless Chromium", () => {
  it("renders every part and is saved as a screenshot", async () => {
    const dir = await tempDir("t2s-report-chromium-");
    const engine = await Engine.open({ dataDir: path.join(dir, "data"), skillsDir: path.join(dir, "export") });
    await engine.importSkill(path.join(REPO_ROOT, "skills", "airline-support"));
    await engine.submit({ raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: "airline-support" });
    const handle = await engine.evolution.startEvolve({ skill: "airline-support", provider: "heuristic" }, { surface: "cli" });
    await engine.runs.wait(handle.id, Infinity);
    const file = path.join(dir, "report.html");
    await writeFile(file, await engine.reportHtml("airline-support"));
    const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", `--user-data-dir=${path.join(dir, "profile")}`];
    const { stdout: dom } = await run(bin as string, [...flags, "--dump-dom", `file://${file}`], { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 });
    for (const part of ["timeline", "rate-chart", "stats", "latest", "checks", "diff", "provenance", "review", "holdout", "audit", "cost", "flags", "runs", "lifecycle"]) {
      expect(dom, part).toContain(`id="${part}"`);
    }
    const png = path.join(dir, "report.png");
    await run(bin as string, [...flags, `--screenshot=${png}`, "--window-size=1000,1600", `file://${file}`], { timeout: 60_000 });
    expect((await stat(png)).size).toBeGreaterThan(10_000);
    process.stderr.write(`report screenshot: ${png}\n`);
  }, 120_000);
});
