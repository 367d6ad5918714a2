import { execFile } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ResourceListChangedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { findLeak, groundTruthLiterals } from "../../src/analysis/ground-truth.js";
import { Engine } from "../../src/engine.js";
import type { FakeOpenAI } from "../helpers/fake-openai.js";
import { REPO_ROOT, TAU_FIXTURE, callTool, connectInMemory, tempDir, textOf } from "../helpers/mcp.js";
import { scriptedResponder, startScriptedModel, type StartScriptedModelOptions } from "../helpers/scripted-model.js";

const run = promisify(execFile);
const tau = JSON.parse(await readFile(TAU_FIXTURE, "utf8")) as unknown[];
const SKILLS_REF = path.join(REPO_ROOT, "node_modules/.bin/skills-ref");
const AIRLINE = path.join(REPO_ROOT, "skills/airline-support");
const SKILL = "airline-support";
/** Per model answer in the concurrency test: large against the engine's own per-analysis work. */
const LATENCY_MS = 150;

interface ProposeOut {
  provider: string;
  trajectories: number;
  analysed: number;
  cached: number;
  failures: { trajectoryId: string; error: string }[];
  lessons: { title: string; support: number }[];
  edits: number;
}

interface RunOut {
  runId: string;
  stage: string;
  finished: boolean;
  errors: string[];
  versionPath: string | null;
  result: { status: string; version: number | null; baseVersion: number; patches: number; levels: number; changelog: string[] } | null;
}

interface Progress {
  progress: number;
  total?: number;
  message?: string;
}

async function withModel(options: StartScriptedModelOptions) {
  const { fake, modelConfig } = await startScriptedModel(options);
  const dataDir = await tempDir("t2s-e2e-");
  const engine = await Engine.open({ dataDir, skillsDir: path.join(dataDir, "export"), modelConfig, concurrency: modelConfig.concurrency });
  const client = await connectInMemory(engine);
  return { fake, engine, client, dataDir };
}

/** A tool call that records the progress notifications it gets (the SDK sends a progressToken). */
async function callWithProgress(client: Client, name: string, args: Record<string, unknown>) {
  const progress: Progress[] = [];
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    onprogress: (p) => progress.push(p),
    timeout: 120_000,
    resetTimeoutOnProgress: true,
  })) as CallToolResult;
  return { result, progress };
}

/** Poll get_run until the run finishes (evolve answers early when wait_seconds runs out). */
async function untilFinished(client: Client, first: CallToolResult): Promise<RunOut> {
  let view = first.structuredContent as unknown as RunOut;
  while (!view.finished) {
    const next = await callTool(client, "get_run", { runId: view.runId, waitSeconds: 10 });
    expect(next.isError, textOf(next)).toBeFalsy();
    view = next.structuredContent as unknown as RunOut;
  }
  return view;
}

async function validates(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(SKILLS_REF, ["validate", dir]);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe("the whole method through MCP with a scripted model (100 tau-bench runs, fan-in 5)", () => {
  let fake: FakeOpenAI;
  let engine: Engine;
  let client: Client;
  let trajectoryIds: string[];
  const listChanged: unknown[] = [];
  let draft: RunOut;

  beforeAll(async () => {
    ({ fake, engine, client } = await withModel({ latencyMs: LATENCY_MS, config: { concurrency: 10 } }));
    client.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => {
      listChanged.push(n);
    });
    await engine.importSkill(AIRLINE);
    const submitted = await engine.submit({ raw: tau, format: "tau-bench", skill: SKILL });
    trajectoryIds = submitted.ids;
  });
  afterAll(async () => {
    await client.close();
    await fake.close();
  });

  it("analyses all 100 runs concurrently, with a progress notification per analysis", async () => {
    expect(new Set(trajectoryIds).size).toBe(100);
    const started = Date.now();
    const { result, progress } = await callWithProgress(client, "propose_lessons", { skill: SKILL, concurrency: 10 });
    const elapsed = Date.now() - started;
    expect(result.isError, textOf(result)).toBeFalsy();
    const out = result.structuredContent as unknown as ProposeOut;
    expect(out.provider).toBe("openai-compatible");
    expect(out).toMatchObject({ trajectories: 100, analysed: 100, cached: 0, failures: [] });
    expect(out.edits).toBeGreaterThanOrEqual(100);
    expect(out.lessons.length).toBeGreaterThan(0);
    expect(fake.calls.count).toBe(100);
    expect(progress.length).toBeGreaterThanOrEqual(100);
    // 100 sequential round trips would take ≥ 100 × latency; ten in flight take about ten rounds.
    expect(elapsed).toBeLessThan(40 * LATENCY_MS);
    expect(fake.calls.maxInFlight).toBeGreaterThan(5);
    expect(fake.calls.maxInFlight).toBeLessThanOrEqual(10);
  });

  it("makes no model call when the same analyses are asked for again", async () => {
    const before = fake.calls.count;
    const again = await callTool(client, "propose_lessons", { skill: SKILL });
    expect(again.isError, textOf(again)).toBeFalsy();
    expect(again.structuredContent).toMatchObject({ analysed: 0, cached: 100, failures: [] });
    expect(fake.calls.count).toBe(before);
  });

  it("evolves a draft through a merge tree of 3 levels, reporting progress", async () => {
    fake.script(scriptedResponder());
    const callsBefore = fake.calls.count;
    const { result, progress } = await callWithProgress(client, "evolve_skill", { skill: SKILL, fanIn: 5, holdout: 0, waitSeconds: 55 });
    expect(result.isError, textOf(result)).toBeFalsy();
    draft = await untilFinished(client, result);
    expect(draft.stage, draft.errors.join("\n")).toBe("done");
    expect(draft.result).toMatchObject({ status: "draft", baseVersion: 1, patches: 100, levels: 3 });
    expect(draft.result?.version).toBe(2);
    expect(draft.versionPath).toBe(engine.versionPath(SKILL, 2)!);
    expect(progress.length).toBeGreaterThan(0);
    // Progress only goes forward (MCP requires it), against one total for the run.
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);
    expect(new Set(progress.map((p) => p.total)).size).toBe(1);
    expect(progress.every((p) => p.progress <= (p.total ?? 0))).toBe(true);
    // Analyses came from the cache; the model only merged: 20 + 4 + 1 groups (and maybe a repair).
    const mergeCalls = fake.calls.bodies.slice(callsBefore).filter((b) => b.response_format?.json_schema?.name === "merge");
    expect(mergeCalls.length).toBe(25);
    expect(fake.calls.bodies.slice(callsBefore).some((b) => b.response_format?.json_schema?.name === "analysis")).toBe(false);
  });

  it("stores a draft whose folder passes the real skills-ref validator", async () => {
    const dir = engine.versionPath(SKILL, 2)!;
    const { code, output } = await validates(dir);
    expect(code, output).toBe(0);
    const skillMd = await readFile(path.join(dir, "SKILL.md"), "utf8");
    expect(skillMd).not.toBe(await readFile(path.join(AIRLINE, "SKILL.md"), "utf8"));
  });

  it("has the draft reviewed by the model before it is stored, findings in its record", async () => {
    const detail = await engine.versionDetail(SKILL, 2);
    expect(detail.review).toMatchObject({ reviewer: "openai-compatible", error: null });
    expect(detail.review?.findings.length).toBeGreaterThan(0);
    expect(detail.changelog.join("\n")).toMatch(/Review \(openai-compatible\): \d+ finding/);
    expect(fake.calls.bodies.some((b) => b.response_format?.json_schema?.name === "review")).toBe(true);
  });

  it("traces every added passage to known supporting trajectories", async () => {
    const detail = await engine.versionDetail(SKILL, 2);
    expect(detail.status).toBe("draft");
    expect(detail.parent).toBe(1);
    expect(detail.provenance.length).toBeGreaterThan(0);
    const known = new Set(trajectoryIds);
    for (const entry of detail.provenance) {
      expect(entry.support.length, entry.excerpt).toBeGreaterThan(0);
      for (const id of entry.support) expect(known.has(id), id).toBe(true);
    }
    // Support is unioned by code through the merges: the top edits are backed by many runs.
    expect(Math.max(...detail.provenance.map((p) => p.support.length))).toBeGreaterThan(10);
  });

  it("contains no ground-truth literal of any run", async () => {
    const literals = new Set<string>();
    for (const id of trajectoryIds) {
      for (const l of groundTruthLiterals((await engine.getTrajectory(id)).outcome.expected)) literals.add(l);
    }
    expect(literals.size).toBeGreaterThan(50);
    const sorted = [...literals].sort((a, b) => b.length - a.length);
    for (const file of await filesUnder(engine.versionPath(SKILL, 2)!)) {
      expect(findLeak(await readFile(file, "utf8"), sorted), file).toBeNull();
    }
  });

  it("promotes the draft: active, exported, valid, and the resource list change is notified", async () => {
    const promoted = await callTool(client, "promote_skill_version", { skill: SKILL, version: 2 });
    expect(promoted.isError, textOf(promoted)).toBeFalsy();
    const sc = promoted.structuredContent as { status: string; previous: number | null; exportedTo: string | null };
    expect(sc.status).toBe("active");
    expect(sc.previous).toBe(1);
    expect(sc.exportedTo).not.toBeNull();
    const exported = sc.exportedTo as string;
    expect((await stat(path.join(exported, "SKILL.md"))).isFile()).toBe(true);
    const { code, output } = await validates(exported);
    expect(code, output).toBe(0);
    await expect.poll(() => listChanged.length).toBeGreaterThan(0);
  });

  it("lists the history with changelog and diff, and rolls back to v1", async () => {
    const history = await callTool(client, "skill_history", { skill: SKILL, diffTo: 2 });
    expect(history.isError, textOf(history)).toBeFalsy();
    const h = history.structuredContent as {
      versions: { version: number; status: string; changelog: string[] }[];
      diff: { from: number | null; to: number; diff: string } | null;
    };
    const byVersion = new Map(h.versions.map((v) => [v.version, v]));
    expect(byVersion.get(1)?.status).toBe("retired");
    expect(byVersion.get(2)?.status).toBe("active");
    expect(byVersion.get(2)?.changelog.length).toBeGreaterThan(0);
    expect(h.diff).toMatchObject({ from: 1, to: 2 });
    expect(h.diff?.diff).toMatch(/^\+[^+]/m);

    const seen = listChanged.length;
    const back = await callTool(client, "rollback_skill", { skill: SKILL });
    expect(back.isError, textOf(back)).toBeFalsy();
    expect(back.structuredContent).toMatchObject({ version: 1, status: "active", from: 2 });
    const after = (await callTool(client, "skill_history", { skill: SKILL })).structuredContent as { versions: { version: number; status: string }[] };
    expect(after.versions.find((v) => v.version === 1)?.status).toBe("active");
    expect(after.versions.find((v) => v.version === 2)?.status).toBe("retired");
    await expect.poll(() => listChanged.length).toBeGreaterThan(seen);
  });
});

describe("create mode: a new skill from a name, a purpose and a few runs", () => {
  it("scaffolds v1 and evolves a v2 draft that validates", async () => {
    const { fake, engine, client } = await withModel({});
    try {
      const skill = "flight-changes";
      await engine.submit({ raw: tau.slice(0, 12), format: "tau-bench", skill });
      const first = await callTool(client, "evolve_skill", {
        skill,
        purpose: "Help airline customers change, book and cancel flights within policy.",
        fanIn: 5,
        waitSeconds: 55,
      });
      expect(first.isError, textOf(first)).toBeFalsy();
      const view = await untilFinished(client, first);
      expect(view.stage, view.errors.join("\n")).toBe("done");
      expect(view.result).toMatchObject({ status: "draft", baseVersion: 1, version: 2 });

      const history = (await callTool(client, "skill_history", { skill })).structuredContent as {
        versions: { version: number; origin: string; status: string }[];
      };
      expect(history.versions.map((v) => v.version).sort()).toEqual([1, 2]);
      expect(history.versions.find((v) => v.version === 1)?.origin).toBe("create");
      expect(history.versions.find((v) => v.version === 2)).toMatchObject({ origin: "evolve", status: "draft" });
      const { code, output } = await validates(engine.versionPath(skill, 2)!);
      expect(code, output).toBe(0);
      const v2 = await readFile(path.join(engine.versionPath(skill, 2)!, "SKILL.md"), "utf8");
      const v1 = await readFile(path.join(engine.versionPath(skill, 1)!, "SKILL.md"), "utf8");
      expect(v2.length).toBeGreaterThan(v1.length);
    } finally {
      await client.close();
      await fake.close();
    }
  });
});

describe("an unreliable model", () => {
  it("garbage 30% of the time: every analysis that can be made is made, the rest reported, nothing lost", async () => {
    const { fake, engine, client } = await withModel({ garbageRate: 0.3, config: { concurrency: 8, maxValidationRetries: 2 } });
    try {
      await engine.importSkill(AIRLINE);
      await engine.submit({ raw: tau.slice(0, 40), format: "tau-bench", skill: SKILL });
      const res = await callTool(client, "propose_lessons", { skill: SKILL });
      expect(res.isError, textOf(res)).toBeFalsy();
      const out = res.structuredContent as unknown as ProposeOut;
      expect(out.trajectories).toBe(40);
      expect(out.analysed + out.failures.length).toBe(40);
      // Garbage never comes twice in a row at this rate, so the retries mostly succeed.
      expect(out.analysed).toBeGreaterThanOrEqual(36);
      expect(fake.calls.count).toBeGreaterThan(40);
      for (const f of out.failures) expect(f.error).toMatch(/valid|JSON|attempt/i);
      expect((await engine.store.listAnalyses({ skill: SKILL })).length).toBe(out.analysed);

      // Nothing lost: with a sane model, only the failed runs cost a call.
      fake.script(scriptedResponder());
      const before = fake.calls.count;
      const again = (await callTool(client, "propose_lessons", { skill: SKILL })).structuredContent as unknown as ProposeOut;
      expect(again).toMatchObject({ analysed: out.failures.length, cached: out.analysed, failures: [] });
      expect(fake.calls.count - before).toBe(out.failures.length);
    } finally {
      await client.close();
      await fake.close();
    }
  });

  it("a draft made while some analyses failed says so in its record and in promote's answer (issue 11, item 7)", async () => {
    const { fake, engine, client } = await withModel({ config: { concurrency: 4, maxRetries: 0 } });
    try {
      await engine.importSkill(AIRLINE);
      await engine.submit({ raw: tau.slice(0, 20), format: "tau-bench", skill: SKILL });
      const scripted = scriptedResponder();
      let analyses = 0;
      fake.script((body, i) => {
        if (body.response_format?.json_schema?.name === "analysis" && ++analyses <= 3) return { status: 500, message: "overloaded" };
        return scripted(body, i);
      });
      const first = await callTool(client, "evolve_skill", { skill: SKILL, holdout: 0, waitSeconds: 55 });
      const view = await untilFinished(client, first);
      expect(view.stage, view.errors.join("\n")).toBe("done");
      expect(view.result?.status).toBe("draft");
      const version = view.result?.version as number;
      const detail = await engine.versionDetail(SKILL, version);
      expect(detail.analysisFailures).toMatchObject({ failed: 3, attempted: 20, first: expect.stringMatching(/HTTP 500/) });
      expect(detail.changelog[0]).toMatch(/^INCOMPLETE: 3 of 20 analyses failed, so this draft is made from the other 17/);
      const promoted = await callTool(client, "promote_skill_version", { skill: SKILL, version });
      expect(promoted.isError, textOf(promoted)).toBeFalsy();
      expect((promoted.structuredContent as { checks: { summary: string[] } }).checks.summary[0]).toMatch(/^INCOMPLETE: 3 of 20/);
      expect(textOf(promoted)).toMatch(/INCOMPLETE: 3 of 20/);
    } finally {
      await client.close();
      await fake.close();
    }
  });

  it("a model that hangs half the time: timeouts are reported per run, the rest is stored, no crash", async () => {
    const { fake, engine, client } = await withModel({
      hangRate: 0.5,
      config: { timeoutMs: 300, maxRetries: 0, maxValidationRetries: 0, concurrency: 4 },
    });
    try {
      await engine.importSkill(AIRLINE);
      await engine.submit({ raw: tau.slice(0, 10), format: "tau-bench", skill: SKILL });
      const res = await callTool(client, "propose_lessons", { skill: SKILL });
      expect(res.isError, textOf(res)).toBeFalsy();
      const out = res.structuredContent as unknown as ProposeOut;
      expect(out.analysed + out.failures.length).toBe(10);
      expect(out.failures.length).toBeGreaterThan(0);
      expect(out.analysed).toBeGreaterThan(0);
      for (const f of out.failures) {
        expect(trajectoryIdsOk(f.trajectoryId)).toBe(true);
        expect(f.error).toMatch(/time|abort/i);
      }
      expect(textOf(res)).toMatch(/failed/);
      // The server is still fine afterwards.
      const list = await callTool(client, "list_skills", {});
      expect(list.isError).toBeFalsy();
    } finally {
      await client.close();
      await fake.close();
    }
  });
});

function trajectoryIdsOk(id: string): boolean {
  return /^[0-9a-f]{64}$/.test(id);
}
