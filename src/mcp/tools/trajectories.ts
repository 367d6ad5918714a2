import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { Engine } from "../../engine.js";
import { OutcomeFilterSchema, RunSummarySchema } from "../../trajectory/summary.js";
import { defineTool } from "../define-tool.js";
import { NextStepSchema, recordOutcome } from "../next.js";
import { SkillName } from "../shapes.js";

/** Stored runs, as evidence: find them (to label or judge), and delete them (privacy). */

const MAX_LISTED = 100;

export function registerListTrajectoriesTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "list_trajectories",
    title: "List stored runs",
    description:
      "Stored runs, newest first: id, skill, format, outcome and who set it (submitted or judged), steps, size, date.",
    input: {
      skill: SkillName.optional().describe("Only runs of this skill"),
      outcome: OutcomeFilterSchema.optional().describe("success, failure, unknown, or who set it: judged, submitted"),
      since: z.string().max(40).optional().describe("Only runs stored since: an ISO date, or a span such as 7d, 12h"),
      limit: z.number().int().min(1).max(MAX_LISTED).optional().describe(`Runs to list (default 20, at most ${MAX_LISTED})`),
    },
    output: {
      total: z.number().describe("Runs that match (the list holds the newest `limit`)"),
      runs: z.array(RunSummarySchema),
      next: NextStepSchema,
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
    async handle(args) {
      const all = await engine.runSummaries({ skill: args.skill, outcome: args.outcome, since: args.since });
      const runs = all.slice(0, args.limit ?? 20);
      const unknown = runs.find((r) => r.outcome === "unknown");
      const text =
        `${all.length} run(s)${runs.length < all.length ? `, newest ${runs.length} listed` : ""}:` +
        runs.map((r) => `\n- ${r.id.slice(0, 12)} ${r.skill ?? "-"} ${r.source} ${r.outcome}${r.outcomeBy === "judged" ? " (judged)" : ""} ${r.steps} steps ${r.createdAt}`).join("");
      return { structured: { total: all.length, runs, next: unknown ? recordOutcome(unknown.id) : null }, text };
    },
  });
}

export function registerDeleteTrajectoriesTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "delete_trajectories",
    title: "Delete stored runs",
    description:
      "Delete runs for good, with every analysis made from them. Versions whose provenance cites one keep its id and are listed.",
    input: {
      ids: z.array(z.string().max(64)).min(1).max(1000).describe("Run ids (or unique prefixes of 8+ characters) to delete"),
    },
    output: {
      deleted: z.array(z.string()),
      missing: z.array(z.string()).describe("Ids that were not stored"),
      analysesRemoved: z.number(),
      citedBy: z.array(z.object({ skill: z.string(), version: z.number(), runs: z.number() })).describe("Versions whose provenance cites a deleted run"),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async handle(args) {
      const result = await engine.deleteTrajectories(args.ids);
      const text =
        `Deleted ${result.deleted.length} run(s) and ${result.analysesRemoved} analysis(es) made from them.` +
        (result.missing.length ? ` Not stored: ${result.missing.length}.` : "") +
        result.citedBy.map((c) => `\n${c.skill} v${c.version} cites ${c.runs} of them.`).join("");
      return { structured: result, text };
    },
  });
}
