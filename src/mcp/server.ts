import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Engine } from "../engine.js";
import { registerResources } from "./resources.js";
import { SKILLS_EXTENSION_ID, registerSkillsExtension } from "./skills-extension.js";
import { registerResourceSubscriptions } from "./subscriptions.js";
import { registerSubmitTrajectoryTool } from "./tools/submit-trajectory.js";
import { registerSetOutcomeTool } from "./tools/set-outcome.js";
import { registerDeleteTrajectoriesTool, registerListTrajectoriesTool } from "./tools/trajectories.js";
import { registerGetSkillTool, registerImportSkillTool, registerListSkillsTool, registerSkillStatsTool } from "./tools/skills.js";
import {
  registerCancelRunTool,
  registerConsolidateSkillTool,
  registerEvolveSkillTool,
  registerGetRunTool,
  registerProposeLessonsTool,
} from "./tools/evolution.js";
import { registerGetWorkItemTool, registerListWorkItemsTool, registerSubmitLessonsTool } from "./tools/work.js";
import { serveToolCatalog } from "./define-tool.js";
import { registerWorkResources } from "./work-resources.js";
import { registerHistoryTool, registerPromoteTool, registerRollbackTool } from "./tools/versions.js";
import { registerPrompts } from "./prompts.js";

export const SERVER_NAME = "trace2skill";
export const SERVER_VERSION = "0.1.0";

const INSTRUCTIONS = `trace2skill turns your runs into evolved Agent Skills (the Trace2Skill method).
- After a task, submit your run with submit_trajectory (skill + outcome when known; set_outcome later).
- evolve_skill analyses a skill's runs in parallel and merges the lessons into a new draft version
  (or propose_lessons then consolidate_skill, step by step). Without a server model you do the
  analyses and merges yourself (agent mode): every answer's \`next\` field says what to call;
  list_work_items lists every pending item at once, so hand each to its own subagent.
- Review a draft with get_skill / skill_history, make it active with promote_skill_version.
- Read the active skill with get_skill or the skill://<name>/SKILL.md resource.`;

/** Build the MCP server over one engine. Transports live in ./stdio.ts. */
import { SkillReads } from "./skill-reads.js";

export function createServer(engine: Engine): { server: McpServer; cleanup: () => Promise<void> } {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      capabilities: {
        tools: {},
        resources: { subscribe: true, listChanged: true },
        prompts: {},
        logging: {},
        extensions: { [SKILLS_EXTENSION_ID]: {} },
      },
      instructions: INSTRUCTIONS,
    },
  );
  const reads = new SkillReads();
  registerSubmitTrajectoryTool(server, engine, reads);
  registerSetOutcomeTool(server, engine);
  registerListTrajectoriesTool(server, engine);
  registerDeleteTrajectoriesTool(server, engine);
  registerGetSkillTool(server, engine, reads);
  registerListSkillsTool(server, engine);
  registerSkillStatsTool(server, engine);
  registerImportSkillTool(server, engine);
  registerProposeLessonsTool(server, engine);
  registerListWorkItemsTool(server, engine);
  registerGetWorkItemTool(server, engine);
  registerSubmitLessonsTool(server, engine);
  registerConsolidateSkillTool(server, engine);
  registerEvolveSkillTool(server, engine);
  registerGetRunTool(server, engine);
  registerCancelRunTool(server, engine);
  registerPromoteTool(server, engine);
  registerRollbackTool(server, engine);
  registerHistoryTool(server, engine);
  serveToolCatalog(server);
  registerResources(server, engine, reads);
  registerWorkResources(server, engine);
  registerSkillsExtension(server, engine, reads);
  const unsubscribeResourceUpdates = registerResourceSubscriptions(server, engine);
  registerPrompts(server, engine);
  // Every session (stdio, or each HTTP client) hears about promotions made through any other.
  const unsubscribe = engine.onActiveVersionChange(() => {
    if (server.isConnected()) server.sendResourceListChanged();
  });
  return {
    server,
    cleanup: async () => {
      unsubscribe();
      unsubscribeResourceUpdates();
      await server.close();
    },
  };
}
