import { z } from "zod";
import type { RunView } from "../engine.js";
import type { WorkListing } from "../evolution/work-queue.js";

/**
 * What the caller should do next, as data. Claude Code and VS Code hand the model only a
 * result's structuredContent, so a next step written only in the text is never seen: every
 * tool that leads somewhere says it here (tool, arguments, why).
 */
export const NextStepSchema = z
  .object({
    tool: z.string(),
    arguments: z.record(z.string(), z.unknown()),
    needs: z
      .record(z.string(), z.string())
      .optional()
      .describe("Arguments only you can supply, by path (e.g. results[0].result), with what to put there"),
    reason: z.string(),
  })
  .nullable()
  .describe("The call to make next, or null when nothing follows");
export type NextStep = z.infer<typeof NextStepSchema>;

function step(tool: string, args: Record<string, unknown>, reason: string, needs?: Record<string, string>): NonNullable<NextStep> {
  return needs ? { tool, arguments: args, needs, reason } : { tool, arguments: args, reason };
}

/** After reading an item: send its result, which only the caller can write. */
export function submitItem(workItemId: string, hasBrief: boolean, briefId: string): NonNullable<NextStep> {
  return step(
    "submit_lessons",
    { results: [{ workItemId }] },
    hasBrief
      ? "Follow brief.instructions on `input`, then submit your JSON."
      : `Follow the brief ${briefId} (get_work_item with includeBrief: true if you do not have it) on \`input\`, then submit your JSON.`,
    { "results[0].result": "your JSON object, satisfying the brief's responseSchema" },
  );
}

/** A run stored with no outcome: someone who knows says how it went. */
export function recordOutcome(id: string): NonNullable<NextStep> {
  return step(
    "set_outcome",
    { id },
    "The run has no recorded outcome. Record it when you know (or judge it honestly now); evolve otherwise has a judge decide from the transcript.",
    { "outcome.success": "true if the task was achieved, false if not" },
  );
}

/** How to continue a run once its agent work is all submitted. */
export function continueRun(runId: string, kind: string): NonNullable<NextStep> {
  return kind === "evolve"
    ? step("evolve_skill", { resumeRunId: runId }, "Continue the run: it merges what was submitted and makes the draft.")
    : step("consolidate_skill", { runId }, "Continue the run: it merges what was submitted and makes the draft.");
}

export function nextForRun(view: RunView): NextStep {
  if (view.stage === "interrupted" || view.stage === "cancelled") return continueRun(view.runId, view.kind);
  if (!view.finished) {
    return step("get_run", { runId: view.runId, waitSeconds: 45 }, `The run is ${view.stage}; it goes on in the background.`);
  }
  const r = view.result;
  if (view.stage !== "done" || !r) return null;
  switch (r.status) {
    case "needs-work":
      return step(
        "list_work_items",
        { runId: view.runId },
        "Agent mode: the run waits for you. List every pending item of the stage and hand each to a subagent (in parallel).",
      );
    case "draft":
      return step(
        "skill_history",
        { skill: view.skill, diffTo: r.version },
        `Review draft v${r.version} (its diff), then promote_skill_version { skill, version: ${r.version} } if the user agrees.`,
      );
    case "existing":
      return step("skill_history", { skill: view.skill, diffTo: r.version }, `The result is the stored v${r.version}: review it there.`);
    default:
      return null;
  }
}

export function nextForListing(listing: WorkListing): NextStep {
  if (listing.stage === "ready") {
    if (listing.runId !== null && listing.runFinished) {
      return step("get_run", { runId: listing.runId }, "Nothing is pending and the run is over: see its result.");
    }
    if (listing.runId === null) {
      return step(
        "consolidate_skill",
        { skill: listing.skill, baseVersion: listing.baseVersion, provider: "agent" },
        "Every analysis is in: merge them into a draft.",
      );
    }
    return continueRun(listing.runId, listing.runId.startsWith("consolidate-") ? "consolidate" : "evolve");
  }
  if (listing.nextCursor) {
    return step(
      "list_work_items",
      listing.runId ? { runId: listing.runId, cursor: listing.nextCursor } : { skill: listing.skill, baseVersion: listing.baseVersion, cursor: listing.nextCursor },
      "More pending items: list the next page too, then fan out all of them.",
    );
  }
  const first = listing.items[0];
  if (!first) return step("list_work_items", listing.runId ? { runId: listing.runId } : { skill: listing.skill }, "List the pending items again.");
  return step(
    "get_work_item",
    { workItemId: first.workItemId, includeBrief: true },
    "Start one subagent per listed item, in parallel, each told: call get_work_item { workItemId, includeBrief: true }, do what the brief says, " +
      "and submit_lessons { results: [{ workItemId, result }] } with JSON that satisfies brief.responseSchema. When all are submitted, call list_work_items again.",
  );
}

export function nextAfterSubmit(after: WorkListing | null, rejected: { workItemId: string }[]): NextStep {
  const [first] = rejected;
  if (first) {
    return step(
      "get_work_item",
      { workItemId: first.workItemId, includeBrief: true },
      `${rejected.length} result(s) were rejected: re-read each, fix what its error names, and submit it again.`,
    );
  }
  if (!after) return null;
  if (after.stage === "ready") return nextForListing(after);
  return step(
    "list_work_items",
    after.runId ? { runId: after.runId } : { skill: after.skill, baseVersion: after.baseVersion },
    `${after.pending} item(s) of the ${after.stage} stage still pending. If other subagents hold them, wait for them; then list again.`,
  );
}
