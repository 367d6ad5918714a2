import { completable } from "@modelcontextprotocol/sdk/server/completable.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { Engine } from "../engine.js";
import { FORMAT_NAMES } from "../trajectory/importers/index.js";

/** A skill-name argument that completes from the skills the store knows. */
function skillArgument(engine: Engine, description: string) {
  return completable(z.string().describe(description), async (value) => {
    const names = (await engine.listSkills()).map((s) => s.name);
    return names.filter((n) => n.startsWith(value ?? "")).slice(0, 100);
  });
}

/**
 * Prompts the server offers to clients: one to reflect on and submit the agent's own run,
 * one to drive agent-mode evolution with parallel subagents.
 */
export function registerPrompts(server: McpServer, engine: Engine): void {
  server.registerPrompt(
    "submit-this-run",
    {
      title: "Judge and submit this run",
      description: "Ask the agent to judge honestly whether the task it just did succeeded, and submit the run as evidence for a skill.",
      argsSchema: { skill: skillArgument(engine, "Skill the run is evidence for"), task: z.string().optional().describe("The task, if not obvious") },
    },
    ({ skill, task }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "text",
            text: [
              `Look back at the work you just did${task ? ` on: ${task}` : ""}.`,
              "1. Judge the outcome honestly from evidence (tests, the user's reaction, errors left), not from your intent: success true, false, or null if you cannot tell.",
              "   Write one or two sentences of feedback: what worked, what went wrong and where.",
              "   If a hook already stored this session (list_trajectories { skill } shows it: the newest run, source claude-code), record",
              "   the verdict on it with set_outcome { id, outcome: { success, feedback } } and stop here.",
              `2. Otherwise call submit_trajectory with skill "${skill}", outcome { success, feedback }, and either`,
              "   - `trajectory`: { task, steps: [{ role, text, toolCalls: [{ name, arguments }], toolResult: { content, isError } }] } rebuilt from this conversation, or",
              `   - \`raw\` + \`format\` if you have the run's own log (formats: ${FORMAT_NAMES.join(", ")}).`,
              "3. Do not include secrets you have seen; they are redacted anyway, but leave them out.",
            ].join("\n"),
          },
        },
      ],
    }),
  );

  server.registerPrompt(
    "evolve-with-subagents",
    {
      title: "Evolve a skill in agent mode",
      description: "Drive the whole Trace2Skill loop with no model in the server: you (and your parallel subagents) analyse and merge, the server does the rest.",
      argsSchema: { skill: skillArgument(engine, "Skill to evolve"), purpose: z.string().optional().describe("Create mode: what the skill is for") },
    },
    ({ skill, purpose }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "text",
            text: [
              `Evolve the skill "${skill}" from its recorded runs, in agent mode: you and your subagents analyse and merge, the server does the rest.`,
              "Every answer of the server carries a `next` field: { tool, arguments, reason }. Follow it.",
              `1. Call evolve_skill { skill: "${skill}", provider: "agent"${purpose ? `, purpose: ${JSON.stringify(purpose)}` : ""} }. Keep its runId.`,
              "2. Call list_work_items { runId }. It lists EVERY pending item of the current stage (verdicts for unlabelled runs, analyses,",
              "   each merge level, then the review of the draft and the held-out checks),",
              "   with counts done / pending / total. If it gives a nextCursor, list the next page too.",
              "3. Fan out: start one subagent per listed workItemId, all at once, in parallel. Tell each subagent exactly:",
              "   \"Call get_work_item { workItemId: <id>, includeBrief: true }. Follow brief.instructions on its input, independently of any other",
              "   run. Reply with JSON that satisfies brief.responseSchema exactly, and send it with submit_lessons { results: [{ workItemId: <id>, result }] }.",
              "   If it is rejected, fix what the error names and submit again.\"",
              "   Subagents must not see each other's answers. If you cannot start subagents, do the items yourself one by one the same way.",
              "4. When every subagent is done, call list_work_items { runId } again: the next stage (or merge level) is listed. Repeat 3-4",
              "   until its stage is \"ready\"; then call evolve_skill { resumeRunId: runId } as `next` says (after the merges it lists the",
              "   review and the held-out checks this way too).",
              "5. When the run reports a draft version, read it (skill_history { skill, diffTo: version }) and tell the user what changed,",
              "   and what its held-out check says (base and draft coverage of failures it was not made from).",
              "   Promote it with promote_skill_version only if the user agrees.",
            ].join("\n"),
          },
        },
      ],
    }),
  );
}
