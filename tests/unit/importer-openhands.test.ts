import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openHandsImporter } from "../../src/trajectory/importers/openhands.js";
import { decodeRaw } from "../../src/trajectory/importers/raw.js";
import { detectFormat } from "../../src/trajectory/ingest.js";
import { TrajectoryDraftSchema } from "../../src/trajectory/schema.js";
import { InvalidTrajectoryError } from "../../src/util/errors.js";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/formats/${name}`, import.meta.url), "utf8");

const v0Events = [
  { id: 0, timestamp: "2025-01-01T00:00:00", source: "agent", message: "sys", action: "system", args: { content: "You are OpenHands." } },
  { id: 1, timestamp: "2025-01-01T00:00:01", source: "user", message: "Fix the build", action: "message", args: { content: "Fix the build", image_urls: null } },
  { id: 2, source: "environment", observation: "agent_state_changed", content: "", extras: { agent_state: "running" } },
  { id: 3, source: "user", action: "recall", args: { query: "Fix the build" } },
  {
    id: 4,
    source: "agent",
    message: "Running command: npm run build",
    action: "run",
    args: { command: "npm run build", thought: "Build first.", blocking: false },
    tool_call_metadata: { function_name: "execute_bash", tool_call_id: "toolu_1" },
  },
  { id: 5, source: "agent", cause: 4, observation: "run", content: "error TS2304", extras: { command: "npm run build", metadata: { exit_code: 2 } } },
  { id: 6, source: "agent", action: "edit", args: { path: "/w/a.ts", command: "str_replace", old_str: "x", new_str: "y", thought: "" } },
  { id: 7, source: "agent", cause: 6, observation: "edit", content: "edited", extras: { path: "/w/a.ts" } },
  { id: 8, source: "agent", action: "run_ipython", args: { code: "1/0" } },
  { id: 9, source: "agent", cause: 8, observation: "error", content: "ZeroDivisionError", extras: {} },
  { id: 10, source: "agent", message: "Done.", action: "message", args: { content: "Fixed the build." } },
  { id: 11, source: "agent", action: "finish", args: { final_thought: "All good", task_completed: "true", outputs: {} } },
];

describe("openhands importer", () => {
  it("imports the SDK (V1) sample: thoughts, tool calls, observations, a rejection as an error", () => {
    const raw = decodeRaw(fixture("openhands_tool-calls.input.json"));
    expect(openHandsImporter.detect(raw)).toBe(true);
    const run = TrajectoryDraftSchema.parse(openHandsImporter.parse(raw).runs[0]);
    expect(run.task).toBe("Inspect and update the entry point.");
    expect(run.agent).toBe("openhands");
    expect(run.outcome).toEqual({ success: null });
    expect(run.steps.map((s) => s.role)).toEqual(["user", "assistant", "tool", "assistant", "tool", "assistant"]);
    expect(run.steps[1]).toMatchObject({ text: "I'll inspect the workspace first.", toolCalls: [{ id: "call_oh_1", name: "terminal", arguments: { command: "pwd" } }] });
    expect(run.steps[2]?.toolResult).toMatchObject({ callId: "call_oh_1", name: "terminal", isError: false });
    expect(run.steps[3]?.toolCalls).toEqual([{ name: "file_editor", arguments: { path: "src/app.ts", content: "updated" } }]);
    expect(run.steps[4]?.toolResult).toMatchObject({ name: "file_editor", isError: true, content: "Rejected by the user: Edit was not approved." });
  });

  it("imports a V0 event stream: actions as tool calls named after the action, exit codes and errors flagged", () => {
    const { runs, skipped } = openHandsImporter.parse(decodeRaw({ events: v0Events }));
    const run = runs[0]!;
    expect(run.task).toBe("Fix the build");
    expect(run.outcome).toEqual({ success: null });
    expect(run.steps.map((s) => s.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant", "assistant"]);
    expect(run.steps[2]).toMatchObject({ text: "Build first.", toolCalls: [{ id: "toolu_1", name: "run", arguments: { command: "npm run build", blocking: false } }] });
    expect(run.steps[3]?.toolResult).toEqual({ callId: "toolu_1", name: "run", content: "error TS2304", isError: true });
    expect(run.steps[5]?.toolResult).toMatchObject({ name: "edit", isError: false });
    expect(run.steps[7]?.toolResult).toMatchObject({ name: "run_ipython", content: "ZeroDivisionError", isError: true });
    expect(run.steps[8]?.text).toBe("Fixed the build.");
    expect(run.steps[9]?.toolCalls?.[0]?.name).toBe("finish");
    expect(skipped).toContainEqual(expect.objectContaining({ what: '"agent_state_changed" observations', count: 1 }));
    expect(skipped).toContainEqual(expect.objectContaining({ what: '"recall" actions', count: 1 }));
  });

  it("counts unknown events and keeps a 1 MB observation whole", () => {
    const big = "b".repeat(1024 * 1024);
    const { runs, skipped } = openHandsImporter.parse(
      decodeRaw([
        { kind: "ConversationStateUpdateEvent", id: "s", key: "status", value: "running" },
        { kind: "ActionEvent", id: "a", tool_name: "terminal", tool_call_id: "c", tool_call: { id: "c", name: "terminal", arguments: '{"command":"cat big"}' } },
        { kind: "ObservationEvent", id: "o", action_id: "a", tool_call_id: "c", observation: { content: [{ type: "text", text: big }], is_error: false } },
        { kind: "AgentErrorEvent", id: "e", tool_name: "terminal", tool_call_id: "c2", error: "bad arguments" },
      ]),
    );
    expect(runs[0]!.steps[1]?.toolResult?.content).toHaveLength(1024 * 1024);
    expect(runs[0]!.steps[2]?.toolResult).toEqual({ callId: "c2", name: "terminal", content: "bad arguments", isError: true });
    expect(skipped).toContainEqual(expect.objectContaining({ what: '"ConversationStateUpdateEvent" events', count: 1 }));
  });

  it("refuses a stream with no usable step and input that is not an event stream", () => {
    const onlyState = decodeRaw([{ id: 1, source: "environment", observation: "agent_state_changed", content: "", extras: {} }]);
    expect(() => openHandsImporter.parse(onlyState)).toThrow(InvalidTrajectoryError);
    expect(() => openHandsImporter.parse(onlyState)).toThrow(/no usable steps/);
    const wrong = decodeRaw([{ role: "user", content: "hi" }]);
    expect(openHandsImporter.detect(wrong)).toBe(false);
    expect(() => openHandsImporter.parse(wrong)).toThrow(/Expected an OpenHands event stream/);
  });
});

describe("openhands importer: an event list as the API pages return it (issue 11, item 10)", () => {
  const page = {
    items: [
      null,
      { kind: "SystemPromptEvent", source: "agent", system_prompt: { type: "text", text: "You are OpenHands." } },
      { kind: "MessageEvent", source: "user", llm_message: { role: "user", content: [{ type: "text", text: "List the repo files" }] } },
      { kind: "ConversationStateUpdateEvent", source: "environment", key: "execution_status", value: "running" },
      { kind: "StateEvent", source: "environment", state: "running" },
      { kind: "ActionEvent", source: "agent", tool_name: "terminal", tool_call: { arguments: '{"command": "ls"}' }, thought: [{ type: "text", text: "Look first." }] },
      { kind: "ObservationEvent", source: "environment", tool_name: "terminal", observation: { content: [{ type: "text", text: "README.md\nsrc" }], exit_code: 0 } },
      { kind: "ActionEvent", source: "agent", tool_call: { arguments: { path: "/w/missing.txt" } }, action: { kind: "FileReadAction", path: "/w/missing.txt" } },
      { kind: "AgentErrorEvent", source: "agent", error: "File not found: /w/missing.txt" },
      null,
    ],
    next_page_id: null,
  };

  it("is detected and imported, skipping and counting what it cannot use", () => {
    const raw = decodeRaw(JSON.stringify(page));
    expect(detectFormat(raw).format).toBe("openhands");
    const parsed = openHandsImporter.parse(raw);
    const run = TrajectoryDraftSchema.parse(parsed.runs[0]);
    expect(run.task).toBe("List the repo files");
    expect(run.steps.map((s) => s.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "tool"]);
    expect(run.steps[2]?.toolCalls?.[0]).toMatchObject({ name: "terminal", arguments: { command: "ls" } });
    expect(run.steps[4]?.toolCalls?.[0]).toMatchObject({ name: "FileReadAction", arguments: { path: "/w/missing.txt" } });
    expect(run.steps[5]?.toolResult).toMatchObject({ isError: true, content: expect.stringContaining("File not found") });
    const skipped = Object.fromEntries(parsed.skipped.map((s) => [s.what, s.count]));
    expect(skipped["null events"]).toBe(2);
    expect(Object.keys(skipped).join(" ")).toMatch(/ConversationStateUpdateEvent|state/);
  });
});
