import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { UsageError, out, type Command } from "../context.js";

/**
 * `trace2skill config <client>`: the config entry for this very install, ready to paste.
 * It starts the server with `node` and the absolute path of this install's CLI, so it needs
 * neither a `trace2skill` on the client's PATH nor npx (whose cache breaks, see
 * docs/clients.md). `node` rather than process.execPath: a version manager's node path
 * changes with every Node upgrade, the name does not.
 */

/** This install's CLI; the loader resolves symlinks, so a linked global install gives its real path. */
const CLI_PATH = fileURLToPath(new URL("../main.js", import.meta.url));
const SERVER_ENV = { TRACE2SKILL_LOG: "warn" };
const HOOK_TIMEOUT_SECONDS = 60;

const serverEntry = () => ({ command: "node", args: [CLI_PATH, "serve"], env: SERVER_ENV });
const mcpServers = () => ({ mcpServers: { trace2skill: serverEntry() } });

const CONFIGS = {
  "claude-code": { where: ".mcp.json in the project, or ~/.claude.json", config: mcpServers },
  "claude-desktop": { where: "claude_desktop_config.json", config: mcpServers },
  cursor: { where: ".cursor/mcp.json in the project, or ~/.cursor/mcp.json", config: mcpServers },
  vscode: { where: ".vscode/mcp.json in the workspace", config: () => ({ servers: { trace2skill: { type: "stdio", ...serverEntry() } } }) },
  "claude-code-hooks": {
    where: ".claude/settings.json in the project, or ~/.claude/settings.json",
    config: () => ({
      hooks: {
        SessionEnd: [{ hooks: [{ type: "command", command: `node "${CLI_PATH}" hook claude-code`, timeout: HOOK_TIMEOUT_SECONDS }] }],
      },
    }),
  },
} as const;
type ClientName = keyof typeof CONFIGS;
const CLIENT_NAMES = Object.keys(CONFIGS) as ClientName[];

export const configCommand: Command = {
  name: "config",
  summary: "print a ready-to-paste client config (or Claude Code hook) that starts this install",
  help: `Usage: trace2skill config <client>

Prints JSON for <client> that starts this install of trace2skill with \`node\` and the absolute
path of its CLI (${CLI_PATH}), so it works from any folder, without npx and without
\`trace2skill\` on the client's PATH.

Clients:
${CLIENT_NAMES.map((name) => `  ${name.padEnd(18)} ${CONFIGS[name].where}`).join("\n")}

Merge the printed keys into the file if it already has others. If the client cannot find
\`node\` (apps started from the Dock do not see a version manager's PATH), put the output of
\`which node\` in "command". See docs/clients.md.`,
  async run(argv) {
    const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true });
    const client = positionals[0];
    if (positionals.length !== 1 || !isClientName(client)) {
      throw new UsageError(`config needs one client: ${CLIENT_NAMES.join(", ")}${client === undefined ? "" : ` (got "${positionals.join(" ")}")`}.`);
    }
    out.json(CONFIGS[client].config());
    return 0;
  },
};

function isClientName(name: string | undefined): name is ClientName {
  return name !== undefined && Object.hasOwn(CONFIGS, name);
}
