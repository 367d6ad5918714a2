import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { callTool, textOf } from "./mcp.js";
import { fillFromSchema } from "./schema-fill.js";
import { scriptedAnalysis, scriptedCoverage, scriptedMerge, scriptedReview } from "./scripted-model.js";

/**
 * A test agent (also used by bench/agent-mode-answers.ts) for agent mode that behaves like Claude Code or VS Code: it reads ONLY a
 * result's structuredContent (never the text), follows `next`, and fans out every pending item
 * of a stage at once, each "subagent" reading its item with get_work_item and answering with
 * JSON generated from the brief's responseSchema (ideas from the scripted analyst / merger).
 */

export interface NextStep {
  tool: string;
  arguments: Record<string, unknown>;
  reason: string;
}

export interface Brief {
  briefId: string;
  instructions: string;
  responseSchema: Record<string, unknown>;
}

export interface WorkItemFull {
  workItemId: string;
  kind: "judge" | "analysis" | "merge" | "review" | "holdout";
  briefId: string;
  about: string;
  input: string;
  brief: Brief | null;
}

export interface Listing {
  stage: "judging" | "analysis" | "merge" | "ready";
  level: number | null;
  levels: number | null;
  done: number;
  pending: number;
  total: number;
  runId: string | null;
  items: { workItemId: string; briefId: string; about: string }[];
  nextCursor: string | null;
  next: NextStep | null;
}

/** Every answer of the session: tool, structuredContent size in chars, text size, and the answer. */
export interface Answer {
  tool: string;
  chars: number;
  /** Size of the text content (what clients that show only text give the model). */
  textChars: number;
  structured: Record<string, unknown>;
}

const validator = new AjvJsonSchemaValidator();

/** A reply to one work item, generated from its brief's schema, checked against that schema. */
export function answerFromSchema(item: WorkItemFull, tweak?: (draft: unknown, item: WorkItemFull) => unknown): unknown {
  if (!item.brief) throw new Error(`work item ${item.workItemId} came without its brief`);
  const idea =
    item.kind === "merge"
      ? scriptedMerge(item.input)
      : item.kind === "judge"
        ? scriptedVerdict(item.input)
        : item.kind === "review"
          ? scriptedReview(item.input)
          : item.kind === "holdout"
            ? scriptedCoverage(item.brief.instructions, item.input)
            : scriptedAnalysis(item.brief.instructions, item.input);
  const draft = tweak ? tweak(idea, item) : idea;
  const result = fillFromSchema(item.brief.responseSchema, draft);
  const check = validator.getValidator(item.brief.responseSchema as never)(result);
  assert.ok(check.valid, `${item.workItemId}: the generated reply does not satisfy the responseSchema: ${check.errorMessage}`);
  return result;
}

/** A judge subagent's verdict: the last test run in the rendered run decides. */
function scriptedVerdict(input: string): { verdict: string; confidence: number; reason: string } {
  const lines = input.split("\n");
  const lastIndex = (test: (line: string) => boolean) => lines.reduce((at, line, i) => (test(line) ? i : at), -1);
  const failed = lastIndex((line) => /\bFAIL\b|\bfailed\b/.test(line));
  const passed = lastIndex((line) => /passed \(/.test(line) && !/failed/.test(line));
  if (failed < 0 && passed < 0) return { verdict: "unknown", confidence: 0.3, reason: "No test run shows the outcome." };
  return passed > failed
    ? { verdict: "success", confidence: 0.8, reason: "The last test run passed." }
    : { verdict: "failure", confidence: 0.8, reason: "The last test run failed." };
}

export class StructuredOnlyAgent {
  readonly answers: Answer[] = [];
  readonly listings: Listing[] = [];

  constructor(
    private readonly client: Client,
    private readonly tweak?: (draft: unknown, item: WorkItemFull) => unknown,
  ) {}

  async call<T = Record<string, unknown>>(tool: string, args: Record<string, unknown>): Promise<T> {
    const res = await callTool(this.client, tool, args);
    if (res.isError) throw new Error(`${tool} failed: ${textOf(res)}`);
    const structured = res.structuredContent as Record<string, unknown> | undefined;
    if (!structured) throw new Error(`${tool} answered without structuredContent`);
    this.answers.push({ tool, chars: JSON.stringify(structured).length, textChars: textOf(res).length, structured });
    return structured as T;
  }

  /** Every pending item of the current stage (all pages), fanned out at once. */
  async fanOut(first: Listing): Promise<void> {
    const listing = first;
    const items = [...listing.items];
    let page = listing;
    while (page.nextCursor) {
      // Each page's `next` carries the cursor of the page after it.
      page = await this.call<Listing>("list_work_items", page.next?.arguments ?? {});
      items.push(...page.items);
    }
    assert.equal(items.length, listing.pending, "the pages must list every pending item");
    await Promise.all(
      items.map(async ({ workItemId }) => {
        const item = await this.call<WorkItemFull>("get_work_item", { workItemId, includeBrief: true });
        const sub = await this.call<{ rejected: { error: string }[] }>("submit_lessons", {
          results: [{ workItemId, result: answerFromSchema(item, this.tweak) }],
        });
        assert.deepEqual(sub.rejected, [], `${workItemId} was rejected`);
      }),
    );
  }

  /**
   * Follow `next` from a first answer until the run reports a draft (or nothing follows).
   * Returns the last run view.
   */
  async drive(start: { tool: string; arguments: Record<string, unknown> }, maxSteps = 60): Promise<Record<string, unknown>> {
    let view = await this.call(start.tool, start.arguments);
    let lastRun = view;
    for (let step = 0; step < maxSteps; step++) {
      const next = view.next as NextStep | null;
      if (!next || next.tool === "skill_history") return lastRun;
      if (next.tool === "list_work_items") {
        const { cursor: _cursor, ...target } = next.arguments;
        let listing = await this.call<Listing>("list_work_items", target);
        this.listings.push(listing);
        while (listing.stage !== "ready") {
          await this.fanOut(listing);
          // Every subagent is done: the parent lists again, as the prompt says.
          listing = await this.call<Listing>("list_work_items", target);
          this.listings.push(listing);
        }
        view = listing as unknown as Record<string, unknown>;
        continue;
      }
      const args = next.tool === "get_run" || next.tool === "evolve_skill" || next.tool === "consolidate_skill" ? { ...next.arguments, waitSeconds: 30 } : next.arguments;
      view = await this.call(next.tool, args);
      if ("runId" in view && "stage" in view) lastRun = view;
    }
    throw new Error(`no draft after ${maxSteps} steps`);
  }
}
