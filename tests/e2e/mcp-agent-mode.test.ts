import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Engine } from "../../src/engine.js";
import { StructuredOnlyAgent, answerFromSchema, type Listing, type WorkItemFull } from "../helpers/agent.js";
import { sessionTurns, transcriptAfter } from "../helpers/claude-session.js";
import { REPO_ROOT, TAU_FIXTURE, callTool, connectInMemory, openTestEngine, textOf } from "../helpers/mcp.js";

/**
 * Agent mode as Claude Code and VS Code see it: the model gets only structuredContent, and a
 * tool result over 25k tokens is not shown. A test agent that reads nothing else takes the
 * 100 fixture runs to a draft, fanning out every pending item of each stage at once.
 */

const run = promisify(execFile);
const tau = JSON.parse(await readFile(TAU_FIXTURE, "utf8")) as unknown[];
const SKILL = "airline-support";
/** Claude Code's limit on a shown tool result, in tokens (chars / 4). */
const MAX_ANSWER_CHARS = 25_000 * 4;
/** Answers that list things stay well below it. */
const MAX_LISTING_CHARS = 20_000;

const LooseResult = z.looseObject({});

describe("agent mode for a client that reads only structuredContent (100 fixture runs)", () => {
  let engine: Engine;
  let client: Client;
  let agent: StructuredOnlyAgent;
  let draft: { runId: string; result: { status: string; version: number }; versionPath: string };

  beforeAll(async () => {
    engine = await openTestEngine();
    client = await connectInMemory(engine);
    await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    await engine.submit({ raw: tau, format: "tau-bench", skill: SKILL });
    agent = new StructuredOnlyAgent(client);
    draft = (await agent.drive({ tool: "evolve_skill", arguments: { skill: SKILL, provider: "agent", waitSeconds: 30 } })) as typeof draft;
  }, 240_000);
  afterAll(async () => {
    await client.close();
  });

  it("reaches a valid draft by following `next` alone", async () => {
    expect(draft.result).toMatchObject({ status: "draft", version: 2 });
    const { stdout } = await run(path.join(REPO_ROOT, "node_modules/.bin/skills-ref"), ["validate", draft.versionPath]);
    expect(stdout).toMatch(/Valid skill/);
    const detail = await engine.versionDetail(SKILL, 2);
    expect(detail.provenance.length).toBeGreaterThan(0);
    expect(detail.provenance.every((p) => p.support.length > 0)).toBe(true);
    // Each rule traces to its runs and their diagnoses.
    expect(detail.provenance.every((p) => (p.diagnoses?.length ?? 0) > 0)).toBe(true);
    for (const d of detail.provenance.flatMap((p) => p.diagnoses ?? [])) expect(d.rootCause.length).toBeGreaterThan(10);
    // The draft's record carries the over-fitting audit.
    expect(detail.audit).toMatchObject({ singleRunLiterals: expect.any(Array), singleSupport: expect.any(Array), thinChanges: expect.any(Array) });
    // The draft was reviewed by the agent, and checked on the failures held out of the evolve (a fifth of them: 14).
    expect(detail.review).toMatchObject({ reviewer: "agent", error: null });
    const heldOut = detail.holdout;
    expect(heldOut?.judge).toBe("agent");
    expect(heldOut?.runs).toHaveLength(14);
    const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    expect(total(heldOut?.base ?? {})).toBe(14);
    expect(total(heldOut?.draft ?? {})).toBe(14);
    expect(detail.changelog.join("\n")).toMatch(/Held-out check \(14 failed run\(s\) kept out of the evolve, judged by agent\)/);
    // Held-out runs were never analysed: the draft was not made from them.
    const analyses = await engine.store.listAnalyses({ skill: SKILL });
    expect(analyses).toHaveLength(86);
    const analysed = new Set(analyses.flatMap((a) => a.trajectoryIds));
    expect(heldOut?.runs.some((r) => analysed.has(r.trajectoryId))).toBe(false);

    // skill_history with diffTo gives the draft's report, compactly.
    const history = await agent.call<{ report: { heldOut: unknown[]; passages: { support: number; diagnoses: string[] }[]; summary: string[] } }>("skill_history", { skill: SKILL, diffTo: 2 });
    expect(history.report.heldOut).toHaveLength(14);
    expect(history.report.passages.length).toBeGreaterThan(0);
    expect(history.report.passages.every((p) => p.support > 0 && p.diagnoses.length > 0)).toBe(true);
    expect(history.report.summary.join("\n")).toMatch(/Held-out check[\s\S]*Review \(agent\)/);
  });

  it("lists every pending item of each stage at once, with counts, analyses first and then each merge level", () => {
    const pending = agent.listings.filter((l) => l.stage !== "ready");
    const stages = pending.map((l) => `${l.stage}${l.level ? `:${l.level}` : ""} ${l.pending}/${l.total}`);
    // 86 analyses (two pages; a fifth of the failures, 14, are held out), then the merge tree of fan-in 5:
    // 18 groups (the last, of one patch, needs no merge), 4 and 1; then one review of the draft and
    // the 14 held-out failures against base and draft — each stage a single fan-out.
    expect(stages).toEqual(["analysis 86/86", "merge:1 17/18", "merge:2 4/4", "merge:3 1/1", "review 1/1", "holdout 28/28"]);
    // A page holds up to 50 items and stops short of ~15,000 characters.
    expect(pending[0]?.items.length).toBeGreaterThanOrEqual(45);
    expect(pending[0]?.nextCursor).toBeTruthy();
    const analysisPages = agent.answers.filter((a) => a.tool === "list_work_items" && (a.structured.stage as string) === "analysis");
    const listedIds = new Set(analysisPages.flatMap((a) => (a.structured.items as { workItemId: string }[]).map((i) => i.workItemId)));
    expect(listedIds.size).toBe(86);
    // Each item was read once and submitted once: one subagent per item.
    expect(agent.answers.filter((a) => a.tool === "get_work_item")).toHaveLength(86 + 17 + 4 + 1 + 1 + 28);
    expect(agent.answers.filter((a) => a.tool === "submit_lessons")).toHaveLength(86 + 17 + 4 + 1 + 1 + 28);
  });

  it("keeps every answer under 25k tokens and every listing under 20,000 characters", () => {
    expect(agent.answers.length).toBeGreaterThan(250);
    for (const answer of agent.answers) {
      expect(answer.chars, answer.tool).toBeLessThan(MAX_ANSWER_CHARS);
      if (answer.tool === "list_work_items") expect(answer.chars).toBeLessThan(MAX_LISTING_CHARS);
    }
    const items = agent.answers.filter((a) => a.tool === "get_work_item");
    const largest = Math.max(...items.map((a) => a.chars));
    expect(largest).toBeLessThan(MAX_ANSWER_CHARS);
  });

  it("gives what the items of a stage share once, in the brief, not in every item", async () => {
    const analysisItem = agent.answers.find((a) => a.tool === "get_work_item" && a.structured.kind === "analysis")?.structured as unknown as WorkItemFull;
    expect(analysisItem.brief?.instructions).toMatch(/(error|success) analyst/);
    expect(analysisItem.brief?.instructions).toContain("<base_skill");
    // The tau-bench system prompt (the airline policy) is shared context: in the brief, a marker in the item.
    expect(analysisItem.brief?.instructions).toContain("shared context S1");
    expect(analysisItem.input).toContain("[shared context S1 — shown once above]");
    expect(analysisItem.input).not.toContain("<base_skill");
    const bare = await agent.call<WorkItemFull & { steps: { id: number; text: string }[] }>("get_work_item", {
      workItemId: analysisItem.workItemId,
      steps: [0, 1],
    });
    expect(bare.brief).toBeNull();
    expect(bare.input).toBe(analysisItem.input);
    // Any step in full, whatever the rendering shortened.
    expect(bare.steps.map((s) => s.id)).toEqual([0, 1]);
    expect(bare.steps[0]?.text).toMatch(/^#0 /);
    // The analyst sees the whole skill, its reference file too, and is asked for a diagnosis.
    expect(analysisItem.brief?.instructions).toContain('<base_skill file="references/request-checks.md">');
    expect(analysisItem.brief?.instructions).toMatch(/# Diagnosis/);
    const outOfRange = await callTool(client, "get_work_item", { workItemId: analysisItem.workItemId, steps: [9999] });
    expect(outOfRange.isError).toBe(true);
    const resource = await client.readResource({ uri: `work://item/${analysisItem.briefId}` });
    const brief = JSON.parse((resource.contents[0] as { text: string }).text) as { instructions: string };
    expect(brief.instructions).toBe(analysisItem.brief?.instructions);
  });

  it("lets a Skills-Extension client read the evolved skill and tells it when the draft is promoted", async () => {
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: `skill://${SKILL}/SKILL.md` });
    const listed = await client.request({ method: "skills/list", params: { includeDrafts: true } }, LooseResult);
    const uris = (listed.skills as { uri: string }[]).map((s) => s.uri);
    expect(uris).toEqual(expect.arrayContaining([`skill://${SKILL}/SKILL.md`, `skill://${SKILL}/v2/${SKILL}/SKILL.md`]));

    const promoted = await agent.call("promote_skill_version", { skill: SKILL, version: 2 });
    expect(promoted).toMatchObject({ version: 2, status: "active" });
    // Promote shows the draft's checks: held-out coverage of base and draft side by side, review, audit.
    const checks = (promoted as { checks: { holdout: { runs: number; base: object; draft: object } | null; summary: string[] } }).checks;
    expect(checks.holdout).toMatchObject({ judge: "agent", runs: 14, base: expect.any(Object), draft: expect.any(Object) });
    expect(checks.summary.join("\n")).toMatch(/Held-out check[\s\S]*Review \(agent\)/);
    await expect.poll(() => updated).toContain(`skill://${SKILL}/SKILL.md`);
    const got = await client.request({ method: "skills/get", params: { uri: `skill://${SKILL}/SKILL.md` } }, LooseResult);
    const skillMd = await readFile(path.join(draft.versionPath, "SKILL.md"));
    const entry = (got.skill as { resources: { uri: string; digest: string }[] }).resources.find((r) => r.uri.endsWith("/SKILL.md"));
    expect(entry?.digest).toBe(`sha256:${createHash("sha256").update(skillMd).digest("hex")}`);
  });
});

describe("agent-mode submissions that are wrong", () => {
  let engine: Engine;
  let client: Client;
  let agent: StructuredOnlyAgent;

  beforeAll(async () => {
    engine = await openTestEngine();
    client = await connectInMemory(engine);
    await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    await engine.submit({ raw: tau.slice(0, 10), format: "tau-bench", skill: SKILL });
    agent = new StructuredOnlyAgent(client);
  });
  afterAll(async () => {
    await client.close();
  });

  it("rejects a reply that does not fit the schema, says what to fix, stores nothing, and keeps the item pending", async () => {
    const listing = await agent.call<Listing>("list_work_items", { skill: SKILL });
    expect(listing).toMatchObject({ stage: "analysis", pending: 10, total: 10, done: 0 });
    const [first] = listing.items;
    if (!first) throw new Error("no item");
    const bad = await agent.call<{ rejected: { workItemId: string; error: string }[]; next: { tool: string; arguments: object } }>("submit_lessons", {
      results: [{ workItemId: first.workItemId, result: { lessons: [{ kind: "hunch", title: "x" }], edits: "none" } }],
    });
    expect(bad.rejected).toHaveLength(1);
    expect(bad.rejected[0]?.error).toMatch(/edits/);
    expect(bad.rejected[0]?.error).toMatch(/kind|title/);
    // `next` points back at the rejected item, to re-read it and fix the result.
    expect(bad.next).toMatchObject({ tool: "get_work_item", arguments: { workItemId: first.workItemId, includeBrief: true } });
    expect(await engine.store.listAnalyses({ skill: SKILL })).toHaveLength(0);
    const again = await agent.call<Listing>("list_work_items", { skill: SKILL });
    expect(again.items.map((i) => i.workItemId)).toContain(first.workItemId);

    for (const id of ["analysis:airline-support:1:" + "0".repeat(64), "merge:nope:1:0:0123456789ab", "../../etc/passwd", first.briefId]) {
      const res = await agent.call<{ rejected: { error: string }[] }>("submit_lessons", { results: [{ workItemId: id, result: {} }] });
      expect(res.rejected, id).toHaveLength(1);
      expect(res.rejected[0]?.error.length).toBeGreaterThan(20);
    }
    const unknownItem = await callTool(client, "get_work_item", { workItemId: "not-an-id" });
    expect(unknownItem.isError).toBe(true);
    expect(textOf(unknownItem)).toMatch(/not a work item id/);
  });

  it("pages with a cursor that survives items being submitted between pages", async () => {
    const page1 = await agent.call<Listing>("list_work_items", { skill: SKILL, limit: 4 });
    expect(page1.items).toHaveLength(4);
    expect(page1.next).toMatchObject({ tool: "list_work_items", arguments: { cursor: page1.nextCursor } });
    // Someone submits the first listed item meanwhile.
    const item = await agent.call<WorkItemFull>("get_work_item", { workItemId: page1.items[0]!.workItemId, includeBrief: true });
    await agent.call("submit_lessons", { results: [{ workItemId: item.workItemId, result: answerFromSchema(item) }] });
    const page2 = await agent.call<Listing>("list_work_items", { skill: SKILL, limit: 4, cursor: page1.nextCursor });
    const page3 = await agent.call<Listing>("list_work_items", { skill: SKILL, limit: 4, cursor: page2.nextCursor });
    const seen = [...page1.items, ...page2.items, ...page3.items].map((i) => i.workItemId);
    expect(new Set(seen).size).toBe(10);
    expect(page3.nextCursor).toBeNull();
    expect(page3).toMatchObject({ pending: 9, done: 1, total: 10 });
    const badCursor = await callTool(client, "list_work_items", { skill: SKILL, cursor: "garbage" });
    expect(badCursor.isError).toBe(true);
  });

  it("refuses a merge whose inputs changed since it was listed", async () => {
    const agent2 = new StructuredOnlyAgent(client);
    // Finish the analyses through the skill scope first.
    let listing = await agent2.call<Listing>("list_work_items", { skill: SKILL });
    while (listing.stage !== "ready") {
      await agent2.fanOut(listing);
      listing = await agent2.call<Listing>("list_work_items", { skill: SKILL });
    }
    expect(listing.next).toMatchObject({ tool: "consolidate_skill", arguments: { skill: SKILL, provider: "agent" } });
    const start = await agent2.call<{ runId: string; next: { tool: string } }>("consolidate_skill", { ...listing.next!.arguments, waitSeconds: 30 });
    expect(start.next.tool).toBe("list_work_items");
    const merges = await agent2.call<Listing>("list_work_items", { runId: start.runId });
    expect(merges.stage).toBe("merge");
    const stale = merges.items[0]!.workItemId.replace(/:[0-9a-f]{12}$/, ":000000000000");
    const res = await agent2.call<{ rejected: { error: string }[] }>("submit_lessons", { results: [{ workItemId: stale, result: { edits: [] } }] });
    expect(res.rejected[0]?.error).toMatch(/other inputs/);
  });
});

describe("prompts and completions for agent mode", () => {
  it("teaches the fan-out flow in terms a structured-only client can follow, and completes skill names", async () => {
    const engine = await openTestEngine();
    const client = await connectInMemory(engine);
    await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    const evolve = await client.getPrompt({ name: "evolve-with-subagents", arguments: { skill: SKILL } });
    const text = evolve.messages.map((m) => (m.content.type === "text" ? m.content.text : "")).join("\n");
    for (const word of ["list_work_items", "get_work_item", "includeBrief", "submit_lessons", "resumeRunId", "`next`", "all at once"]) {
      expect(text).toContain(word);
    }
    const completed = await client.complete({ ref: { type: "ref/prompt", name: "evolve-with-subagents" }, argument: { name: "skill", value: "air" } });
    expect(completed.completion.values).toEqual([SKILL]);
    await client.close();
  });
});

describe("agent mode: defects found by review", () => {
  let engine: Engine;
  let client: Client;
  let ids: string[];

  beforeAll(async () => {
    engine = await openTestEngine();
    client = await connectInMemory(engine);
    await engine.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    ids = (await engine.submit({ raw: tau.slice(0, 12), format: "tau-bench", skill: SKILL })).ids;
  });
  afterAll(async () => {
    await client.close();
  });

  it("merges only the analyses of the run's own runs, once each", async () => {
    const agent = new StructuredOnlyAgent(client);
    // Analyses of 8 other runs exist for the same base before the run starts.
    let listing = await agent.call<Listing>("list_work_items", { skill: SKILL });
    const others = listing.items.filter((i) => !ids.slice(8).some((id) => i.workItemId.endsWith(id))).slice(0, 8);
    await agent.fanOut({ ...listing, items: others, pending: others.length, nextCursor: null });
    listing = await agent.call<Listing>("list_work_items", { skill: SKILL });
    expect(listing.done).toBe(8);
    const view = (await agent.drive({
      tool: "evolve_skill",
      arguments: { skill: SKILL, provider: "agent", trajectoryIds: [...ids.slice(8), ids[8]!], waitSeconds: 30 },
    })) as { result: { status: string; patches: number } };
    expect(view.result.status).toBe("draft");
    expect(view.result.patches).toBe(4);
    const foreign = await engine.submit({ raw: tau.slice(20, 21), format: "tau-bench", skill: "other-skill" });
    const refused = await callTool(client, "evolve_skill", { skill: SKILL, provider: "agent", trajectoryIds: [ids[0]!, foreign.ids[0]!] });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/evidence for skill "other-skill"/);
  });

  it("gives `next` steps that work when followed, with what only the caller knows under `needs`", async () => {
    const agent = new StructuredOnlyAgent(client);
    const stored = await agent.call<{ id: string; next: { tool: string; arguments: Record<string, unknown>; needs: Record<string, string> } }>(
      "submit_trajectory",
      { skill: SKILL, trajectory: { task: "t", steps: [{ role: "user", text: "hello" }] } },
    );
    expect(stored.next).toMatchObject({ tool: "set_outcome", arguments: { id: stored.id } });
    expect(Object.keys(stored.next.needs)).toEqual(["outcome.success"]);
    await agent.call("set_outcome", { ...stored.next.arguments, outcome: { success: false } });
    const finished = (await engine.store.listRuns({ skill: SKILL })).find((r) => r.stage === "done")!;
    const listing = await agent.call<Listing & { runFinished: boolean }>("list_work_items", { runId: finished.id });
    expect(listing).toMatchObject({ stage: "ready", runFinished: true, next: { tool: "get_run" } });
  });

  it("starts a stale cursor over instead of answering an empty page", async () => {
    const fresh = await openTestEngine();
    const other = await connectInMemory(fresh);
    await fresh.importSkill(path.join(REPO_ROOT, "skills", SKILL));
    await fresh.submit({ raw: tau.slice(0, 6), format: "tau-bench", skill: SKILL });
    const agent = new StructuredOnlyAgent(other);
    const page1 = await agent.call<Listing>("list_work_items", { skill: SKILL, limit: 2 });
    const all = await agent.call<Listing>("list_work_items", { skill: SKILL });
    // Everything after the cursor gets done meanwhile.
    const rest = all.items.filter((i) => !page1.items.some((p) => p.workItemId === i.workItemId));
    await agent.fanOut({ ...all, items: rest, pending: rest.length, nextCursor: null });
    const stale = await agent.call<Listing>("list_work_items", { skill: SKILL, limit: 2, cursor: page1.nextCursor });
    expect(stale.pending).toBe(2);
    expect(stale.items.map((i) => i.workItemId)).toEqual(page1.items.map((i) => i.workItemId));
    expect(stale.next).toMatchObject({ tool: "get_work_item", arguments: { workItemId: page1.items[0]!.workItemId } });
    await other.close();
  });

  it("reports where agent work stands now in get_run, and refuses to resume a run another live process holds", async () => {
    const agent = new StructuredOnlyAgent(client);
    await engine.submit({ raw: tau.slice(30, 33), format: "tau-bench", skill: SKILL });
    const start = await agent.call<{ runId: string; work: { stage: string; done: number; pending: number } }>("evolve_skill", {
      skill: SKILL,
      provider: "agent",
      waitSeconds: 30,
    });
    expect(start.work.stage).toBe("analysis");
    const before = start.work.pending;
    expect(before).toBeGreaterThanOrEqual(3);
    const listing = await agent.call<Listing>("list_work_items", { runId: start.runId });
    const [first] = listing.items;
    const item = await agent.call<WorkItemFull>("get_work_item", { workItemId: first!.workItemId, includeBrief: true });
    await agent.call("submit_lessons", { results: [{ workItemId: item.workItemId, result: answerFromSchema(item) }] });
    const polled = await agent.call<{ work: { done: number; pending: number } }>("get_run", { runId: start.runId });
    expect(polled.work).toMatchObject({ pending: before - 1 });

    // Another process (a live pid that is not ours) holds the run: resuming it is refused.
    const { spawn } = await import("node:child_process");
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      await engine.store.claimRun(start.runId, async (run) => ({ ...run, stage: "analysing", pid: other.pid }));
      const refused = await callTool(client, "evolve_skill", { resumeRunId: start.runId, waitSeconds: 1 });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/still running in another server process/);
    } finally {
      other.kill();
    }
    await new Promise((resolve) => other.once("exit", resolve));
    const resumed = await callTool(client, "evolve_skill", { resumeRunId: start.runId, waitSeconds: 30 });
    expect(resumed.isError, textOf(resumed)).toBeFalsy();
  });

  it("tells a subscribed client about a promotion made by another process on the same data dir", async () => {
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: `skill://${SKILL}/SKILL.md` });
    const versions = await engine.history(SKILL);
    const draft = versions.find((v) => v.status === "draft");
    expect(draft).toBeDefined();
    // A second engine on the same data dir: as the CLI or another client's server would be.
    const elsewhere = await openTestEngine(engine.dataDir);
    await elsewhere.promote(SKILL, draft!.version, { export: false });
    await expect.poll(() => updated, { timeout: 8_000 }).toContain(`skill://${SKILL}/SKILL.md`);
  });
});

describe("agent mode judges unlabelled runs first", () => {
  it("lists a judging stage for runs without an outcome, then analyses them by their verdicts, to a draft", async () => {
    const engine = await openTestEngine();
    const client = await connectInMemory(engine);
    for (const [i, succeeds] of [true, true, false, false].entries()) {
      const turns = sessionTurns({ task: `Make the retry tests pass (${i}).`, turns: 3, succeeds });
      await engine.submit({ raw: transcriptAfter(turns, 3), format: "claude-code", skill: "coding", tags: [`session:s${i}`] });
    }
    const agent = new StructuredOnlyAgent(client);
    const view = (await agent.drive({
      tool: "evolve_skill",
      arguments: { skill: "coding", purpose: "Fix failing tests in a codebase", provider: "agent", waitSeconds: 30 },
    })) as { result: { status: string } };
    const stages = agent.listings.filter((l) => l.stage !== "ready").map((l) => `${l.stage} ${l.pending}/${l.total}`);
    expect(stages[0]).toBe("judging 4/4");
    expect(stages[1]).toBe("analysis 4/4");
    expect(view.result.status).toBe("draft");
    const runs = (await callTool(client, "list_trajectories", { skill: "coding" })).structuredContent as { runs: { outcome: string; outcomeBy: string; judge: string }[] };
    expect(runs.runs.map((r) => `${r.outcome}/${r.outcomeBy}/${r.judge}`).sort()).toEqual([
      "failure/judged/agent",
      "failure/judged/agent",
      "success/judged/agent",
      "success/judged/agent",
    ]);
    await client.close();
  });
});
