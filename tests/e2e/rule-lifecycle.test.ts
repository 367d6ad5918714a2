import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { AnalysisReply } from "../../src/analysis/schema.js";
import { Engine } from "../../src/engine.js";
import type { SkillVersionDetail } from "../../src/skill/types.js";
import { startFakeOpenAI, type FakeOpenAI, type Responder } from "../helpers/fake-openai.js";
import { REPO_ROOT, TAU_FIXTURE, callTool, connectInMemory, tempDir, textOf } from "../helpers/mcp.js";
import { scriptedResponder } from "../helpers/scripted-model.js";

/**
 * Issue 12, item 4, end to end through MCP and the real `openai` client: a rule an evolve
 * adds keeps its provenance through the next evolve, and a rule that later runs (tagged with
 * the version that had it) show misleading is proposed for retirement, merged, reviewed and
 * removed from the next draft, with its weighing on record.
 */

const SKILL = "airline-support";
const tau = JSON.parse(await readFile(TAU_FIXTURE, "utf8")) as { reward: number }[];

interface RunOut {
  runId: string;
  finished: boolean;
  errors: string[];
  result: { status: string; version: number | null; changelog: string[] } | null;
}

/** The rule the later analysts find misleading (set once v2 exists). */
let target: string | null = null;

/**
 * The scripted analyst, made a little more like a real one: it does not restate a rule the base
 * already has, and, for a failed run that used v2, it says the target rule misled the agent.
 */
function lifecycleResponder(): Responder {
  const scripted = scriptedResponder();
  return async (body, index) => {
    const reply = await scripted(body, index);
    if (body.response_format?.json_schema?.name !== "analysis" || !("json" in reply)) return reply;
    const system = String(body.messages.find((m) => m.role === "system")?.content ?? "");
    const user = String(body.messages.find((m) => m.role === "user")?.content ?? "");
    const analysis = reply.json as AnalysisReply;
    const edits = analysis.edits.filter((e) => !("content" in e) || !system.includes(e.content.trim()));
    const misled = target !== null && /error analyst/i.test(system) && /skill version used: 2\b/.test(user) && system.includes(target);
    const ruleVerdicts = misled ? [{ quote: (target as string).replace(/^- /, ""), effect: "misled" as const, why: "At step #1 the agent followed this rule and it sent the run wrong." }] : [];
    return { json: { ...analysis, edits, ruleVerdicts } };
  };
}

async function evolve(client: Client): Promise<RunOut> {
  const first = await callTool(client, "evolve_skill", { skill: SKILL, holdout: 0, waitSeconds: 55 });
  expect(first.isError, textOf(first)).toBeFalsy();
  let view = first.structuredContent as unknown as RunOut;
  while (!view.finished) {
    const next = await callTool(client, "get_run", { runId: view.runId, waitSeconds: 10 });
    view = next.structuredContent as unknown as RunOut;
  }
  expect(view.errors).toEqual([]);
  return view;
}

describe("rule lifecycle across two evolves", () => {
  let fake: FakeOpenAI;
  let engine: Engine;
  let client: Client;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ responder: lifecycleResponder() });
    const dataDir = await tempDir("t2s-lifecycle-");
    engine = await Engine.open({
      dataDir,
      skillsDir: path.join(dataDir, "export"),
      modelConfig: { baseURL: fake.url, apiKey: "test", model: "fake-model", timeoutMs: 10_000, maxRetries: 1, concurrency: 8, maxValidationRetries: 1 },
    });
    client = await connectInMemory(engine);
    await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
  });
  afterAll(async () => {
    await client.close();
    await fake.close();
  });

  it("retires a learned rule that later runs outweigh, and carries the others' provenance", async () => {
    // Evolve 1: v2 learns rules from 30 runs whose version is not known.
    await engine.submit({ raw: tau.slice(0, 30), format: "tau-bench", skill: SKILL });
    const one = await evolve(client);
    expect(one.result).toMatchObject({ status: "draft", version: 2 });
    expect((await callTool(client, "promote_skill_version", { skill: SKILL, version: 2 })).isError).toBeFalsy();
    const v2 = await engine.versionDetail(SKILL, 2);
    const learned = v2.provenance.filter((p) => p.excerpt.startsWith("- ") && p.support.length >= 1);
    expect(learned.length).toBeGreaterThanOrEqual(2);
    const weakest = [...learned].sort((a, b) => a.support.length - b.support.length)[0]!;
    target = weakest.excerpt;

    // Later failures that used v2 show the target misleading: one more than the runs behind it.
    const failures = tau.slice(30).filter((r) => r.reward === 0).slice(0, weakest.support.length + 1);
    expect(failures.length).toBe(weakest.support.length + 1);
    await engine.submit({ raw: failures, format: "tau-bench", skill: SKILL, skillVersion: 2 });

    // Evolve 2: the retirement goes through the merge and the review; v3 no longer has the rule.
    const two = await evolve(client);
    expect(two.result).toMatchObject({ status: "draft", version: 3 });
    const v3 = await engine.versionDetail(SKILL, 3);
    const textOfRule = target.replace(/^- /, "").replace(/…$/, "");
    const fileOf = async (version: number) => (await engine.getSkill(SKILL, { version, file: weakest.file })).file.content;
    expect(await fileOf(2)).toContain(textOfRule);
    expect(await fileOf(3)).not.toContain(textOfRule);
    const rules = (v3 as SkillVersionDetail).rules ?? [];
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ excerpt: target, since: 2, support: weakest.support, helped: [], proposed: true, retired: true });
    expect(rules[0]?.misled).toHaveLength(weakest.support.length + 1);
    expect(v3.changelog.join("\n")).toMatch(/Retire ".*" \(since v2\): \d+ later run\(s\) it misled outweigh \d+ supporting run\(s\)\./);
    // The deletion has its own provenance: the runs it misled.
    expect(v3.provenance.find((p) => p.excerpt.startsWith("(removed)"))?.support).toEqual(rules[0]?.misled);

    // Every other rule v2 learned is still there, with the runs behind it and "since v2".
    for (const rule of learned.filter((p) => p !== weakest)) {
      const carried = v3.provenance.find((p) => p.excerpt === rule.excerpt && p.file === rule.file);
      expect(carried, rule.excerpt).toMatchObject({ since: 2, support: rule.support });
    }

    // The checks show the retirement (MCP skill_history report and the CLI's `checks` share it).
    const history = await callTool(client, "skill_history", { skill: SKILL, diffTo: 3 });
    const report = (history.structuredContent as { report: { rules: { outcome: string; misled: number; support: number }[]; summary: string[] } }).report;
    expect(report.rules).toEqual([expect.objectContaining({ outcome: "retired", misled: weakest.support.length + 1, support: weakest.support.length })]);
    expect(report.summary.join("\n")).toMatch(/^Retire "/m);
    expect(textOf(history)).toMatch(/Learned rules weighed against later runs \(support \/ helped \/ misled\):\n  \[\d+\/0\/\d+\] retired \(since v2\)/);

    // The HTML report shows the lifecycle, and what each of the two evolve runs cost.
    const html = await engine.reportHtml(SKILL);
    expect(html).toMatch(/id="lifecycle"[\s\S]*?<td>retired<\/td>/);
    const runs = html.slice(html.indexOf('id="runs"'), html.indexOf("</table>", html.indexOf('id="runs"')));
    const rows = [...runs.matchAll(/<tr><td>(evolve-[^<]+)<\/td><td>evolve<\/td><td>[^<]*<\/td><td>done<\/td><td>(v\d)<\/td><td>(\d+)<\/td>/g)];
    expect(rows.map((r) => r[2])).toEqual(["v2", "v3"]);
    for (const r of rows) expect(Number(r[3])).toBeGreaterThan(0);
  });
});
