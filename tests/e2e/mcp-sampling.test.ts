import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CreateMessageRequestSchema, type CreateMessageRequest, type CreateMessageResult } from "@modelcontextprotocol/sdk/types.js";
import type { Engine } from "../../src/engine.js";
import { REPO_ROOT, TAU_FIXTURE, callTool, connectInMemory, openTestEngine, textOf } from "../helpers/mcp.js";
import { scriptedAnalysis, scriptedMerge, scriptedRepair } from "../helpers/scripted-model.js";

/**
 * The mcp-sampling provider end to end: the server has no model; the client declares the
 * sampling capability and answers `sampling/createMessage` with the scripted analyst's JSON.
 */

const tau = JSON.parse(await readFile(TAU_FIXTURE, "utf8")) as unknown[];
const SKILL = "airline-support";
const RUNS = 10;

function textOfMessage(message: CreateMessageRequest["params"]["messages"][number] | undefined): string {
  const content = message?.content;
  if (!content || Array.isArray(content)) return "";
  return content.type === "text" ? content.text : "";
}

/** The client's "model": which reply is asked for travels in the system prompt as the schema name. */
function answer(request: CreateMessageRequest): CreateMessageResult {
  const system = request.params.systemPrompt ?? "";
  const user = textOfMessage(request.params.messages[0]);
  const schema = /JSON Schema "(\w+)"/.exec(system)?.[1];
  const reply =
    schema === "analysis" ? scriptedAnalysis(system, user)
    : schema === "merge" ? scriptedMerge(user)
    : schema === "repair" ? scriptedRepair(user)
    : { error: `no script for ${String(schema)}` };
  return { role: "assistant", model: "client-model", content: { type: "text", text: JSON.stringify(reply) } };
}

describe("mcp-sampling: the server borrows the client's model", () => {
  let engine: Engine;
  let client: Client;
  const requests: CreateMessageRequest[] = [];

  beforeAll(async () => {
    engine = await openTestEngine();
    client = await connectInMemory(engine, { sampling: {} });
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      requests.push(request);
      return answer(request);
    });
    await engine.importSkill(path.join(REPO_ROOT, "skills/airline-support"));
    await engine.submit({ raw: tau.slice(0, RUNS), format: "tau-bench", skill: SKILL });
  });
  afterAll(async () => {
    await client.close();
  });

  it("is chosen by default when no server model is configured, and stores the analyses", async () => {
    const res = await callTool(client, "propose_lessons", { skill: SKILL });
    expect(res.isError, textOf(res)).toBeFalsy();
    expect(res.structuredContent).toMatchObject({ provider: "mcp-sampling", trajectories: RUNS, analysed: RUNS, failures: [] });
    expect(requests).toHaveLength(RUNS);
    for (const r of requests) {
      expect(r.params.systemPrompt).toMatch(/(error|success) analyst/);
      expect(r.params.includeContext).toBe("none");
    }
    const analyses = await engine.store.listAnalyses({ skill: SKILL });
    expect(analyses).toHaveLength(RUNS);
    expect(analyses.every((a) => a.provider === "mcp-sampling" && a.lessons.length > 0 && a.patch.edits.length > 0)).toBe(true);
  });

  it("asks the client nothing the second time", async () => {
    const before = requests.length;
    const again = await callTool(client, "propose_lessons", { skill: SKILL });
    expect(again.structuredContent).toMatchObject({ provider: "mcp-sampling", analysed: 0, cached: RUNS });
    expect(requests.length).toBe(before);
  });

  it("merges through the client's model too, into a draft", async () => {
    const before = requests.length;
    const res = await callTool(client, "consolidate_skill", { skill: SKILL, fanIn: 5, waitSeconds: 30 });
    expect(res.isError, textOf(res)).toBeFalsy();
    const view = res.structuredContent as { stage: string; errors: string[]; result: { status: string; version: number; levels: number } | null };
    expect(view.stage, view.errors.join("\n")).toBe("done");
    expect(view.result).toMatchObject({ status: "draft", version: 2, levels: 2 });
    const merges = requests.slice(before).filter((r) => /JSON Schema "merge"/.test(r.params.systemPrompt ?? ""));
    expect(merges).toHaveLength(3);
  });
});
