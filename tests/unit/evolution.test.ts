import { describe, expect, it } from "vitest";
import { latestPerSession } from "../../src/evolution/inputs.js";
import { analysisWorkItemId, briefId, mergeWorkItemId, parseWorkItemId } from "../../src/evolution/work-item-ids.js";
import { chooseProvider } from "../../src/evolution/providers.js";
import type { LanguageModel } from "../../src/llm/port.js";

const model = { baseURL: "http://127.0.0.1:1/v1", apiKey: "k", model: "m", timeoutMs: 1000, maxRetries: 0, concurrency: 1, maxValidationRetries: 0 };
const sampling = { provider: "mcp-sampling", model: "mcp-sampling", supportsTools: false, generate: async () => { throw new Error("unused"); } } as unknown as LanguageModel;

describe("provider choice", () => {
  it("prefers a configured model, then sampling, then agent over MCP and heuristic on the CLI", () => {
    expect(chooseProvider(undefined, { modelConfig: model, sampling, surface: "mcp" })).toBe("openai-compatible");
    expect(chooseProvider(undefined, { modelConfig: null, sampling, surface: "mcp" })).toBe("mcp-sampling");
    expect(chooseProvider(undefined, { modelConfig: null, surface: "mcp" })).toBe("agent");
    expect(chooseProvider(undefined, { modelConfig: null, surface: "cli" })).toBe("heuristic");
  });

  it("refuses an explicit provider that cannot be honoured, saying what to do", () => {
    expect(() => chooseProvider("openai-compatible", { modelConfig: null, surface: "mcp" })).toThrow(/OPENAI_BASE_URL/);
    expect(() => chooseProvider("mcp-sampling", { modelConfig: null, surface: "mcp" })).toThrow(/sampling capability/);
    expect(() => chooseProvider("agent", { modelConfig: null, surface: "cli" })).toThrow(/heuristic/);
    expect(chooseProvider("heuristic", { modelConfig: model, surface: "mcp" })).toBe("heuristic");
  });
});

describe("work item ids", () => {
  it("round-trip what an item is for, and refuse anything else", () => {
    const id = "a".repeat(64);
    const run = "evolve-20261123-1-abc";
    expect(parseWorkItemId(analysisWorkItemId({ skill: "airline-support", version: 3 }, id))).toEqual({
      kind: "analysis",
      scope: { skill: "airline-support", version: 3 },
      trajectoryId: id,
    });
    expect(parseWorkItemId(analysisWorkItemId({ runId: run }, id))).toEqual({ kind: "analysis", scope: { runId: run }, trajectoryId: id });
    expect(parseWorkItemId(mergeWorkItemId(run, 2, 7, "0123456789abcdef"))).toEqual({
      kind: "merge",
      runId: run,
      level: 2,
      index: 7,
      inputHash: "0123456789ab",
    });
    expect(parseWorkItemId(briefId({ runId: run }, "merger"))).toEqual({ kind: "brief", scope: { runId: run }, brief: "merger" });
    expect(parseWorkItemId(briefId({ skill: "x", version: 1 }, "error-analyst"))).toEqual({
      kind: "brief",
      scope: { skill: "x", version: 1 },
      brief: "error-analyst",
    });
    for (const bad of ["", "analysis:../../etc:1:" + id, "merge:../x:1:1:0123456789ab", "merge:r:1:1", "analysis:ok:1:xyz", "brief:r:other", "whatever"]) {
      expect(() => parseWorkItemId(bad)).toThrow(/not a work item id/);
    }
  });
});

describe("hooked sessions", () => {
  it("keeps runs without a session and only the most complete snapshot of each session", () => {
    const rows = [
      { id: "plain", tags: [], steps: 3, createdAt: "2026-01-01T00:00:00Z" },
      { id: "s1-a", tags: ["session:1"], steps: 4, createdAt: "2026-01-01T00:00:01Z" },
      { id: "s1-b", tags: ["session:1"], steps: 9, createdAt: "2026-01-01T00:00:02Z" },
      { id: "s1-c", tags: ["session:1"], steps: 6, createdAt: "2026-01-01T00:00:03Z" },
      { id: "s2-a", tags: ["x", "session:2"], steps: 2, createdAt: "2026-01-01T00:00:04Z" },
    ];
    expect(latestPerSession(rows).map((r) => r.id).sort()).toEqual(["plain", "s1-b", "s2-a"]);
  });
});
