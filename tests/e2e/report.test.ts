import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine.js";
import { startHttpServer } from "../../src/mcp/http.js";
import { escapeHtml } from "../../src/report/html.js";
import { REPO_ROOT, TAU_FIXTURE, tempDir } from "../helpers/mcp.js";

/**
 * Issue 12, item 5 (in part): the skill's report as one self-contained HTML page, from the
 * fixture's evolved skill; also served over HTTP behind the token. Rendered in headless Chromium
 * by report-chromium.test.ts.
 */

const SKILL = "airline-support";

async function evolvedEngine(): Promise<Engine> {
  const dir = await tempDir("t2s-report-");
  const engine = await Engine.open({ dataDir: dir, skillsDir: path.join(dir, "export") });
  await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
  await engine.submit({ raw: await readFile(TAU_FIXTURE, "utf8"), format: "tau-bench", skill: SKILL });
  const handle = await engine.evolution.startEvolve({ skill: SKILL, provider: "heuristic" }, { surface: "cli" });
  await engine.runs.wait(handle.id, Infinity);
  return engine;
}

describe("the skill report", () => {
  it("has every part, references nothing outside the page, and escapes what it shows", async () => {
    const engine = await evolvedEngine();
    const html = await engine.reportHtml(SKILL);
    for (const part of ['id="timeline"', 'id="rate-chart"', 'id="stats"', 'id="latest"', 'id="checks"', 'id="diff"', 'id="provenance"', 'id="review"', 'id="holdout"', 'id="audit"', 'id="cost"', 'id="flags"', 'id="runs"', 'id="lifecycle"']) {
      expect(html, part).toContain(part);
    }
    expect(html).toMatch(/Held-out check \(14 failed run\(s\)/);
    // The evolve run is listed with what it cost (the heuristic makes no model call).
    expect(html).toMatch(/<tr><td>evolve-[^<]+<\/td><td>evolve<\/td><td>[^<]+<\/td><td>done<\/td><td>v2<\/td><td>0<\/td>/);
    // Self-contained: no script, no external resource.
    expect(html).not.toMatch(/<script|<link |src="http|href="http|@import/i);
    expect(escapeHtml(`<script>alert("x")</script>`)).toBe("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("is served over HTTP at /report/<skill> behind the token", async () => {
    const engine = await evolvedEngine();
    const token = "report-token-0123456789abcdef";
    const server = await startHttpServer(engine, { port: 0, token });
    try {
      const base = server.url.replace(/\/mcp$/, "");
      expect((await fetch(`${base}/report/${SKILL}`)).status).toBe(401);
      const ok = await fetch(`${base}/report/${SKILL}`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("content-type")).toMatch(/text\/html/);
      expect(await ok.text()).toContain('id="rate-chart"');
      const missing = await fetch(`${base}/report/no-such-skill`, { headers: { authorization: `Bearer ${token}` } });
      expect(missing.status).toBe(404);
      // A browser asked for a page: the error is a page too (review, session 4).
      expect(missing.headers.get("content-type")).toMatch(/text\/html/);
      expect(await missing.text()).toMatch(/<p>.*no-such-skill.*<\/p>/);
    } finally {
      await server.close();
    }
  });
});
