import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { Engine } from "../../engine.js";
import { MAX_PAGE_SIZE, WorkItemViewSchema, WorkListingSchema } from "../../evolution/work-queue.js";
import { InvalidInputError } from "../../util/errors.js";
import { defineTool } from "../define-tool.js";
import { nextAfterSubmit, nextForListing, NextStepSchema, submitItem } from "../next.js";
import { SkillName } from "../shapes.js";
import { RunId } from "./evolution.js";

/**
 * Agent mode, item by item: one call lists every pending item of the stage (ids and a few
 * words each, so a parent agent can fan out to as many subagents as it has), each item is
 * read on its own, and results come back through submit_lessons.
 */

export function registerListWorkItemsTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "list_work_items",
    title: "List pending agent-mode work",
    description:
      "Agent mode: every pending item of the current stage (judging, analyses, each merge level) of a run or a skill's base version, with " +
      "counts and the briefs they share. Hand each workItemId to its own subagent, all at once.",
    input: {
      runId: RunId.optional().describe("An evolve or consolidate run"),
      skill: SkillName.optional().describe("Without runId: the analyses pending for this skill"),
      baseVersion: z.number().int().positive().optional().describe("With skill: the base version (default the active one)"),
      cursor: z.string().max(2000).optional().describe("nextCursor of the previous page"),
      limit: z.number().int().min(1).max(MAX_PAGE_SIZE).optional().describe(`Items per page (default 50, at most ${MAX_PAGE_SIZE})`),
    },
    output: { ...WorkListingSchema.shape, next: NextStepSchema },
    annotations: { readOnlyHint: true, openWorldHint: false },
    async handle(args) {
      if ((args.runId === undefined) === (args.skill === undefined)) {
        throw new InvalidInputError("Give exactly one of runId (an evolve or consolidate run) or skill (analyses against a base version).");
      }
      const target = args.runId !== undefined ? { runId: args.runId } : { skill: args.skill as string, baseVersion: args.baseVersion };
      const listing = await engine.evolution.work.list(target, { cursor: args.cursor, limit: args.limit });
      const text =
        listing.stage === "ready"
          ? "Nothing pending: continue the run."
          : `${listing.pending} pending ${listing.stage} item(s) (${listing.done}/${listing.total} done)${listing.level ? `, level ${listing.level}/${listing.levels}` : ""}; ` +
            `${listing.items.length} listed here${listing.nextCursor ? `, more with cursor ${listing.nextCursor}` : ""}:\n` +
            listing.items.map((i) => `- ${i.workItemId} (${i.about})`).join("\n");
      return { structured: { ...listing, next: nextForListing(listing) }, text };
    },
  });
}

export function registerGetWorkItemTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "get_work_item",
    title: "Read one work item",
    description:
      "Agent mode: one work item (the run to judge or analyse, or the edits to merge); with includeBrief, the brief its stage shares " +
      "(instructions, base skill, responseSchema). Send your JSON with submit_lessons.",
    input: {
      workItemId: z.string().max(300).describe("A workItemId from list_work_items"),
      includeBrief: z.boolean().optional().describe("Also return the brief (default false: read it once per stage)"),
      steps: z.array(z.number().int().min(0)).max(20).optional().describe("Step ids (#N) to read in full, when `input` shortened them"),
    },
    output: { ...WorkItemViewSchema.shape, next: NextStepSchema },
    annotations: { readOnlyHint: true, openWorldHint: false },
    async handle(args) {
      const item = await engine.evolution.work.item(args.workItemId, { includeBrief: args.includeBrief, steps: args.steps });
      const next = submitItem(item.workItemId, item.brief !== null, item.briefId);
      // Clients that show only text get the item itself, not a summary of it.
      const text = [
        `${item.kind} work item ${item.workItemId}: ${item.about}`,
        item.brief ? `\n# Brief ${item.briefId}\n\n${item.brief.instructions}\n\nresponseSchema: ${JSON.stringify(item.brief.responseSchema)}` : `Brief: ${item.briefId}`,
        `\n# Input\n\n${item.input}`,
      ].join("\n");
      return { structured: { ...item, next }, text };
    },
  });
}

export function registerSubmitLessonsTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "submit_lessons",
    title: "Submit agent-mode results",
    description:
      "Agent mode: hand back filled work items (analyses or merges). Each result is validated exactly like a model's reply; a rejected one says what " +
      "to fix and can be sent again. The answer says how the stage stands and what comes next.",
    input: {
      results: z
        .array(
          z.strictObject({
            workItemId: z.string().max(300).describe("The item's workItemId"),
            result: z.record(z.string(), z.unknown()).describe("The JSON object that satisfies the brief's responseSchema"),
          }),
        )
        .min(1)
        .max(100)
        .describe("One entry per finished item"),
    },
    output: {
      accepted: z.array(z.string()),
      rejected: z.array(z.object({ workItemId: z.string(), error: z.string() })),
      work: WorkListingSchema.pick({ stage: true, level: true, levels: true, done: true, pending: true, total: true }).nullable(),
      next: NextStepSchema,
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handle(args) {
      const outcome = await engine.evolution.work.submit(args.results.map((r) => ({ workItemId: r.workItemId, result: r.result })));
      const text =
        `Accepted ${outcome.accepted.length}, rejected ${outcome.rejected.length}.` +
        outcome.rejected.map((r) => `\n- ${r.workItemId}: ${r.error}`).join("");
      return {
        structured: {
          accepted: outcome.accepted,
          rejected: outcome.rejected,
          work: outcome.after,
          next: nextAfterSubmit(outcome.after, outcome.rejected),
        },
        text,
      };
    },
  });
}
