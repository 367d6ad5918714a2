import { z } from "zod";
import { effectiveSuccess, type TrajectoryRow } from "../store/store.js";

/** One stored run as listings show it: enough to find it, label it or delete it. */
export const RunSummarySchema = z.object({
  id: z.string(),
  skill: z.string().nullable(),
  skillVersion: z.number().nullable().describe("The skill version the run used, when known"),
  source: z.string().describe("Format it was imported from"),
  outcome: z.enum(["success", "failure", "unknown"]),
  outcomeBy: z.enum(["submitted", "judged"]).nullable().describe("Who set the outcome: a submitter, or a judge (which judge in `judge`)"),
  judge: z.string().nullable(),
  steps: z.number(),
  bytes: z.number(),
  session: z.string().nullable().describe("Hook session id, for runs reported by a coding agent's hook"),
  createdAt: z.string(),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const OutcomeFilterSchema = z.enum(["success", "failure", "unknown", "judged", "submitted"]);
export type OutcomeFilter = z.infer<typeof OutcomeFilterSchema>;

export function summariseRun(row: TrajectoryRow): RunSummary {
  const effective = effectiveSuccess(row);
  const by = row.success !== null ? "submitted" : row.judged?.success != null ? "judged" : null;
  return {
    id: row.id,
    skill: row.skill,
    skillVersion: row.skillVersion ?? null,
    source: row.source,
    outcome: effective === null ? "unknown" : effective ? "success" : "failure",
    outcomeBy: by,
    judge: by === "judged" ? (row.judged?.judge ?? null) : null,
    steps: row.steps,
    bytes: row.bytes ?? 0,
    session: row.tags.find((t) => t.startsWith("session:"))?.slice("session:".length) ?? null,
    createdAt: row.createdAt,
  };
}

export function matchesOutcome(summary: RunSummary, filter: OutcomeFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (filter === "judged" || filter === "submitted") return summary.outcomeBy === filter;
  return summary.outcome === filter;
}
