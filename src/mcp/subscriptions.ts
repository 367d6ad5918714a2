import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Engine } from "../engine.js";
import { parseSkillFileUri } from "./skill-uris.js";

/**
 * resources/subscribe for skill files. Each session (one createServer) keeps its own set of
 * URIs; when a skill's active version changes, every subscribed skill://<name>/… URI of that
 * skill is announced with notifications/resources/updated. Version-pinned URIs are snapshots
 * that never change, so they are accepted but never announced. Returns the cleanup.
 */
/** Subscriptions per session: enough for every file of many skills, bounded so a client cannot grow it forever. */
const MAX_SUBSCRIPTIONS = 1000;

export function registerResourceSubscriptions(server: McpServer, engine: Engine): () => void {
  const subscribed = new Set<string>();

  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    const { uri } = request.params;
    let isSkillFile: boolean;
    try {
      isSkillFile = parseSkillFileUri(uri) !== null;
    } catch (err) {
      throw new McpError(ErrorCode.InvalidParams, err instanceof Error ? err.message : String(err));
    }
    if (!isSkillFile) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Only skill files can be subscribed to (skill://<name>/<file>); no updates are announced for "${uri}".`,
      );
    }
    if (!subscribed.has(uri) && subscribed.size >= MAX_SUBSCRIPTIONS) {
      throw new McpError(ErrorCode.InvalidParams, `At most ${MAX_SUBSCRIPTIONS} resources can be subscribed to per session; unsubscribe from some first.`);
    }
    subscribed.add(uri);
    return {};
  });

  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });

  return engine.onActiveVersionChange((skill) => {
    if (!server.isConnected()) return;
    for (const uri of subscribed) {
      const ref = parseSkillFileUri(uri);
      if (ref?.skill !== skill || ref.version !== undefined) continue;
      // A session that went away between the check and the send has nobody left to tell.
      server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
  });
}
