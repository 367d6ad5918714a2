import { InvalidTrajectoryError } from "../../util/errors.js";
import type { Step, ToolCall } from "../schema.js";
import type { Importer, RawRun } from "./types.js";
import {
  isRecord,
  joinTexts,
  parseArguments,
  RunBuilder,
  stringAt,
  stringifyValue,
  type JsonRecord,
} from "./run-builder.js";

/**
 * OpenHands event streams, as a JSON array of events, `{events: [...]}`, or a page of the
 * events API (`{items: [...], next_page_id}`, with null entries and state rows), in both layouts:
 * - V0 (OpenHands app, trajectory export): actions `{id, source, action, args}` and
 *   observations `{id, cause, observation, content, extras}`;
 * - V1 (software-agent-sdk): typed events `{kind: "MessageEvent" | "ActionEvent" |
 *   "ObservationEvent" | "AgentErrorEvent" | "UserRejectObservation" | ...}`.
 * The agent's own `finish` claim is not a verified result, so the outcome stays unknown.
 */

const V1_KINDS = new Set([
  "MessageEvent",
  "ActionEvent",
  "ObservationEvent",
  "SystemPromptEvent",
  "AgentErrorEvent",
  "UserRejectObservation",
]);

/** V1 events that record the conversation's state, not a step. */
const V1_STATE_KINDS = new Set([
  "StateEvent",
  "ConversationStateUpdateEvent",
  "PauseEvent",
  "Condensation",
  "CondensationRequest",
  "CondensationSummaryEvent",
]);

/** V0 actions that are dialogue, not tool use. */
const DIALOGUE_ACTIONS = new Set(["message", "system"]);
/** V0 events that only record the controller's state machine. */
const STATE_EVENTS = new Set(["agent_state_changed", "change_agent_state", "null", "condensation", "recall"]);

function eventsOf(value: unknown): unknown[] | null {
  if (Array.isArray(value)) return value;
  if (isRecord(value) && Array.isArray(value.events)) return value.events;
  if (isRecord(value) && Array.isArray(value.items)) return value.items;
  return null;
}

function isV1Event(e: unknown): e is JsonRecord {
  return isRecord(e) && typeof e.kind === "string" && V1_KINDS.has(e.kind);
}

function isV0Action(e: unknown): e is JsonRecord & { action: string } {
  return isRecord(e) && typeof e.action === "string" && isRecord(e.args);
}

function isV0Observation(e: unknown): e is JsonRecord & { observation: string } {
  return isRecord(e) && typeof e.observation === "string" && ("cause" in e || isRecord(e.extras));
}

/** Text content parts (`[{type: "text", text}]`) or a plain string. */
function partsText(content: unknown): string | undefined {
  if (typeof content === "string") return joinTexts([content]);
  if (!Array.isArray(content)) return undefined;
  const texts = content.map((p) => (isRecord(p) && typeof p.text === "string" ? p.text : ""));
  return texts.some((t) => t.length > 0) ? texts.filter((t) => t.length > 0).join("\n") : undefined;
}

function eventId(e: JsonRecord): string | undefined {
  return typeof e.id === "number" ? String(e.id) : stringAt(e, "id");
}

interface ActionRef {
  callId?: string;
  name: string;
}

class EventReader {
  readonly builder: RunBuilder;
  /** Observations point back at their action by event id (V0 `cause`, V1 `action_id`). */
  private readonly actions = new Map<string, ActionRef>();

  constructor(raw: RawRun) {
    this.builder = new RunBuilder("openhands", "OpenHands event stream", raw);
  }

  event(e: unknown): void {
    if (e === null) return this.builder.skip("null events", "an empty entry of the list");
    if (isRecord(e) && typeof e.kind === "string" && V1_STATE_KINDS.has(e.kind)) {
      return this.builder.skip(`"${e.kind}" events`, "conversation state, not a step");
    }
    if (isV1Event(e)) this.v1(e);
    else if (isV0Action(e)) this.v0Action(e);
    else if (isV0Observation(e)) this.v0Observation(e);
    else if (isRecord(e)) this.builder.skip(`"${stringAt(e, "kind") ?? "unrecognised"}" events`, "not a message, action or observation");
    else this.builder.skip("events", "not an object");
  }

  private at(e: JsonRecord): Pick<Step, "timestamp"> {
    const timestamp = stringAt(e, "timestamp");
    return timestamp ? { timestamp } : {};
  }

  private remember(e: JsonRecord, ref: ActionRef): void {
    const id = eventId(e);
    if (id !== undefined) this.actions.set(id, ref);
  }

  private v1(e: JsonRecord): void {
    switch (e.kind) {
      case "MessageEvent":
        return this.v1Message(e);
      case "SystemPromptEvent": {
        const prompt = e.system_prompt;
        const text = isRecord(prompt) ? partsText(prompt.text) : partsText(prompt);
        if (text !== undefined) this.builder.add({ role: "system", ...this.at(e), text });
        return;
      }
      case "ActionEvent":
        return this.v1Action(e);
      case "ObservationEvent": {
        const obs = isRecord(e.observation) ? e.observation : {};
        const content = partsText(obs.content) ?? partsText(obs.output) ?? stringifyValue(obs.content);
        const exitCode = typeof obs.exit_code === "number" ? obs.exit_code : undefined;
        return this.v1Result(e, content, obs.is_error === true || (exitCode !== undefined && exitCode !== 0));
      }
      case "UserRejectObservation":
        return this.v1Result(e, `Rejected by the user: ${stringAt(e, "rejection_reason") ?? "no reason given"}`, true);
      case "AgentErrorEvent":
        return this.v1Result(e, stringifyValue(e.error), true);
    }
  }

  private v1Message(e: JsonRecord): void {
    const message = isRecord(e.llm_message) ? e.llm_message : {};
    const text = partsText(message.content);
    const role = message.role === "assistant" || e.source === "agent" ? "assistant" : message.role === "system" ? "system" : "user";
    if (text === undefined) return this.builder.skip("empty messages", "no text content");
    this.builder.add({ role, ...this.at(e), text });
  }

  private v1Action(e: JsonRecord): void {
    const toolCall = isRecord(e.tool_call) ? e.tool_call : {};
    const fn = isRecord(toolCall.function) ? toolCall.function : {};
    const action = isRecord(e.action) ? e.action : undefined;
    // The tool's name: on the event, on its tool call (OpenAI or flat shape), else the action's kind.
    const name = stringAt(e, "tool_name") ?? stringAt(toolCall, "name") ?? stringAt(fn, "name") ?? (action ? stringAt(action, "kind") : undefined);
    if (!name) return this.builder.skip("action events", "no tool name");
    const rawArgs = toolCall.arguments ?? fn.arguments;
    const args = rawArgs !== undefined ? parseArguments(rawArgs) : action ? withoutKeys(action, ["kind"]) : {};
    const call: ToolCall = { id: stringAt(e, "tool_call_id") ?? stringAt(toolCall, "id"), name, arguments: args };
    if (stringAt(e, "reasoning_content")) this.builder.skip("reasoning_content", "private model reasoning is not imported");
    this.remember(e, { callId: call.id, name });
    this.builder.add({ role: "assistant", ...this.at(e), text: partsText(e.thought), toolCalls: [call] });
  }

  private v1Result(e: JsonRecord, content: string, isError: boolean): void {
    const actionId = stringAt(e, "action_id");
    const ref = actionId !== undefined ? this.actions.get(actionId) : undefined;
    this.builder.add({
      role: "tool",
      ...this.at(e),
      toolResult: {
        callId: stringAt(e, "tool_call_id") ?? ref?.callId,
        name: stringAt(e, "tool_name") ?? ref?.name,
        content,
        isError,
      },
    });
  }

  private v0Action(e: JsonRecord & { action: string }): void {
    const args = e.args as JsonRecord;
    if (STATE_EVENTS.has(e.action)) return this.builder.skip(`"${e.action}" actions`, "controller state, not a step");
    if (DIALOGUE_ACTIONS.has(e.action)) {
      const text = stringAt(args, "content") ?? stringAt(e, "message");
      if (text === undefined) return this.builder.skip("empty messages", "no text content");
      const role = e.action === "system" ? "system" : e.source === "agent" ? "assistant" : "user";
      this.builder.add({ role, ...this.at(e), text });
      return;
    }
    if (e.source !== "agent") return this.builder.skip(`"${e.action}" actions from ${String(e.source)}`, "only the agent's actions are steps");
    const metadata = isRecord(e.tool_call_metadata) ? e.tool_call_metadata : {};
    const call: ToolCall = { id: stringAt(metadata, "tool_call_id"), name: e.action, arguments: withoutKeys(args, ["thought"]) };
    this.remember(e, { callId: call.id, name: call.name });
    this.builder.add({ role: "assistant", ...this.at(e), text: stringAt(args, "thought"), toolCalls: [call] });
  }

  private v0Observation(e: JsonRecord & { observation: string }): void {
    if (STATE_EVENTS.has(e.observation)) return this.builder.skip(`"${e.observation}" observations`, "controller state, not a step");
    const cause = typeof e.cause === "number" ? String(e.cause) : stringAt(e, "cause");
    const ref = cause !== undefined ? this.actions.get(cause) : undefined;
    const extras = isRecord(e.extras) ? e.extras : {};
    const metadata = isRecord(extras.metadata) ? extras.metadata : {};
    const exitCode = typeof metadata.exit_code === "number" ? metadata.exit_code : extras.exit_code;
    const isError =
      e.observation === "error" || e.observation === "user_rejected" || (typeof exitCode === "number" && exitCode !== 0);
    this.builder.add({
      role: "tool",
      ...this.at(e),
      toolResult: {
        callId: ref?.callId,
        name: ref?.name ?? e.observation,
        content: typeof e.content === "string" ? e.content : stringifyValue(e.message),
        isError,
      },
    });
  }
}

function withoutKeys(obj: JsonRecord, keys: string[]): JsonRecord {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));
}

export const openHandsImporter: Importer = {
  format: "openhands",
  description: "OpenHands event stream: [{action, args} | {observation, cause}] events (V0) or SDK events {kind: MessageEvent | ActionEvent | ObservationEvent} (V1)",

  detect(raw: RawRun): boolean {
    const events = eventsOf(raw.value);
    return events !== null && events.some((e) => isV1Event(e) || isV0Action(e) || isV0Observation(e));
  },

  parse(raw: RawRun) {
    const events = eventsOf(raw.value);
    if (!events || !events.some((e) => isV1Event(e) || isV0Action(e) || isV0Observation(e))) {
      throw new InvalidTrajectoryError(
        'Expected an OpenHands event stream: a JSON array (or {"events": [...]}) of events like {"action": "run", "args": {...}} / ' +
          '{"observation": "run", "cause": 2, "content": ...}, or SDK events {"kind": "ActionEvent", ...}.',
      );
    }
    const reader = new EventReader(raw);
    for (const e of events) reader.event(e);
    const run = reader.builder.build({
      task: reader.builder.firstText("user"),
      agent: "openhands",
      createdAt: events.map((e) => (isRecord(e) ? stringAt(e, "timestamp") : undefined)).find((t) => t !== undefined),
    });
    return { runs: [run], skipped: reader.builder.skipped() };
  },
};
