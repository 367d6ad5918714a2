import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { Engine } from "../../engine.js";
import { FORMAT_NAMES } from "../../trajectory/importers/index.js";
import { OutcomeSchema } from "../../trajectory/schema.js";
import { defineTool } from "../define-tool.js";
import { NextStepSchema, recordOutcome } from "../next.js";
import { SkipOutput } from "../shapes.js";
import type { SkillReads } from "../skill-reads.js";

export function registerSubmitTrajectoryTool(server: McpServer, engine: Engine, reads?: SkillReads): void {
  defineTool(server, {
    name: "submit_trajectory",
    title: "Submit a trajectory",
    description:
      "Store an agent run as evidence for a skill: `trajectory` ({ task, steps: [{ role, text?, toolCalls?, toolResult? }] }) or `raw` as your agent " +
      "wrote it (`format` auto-detected). Give `skill`, and `outcome.success` when known. Secrets are redacted; the same run gets the same id.",
    input: {
      trajectory: z.record(z.string(), z.unknown()).optional().describe("The canonical trajectory object"),
      raw: z
        .union([z.string(), z.array(z.unknown()), z.record(z.string(), z.unknown())])
        .optional()
        .describe("The run as the agent wrote it: a JSON value, or JSON / JSONL text"),
      format: z.string().optional().describe(`Format of \`raw\`: ${FORMAT_NAMES.join(", ")}. Omit to auto-detect.`),
      skill: z.string().optional().describe("Skill name the run is evidence for (lowercase-hyphenated, e.g. airline-support)"),
      skillVersion: z.number().int().positive().optional().describe("Skill version the run used (default: the one this session last read)"),
      outcome: OutcomeSchema.partial().optional().describe("How the run went, when known"),
      tags: z.array(z.string().max(100)).max(50).optional().describe("Free labels, e.g. the agent or a benchmark split"),
    },
    output: {
      id: z.string().describe("Id of the (first) stored run"),
      ids: z.array(z.string()).describe("Ids of every run in the submission (a file can hold several)"),
      created: z.number().describe("Runs newly stored"),
      duplicates: z.number().describe("Runs that were already stored (same id, nothing changed)"),
      outcomesUpdated: z.number(),
      redactions: z.number().describe("Secrets redacted before storing"),
      redactionKinds: z.record(z.string(), z.number()),
      format: z.string(),
      skipped: SkipOutput,
      next: NextStepSchema,
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handle(args) {
      const result = await engine.submit({
        trajectory: args.trajectory,
        raw: args.raw,
        format: args.format,
        skill: args.skill,
        outcome: args.outcome,
        tags: args.tags,
        // A run that does not say which version it used: the one given, else the one this session last read of the run's skill.
        skillVersion: args.skillVersion ?? ((skill) => reads?.versionOf(skill)),
      });
      const first = result.ids[0] ?? "";
      const text =
        `Stored ${result.created} new run(s)${result.duplicates ? `, ${result.duplicates} already known` : ""} ` +
        `(format ${result.format}); id ${first}${result.ids.length > 1 ? ` and ${result.ids.length - 1} more` : ""}. ` +
        `${result.redactions} secret(s) redacted.` +
        (result.skipped.length ? ` Skipped: ${result.skipped.map((s) => `${s.count} ${s.what} (${s.reason})`).join("; ")}.` : "");
      // One run whose outcome nobody knows yet: analysts skip it until it has one.
      const unknown = result.ids.length === 1 && (await engine.getTrajectory(first)).outcome.success === null;
      const next = unknown ? recordOutcome(first) : null;
      return { structured: { id: first, ...result, next }, text };
    },
  });
}
