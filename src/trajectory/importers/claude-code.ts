import { InvalidTrajectoryError } from "../../util/errors.js";
import type { Step, TokenUsage, ToolCall } from "../schema.js";
import type { Importer, RawRun } from "./types.js";
import { AnthropicContentReader, type StepDecoration } from "./anthropic-messages.js";
import { arrayValue, isRecord, RunBuilder, stringAt, tokenCount, type JsonRecord } from "./run-builder.js";

/**
 * Claude Code session transcripts (~/.claude/projects/<project>/<session>.jsonl, and the
 * agent-*.jsonl files of its sub-agents): one row per line; `user` / `assistant` rows carry
 * an Anthropic Messages `message`, every other row type is bookkeeping.
 */

/** Harness-written turns: the caveat before local slash commands is never the user speaking. */
const INJECTED_PREFIXES = ["<local-command-caveat>", "<system-reminder>"];
/** Slash-command echoes and interruptions are user turns, but never the task. */
const NOT_A_TASK_PREFIXES = ["<command-name>", "<command-message>", "<command-args>", "<local-command-stdout>", "[Request interrupted"];

const SYNTHETIC_MODEL = "<synthetic>";

function isInjected(text: string): boolean {
  return INJECTED_PREFIXES.some((p) => text.startsWith(p));
}

function isConversationRow(row: unknown): row is JsonRecord & { message: JsonRecord } {
  return isRecord(row) && (row.type === "user" || row.type === "assistant") && isRecord(row.message);
}

/** Prompt tokens include the cached ones: Claude Code reports them separately, cost depends on all three. */
function usageOf(message: JsonRecord): TokenUsage | undefined {
  const u = message.usage;
  if (!isRecord(u)) return undefined;
  const usage: TokenUsage = {};
  const input = tokenCount(u.input_tokens);
  if (input !== undefined)
    usage.inputTokens = input + (tokenCount(u.cache_creation_input_tokens) ?? 0) + (tokenCount(u.cache_read_input_tokens) ?? 0);
  const output = tokenCount(u.output_tokens);
  if (output !== undefined) usage.outputTokens = output;
  return Object.keys(usage).length > 0 ? usage : undefined;
}

function decorationOf(row: JsonRecord): StepDecoration {
  const decoration: StepDecoration = {};
  const timestamp = stringAt(row, "timestamp");
  if (timestamp) decoration.timestamp = timestamp;
  if (row.isSidechain === true) {
    decoration.sidechain = true;
    decoration.source = "subagent";
  }
  return decoration;
}

class TranscriptReader {
  readonly builder: RunBuilder;
  private readonly content: AnthropicContentReader;
  /** Claude Code writes one row per content block of a streamed reply, all with the same message id. */
  private lastAssistant: { messageId: string; step: Step } | undefined;
  model: string | undefined;
  createdAt: string | undefined;

  constructor(raw: RawRun) {
    this.builder = new RunBuilder("claude-code", "Claude Code transcript", raw);
    this.content = new AnthropicContentReader(this.builder, isInjected);
  }

  row(row: unknown): void {
    if (!isRecord(row)) {
      this.builder.skip("rows", "not a JSON object");
      return;
    }
    this.createdAt ??= stringAt(row, "timestamp");
    if (!isConversationRow(row)) {
      const type = stringAt(row, "type");
      if (type === "user" || type === "assistant") this.builder.skip(`${type} rows`, "no message object");
      else this.builder.skip(`"${type ?? "untyped"}" rows`, "bookkeeping, not part of the conversation");
      return;
    }
    if (row.isMeta === true) {
      this.builder.skip("meta rows", "context injected by Claude Code (isMeta), not typed by the user");
      return;
    }
    if (row.isCompactSummary === true) {
      this.builder.skip("compaction summaries", "a summary of earlier turns written by Claude Code");
      return;
    }
    if (row.type === "user") {
      this.lastAssistant = undefined;
      this.content.userContent(row.message.content, decorationOf(row));
    } else {
      this.assistant(row, row.message);
    }
  }

  private assistant(row: JsonRecord, message: JsonRecord): void {
    const model = stringAt(message, "model");
    if (model && model !== SYNTHETIC_MODEL) this.model ??= model;
    const parts = this.content.assistantContent(message.content);
    const usage = usageOf(message);
    const messageId = stringAt(message, "id");
    const previous = this.lastAssistant;
    if (messageId && previous && previous.messageId === messageId && this.builder.last === previous.step) {
      mergeInto(previous.step, parts.text, parts.toolCalls, usage);
      return;
    }
    if (parts.text === undefined && parts.toolCalls.length === 0) {
      this.lastAssistant = undefined;
      return;
    }
    const step: Step = { role: "assistant", ...decorationOf(row), text: parts.text };
    if (parts.toolCalls.length > 0) step.toolCalls = parts.toolCalls;
    if (usage) step.usage = usage;
    this.builder.add(step);
    this.lastAssistant = messageId ? { messageId, step } : undefined;
  }

  /** The first thing the user typed in the main thread; a sub-agent file's prompt otherwise. */
  task(): string {
    const isTask = (text: string): boolean => !NOT_A_TASK_PREFIXES.some((p) => text.trimStart().startsWith(p));
    return this.builder.firstText("user", (text, step) => step.sidechain !== true && isTask(text)) || this.builder.firstText("user", isTask);
  }
}

function mergeInto(step: Step, text: string | undefined, toolCalls: ToolCall[], usage: TokenUsage | undefined): void {
  if (text !== undefined) step.text = step.text === undefined ? text : `${step.text}\n\n${text}`;
  if (toolCalls.length > 0) step.toolCalls = [...(step.toolCalls ?? []), ...toolCalls];
  // every row of one streamed reply repeats the usage; the last row has the final counts
  if (usage) step.usage = usage;
}

export const claudeCodeImporter: Importer = {
  format: "claude-code",
  description: "Claude Code session transcript (JSONL rows of type user / assistant / summary / system ..., from ~/.claude/projects)",

  detect(raw: RawRun): boolean {
    const rows = arrayValue(raw);
    if (!rows) return false;
    return rows.some(
      (row) =>
        isConversationRow(row) &&
        typeof row.uuid === "string" &&
        ("parentUuid" in row || "sessionId" in row || "isSidechain" in row) &&
        typeof row.message.role === "string",
    );
  },

  parse(raw: RawRun) {
    const rows = arrayValue(raw);
    if (!rows || !rows.some(isConversationRow)) {
      throw new InvalidTrajectoryError(
        'Expected a Claude Code transcript: JSON Lines with rows like {"type": "user" | "assistant", "uuid": ..., "message": {"role", "content"}}. ' +
          "Pass the session file from ~/.claude/projects/<project>/<session-id>.jsonl.",
      );
    }
    const reader = new TranscriptReader(raw);
    for (const row of rows) reader.row(row);
    const run = reader.builder.build({
      task: reader.task(),
      agent: "claude-code",
      model: reader.model,
      createdAt: reader.createdAt,
    });
    // The session the rows belong to: the same tag the hook gives, so an ingested session file
    // and the hook's reports of that session are one run.
    const session = rows.map((row) => (isRecord(row) ? row.sessionId : undefined)).find((id): id is string => typeof id === "string" && id !== "");
    if (session) run.tags = [`session:${session}`];
    return { runs: [run], skipped: reader.builder.skipped() };
  },
};
