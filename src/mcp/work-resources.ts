import { ResourceTemplate, type McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { Engine } from "../engine.js";
import { Trace2SkillError } from "../util/errors.js";

/**
 * work://item/{id}: an agent-mode work item or brief as JSON, for clients that hand resources to
 * subagents rather than tool calls. The same content as get_work_item.
 */
export function registerWorkResources(server: McpServer, engine: Engine): void {
  server.registerResource(
    "work-item",
    new ResourceTemplate("work://item/{id}", { list: undefined }),
    {
      title: "Agent-mode work item or brief",
      description: "work://item/<workItemId> (the item) or work://item/<briefId> (the instructions and responseSchema its stage shares)",
      mimeType: "application/json",
    },
    async (uri, variables) => {
      const id = decodeURIComponent(String(variables.id ?? ""));
      try {
        const value = id.startsWith("brief:") ? await engine.evolution.work.brief(id) : await engine.evolution.work.item(id);
        return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(value, null, 2) }] };
      } catch (err) {
        if (err instanceof Trace2SkillError) throw new McpError(ErrorCode.InvalidParams, err.message);
        throw err;
      }
    },
  );
}
