import { cp, mkdir, readFile, readdir, realpath, writeFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cleanEnv, runCli, type CliResult } from "../helpers/cli.js";
import { REPO_ROOT, openTestEngine, tempDir } from "../helpers/mcp.js";

// Installs that can't break (issue 9): every documented way to start the server or the hook
// runs here as a user would, from a folder that is not the repository, against a real global
// install of the packed package, and never through npx.

const CLIENTS_DOC = path.join(REPO_ROOT, "docs/clients.md");
const PLUGIN_DIR = path.join(REPO_ROOT, "plugin");
const TRANSCRIPT = path.join(REPO_ROOT, "fixtures/formats/claude-code_tool-call.input.jsonl");
/** npm installs and a TypeScript build: generous, for a 2-core CI machine. */
const INSTALL_TIMEOUT_MS = 300_000;
/** How the docs write "the folder of your clone" in a POSIX and a Windows path. */
const DOC_PLACEHOLDERS = ["/path/to/trace2skill", "C:\\path\\to\\trace2skill"];

interface ServerEntry {
  type?: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}
interface HookHandler {
  type: string;
  command: string;
  timeout?: number;
}
type HookTable = Record<string, Array<{ matcher?: string; hooks: HookHandler[] }>>;

/**
 * The environment of a spawned npm: the test's own npm settings (`npm test` exports its
 * prefixes and package fields) must not steer an install into the repository. The cache,
 * registry and proxy settings stay, so installs keep working offline from the cache.
 */
function npmEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = /^npm_config_(cache|registry|userconfig|globalconfig|.*proxy|strict_ssl|cafile|ca)$/i;
  const env = cleanEnv();
  for (const key of Object.keys(env)) if (/^npm_/i.test(key) && !keep.test(key)) delete env[key];
  return { ...env, ...extra };
}

async function run(command: string, args: string[], cwd: string, env = npmEnv()): Promise<CliResult> {
  return runCli(args, { command, cwd, env });
}

function succeeded(res: CliResult, what: string): CliResult {
  if (res.code !== 0) throw new Error(`${what} failed (exit ${res.code}):\n${res.stderr}\n${res.stdout}`);
  return res;
}

const withPath = (env: Record<string, string>, ...dirs: string[]) => ({ ...env, PATH: [...dirs, env.PATH ?? ""].join(path.delimiter) });

/** The session a Claude Code hook reports on stdin when the session in `cwd` ends. */
function sessionEndInput(sessionId: string, cwd: string): string {
  return JSON.stringify({ session_id: sessionId, transcript_path: TRANSCRIPT, cwd, hook_event_name: "SessionEnd", reason: "prompt_input_exit" });
}

/** Runs a command line through the shell, as Claude Code runs a hook's `command`. */
function runHook(line: string, stdin: string, env: Record<string, string>, cwd: string): Promise<CliResult> {
  return runCli(["-c", line], { command: "/bin/sh", stdin, cwd, env });
}

/** Starts a server from a config entry the way a client does, lists its tools and prompts. */
async function startFromConfig(entry: ServerEntry, cwd: string, env: Record<string, string>): Promise<{ tools: string[]; prompts: string[] }> {
  const transport = new StdioClientTransport({ command: entry.command, args: entry.args, cwd, env: { ...env, ...entry.env }, stderr: "pipe" });
  const client = new Client({ name: "install-test", version: "1.0.0" });
  await client.connect(transport);
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    return { tools, prompts };
  } finally {
    await client.close();
  }
}

function codeBlocks(markdown: string, lang: string): string[] {
  const blocks: string[] = [];
  const fence = new RegExp("^( *)```" + lang + "\\n([\\s\\S]*?)^\\1```", "gm");
  for (const m of markdown.matchAll(fence)) {
    const indent = m[1]!.length;
    blocks.push(m[2]!.split("\n").map((line) => line.slice(indent)).join("\n"));
  }
  return blocks;
}

async function docConfigs() {
  const doc = await readFile(CLIENTS_DOC, "utf8");
  const json = codeBlocks(doc, "json").map((b) => JSON.parse(b) as Record<string, unknown>);
  const servers = json.flatMap((c) => {
    const table = (c.mcpServers ?? c.servers) as Record<string, ServerEntry> | undefined;
    return table ? [{ key: c.mcpServers ? "mcpServers" : "servers", entry: table.trace2skill! }] : [];
  });
  const hooks = json.flatMap((c) =>
    Object.entries((c.hooks as HookTable | undefined) ?? {}).flatMap(([event, groups]) => groups.flatMap((g) => g.hooks.map((h) => ({ event, ...h })))),
  );
  const shellLines = codeBlocks(doc, "sh").flatMap((b) => b.split("\n"));
  const mcpAdd = shellLines.filter((line) => line.startsWith("claude mcp add")).map((line) => line.split(" -- ")[1]!.split(" "));
  return { doc, json, servers, hooks, shellLines, mcpAdd };
}

/** The docs' placeholder path of the clone replaced by `installDir`, in POSIX form. */
function withInstallPath(arg: string, installDir: string): string {
  for (const placeholder of DOC_PLACEHOLDERS) {
    if (arg.startsWith(placeholder)) return path.join(installDir, ...arg.slice(placeholder.length).split(/[\\/]/));
  }
  return arg;
}

let tarball: string;
/** `trace2skill` on PATH, as `npm install -g` makes it. */
let globalBin: string;
/** The installed package folder, the "/path/to/trace2skill" of a user. */
let globalPackage: string;
let consumer: string;
let consumerInstall: CliResult;
let home: string;
let env: Record<string, string>;
/** A folder that is not the repository, nor any project that depends on trace2skill. */
let elsewhere: string;

beforeAll(async () => {
  const packDir = await tempDir("t2s-pack-");
  // The tests run what `npm test` built; --ignore-scripts keeps `prepare` from rebuilding dist/.
  const packed = succeeded(await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", packDir], REPO_ROOT), "npm pack");
  tarball = path.join(packDir, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);

  const prefix = await tempDir("t2s-global-");
  consumer = await tempDir("t2s-consumer-");
  await writeFile(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  const offline = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"];
  const [globalInstall, projectInstall] = await Promise.all([
    run("npm", ["install", "--global", "--prefix", prefix, tarball, ...offline], packDir),
    run("npm", ["install", tarball, ...offline], consumer),
  ]);
  succeeded(globalInstall, "npm install --global <tarball>");
  consumerInstall = projectInstall;
  globalBin = path.join(prefix, "bin");
  globalPackage = await realpath(path.join(prefix, "lib/node_modules/trace2skill"));
}, INSTALL_TIMEOUT_MS);

beforeEach(async () => {
  home = await tempDir("t2s-install-home-");
  env = cleanEnv({ TRACE2SKILL_HOME: home });
  elsewhere = await tempDir("t2s-elsewhere-");
});

async function storedSkills(): Promise<string[]> {
  const engine = await openTestEngine(home);
  return (await engine.store.listTrajectories()).map((t) => t.skill ?? "").sort();
}

describe("the packed package", () => {
  it("installs into a project from the tarball, and its trace2skill --help runs", async () => {
    succeeded(consumerInstall, "npm install <tarball>");
    const help = await runCli(["--help"], { command: path.join(consumer, "node_modules/.bin/trace2skill"), cwd: consumer, env });
    expect(help, help.stderr).toMatchObject({ code: 0 });
    expect(help.stdout).toContain("Usage: trace2skill");
    expect(help.stdout).toMatch(/^\s+config\s/m);
  });

  it("installs globally, and that trace2skill runs from any folder", async () => {
    const version = await runCli(["--version"], { command: "trace2skill", cwd: elsewhere, env: withPath(env, globalBin) });
    expect(version.stdout.trim()).toBe((JSON.parse(await readFile(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version);
  });
});

describe("docs/clients.md", () => {
  it("shows the five client configs and the hooks, none of them through npx", async () => {
    const { json, servers, hooks, shellLines, mcpAdd } = await docConfigs();
    expect(JSON.stringify(json)).not.toMatch(/\bnpx\b/);
    expect(shellLines.filter((line) => /\bnpx\b/.test(line))).toEqual([]);
    expect(servers).toHaveLength(5);
    const global = { command: "trace2skill", args: ["serve"] };
    expect(servers.filter((s) => s.entry.command === "trace2skill").map((s) => s.entry)).toEqual([
      expect.objectContaining(global),
      expect.objectContaining(global),
      expect.objectContaining(global),
      expect.objectContaining({ ...global, type: "stdio" }),
    ]);
    expect(servers.find((s) => s.entry.command === "node")?.entry.args).toEqual(["C:\\path\\to\\trace2skill\\dist\\cli\\main.js", "serve"]);
    expect(servers.find((s) => s.key === "servers")?.entry.type).toBe("stdio");
    expect(mcpAdd).toEqual([
      ["trace2skill", "serve"],
      ["trace2skill", "serve"],
    ]);
    expect(hooks.map((h) => `${h.event}: ${h.command}`)).toEqual([
      "SessionEnd: trace2skill hook claude-code --skill my-project",
      "SessionEnd: trace2skill hook claude-code",
    ]);
  });

  it("every server config starts from a folder that is not the repository and lists the tools", async () => {
    const { servers, mcpAdd } = await docConfigs();
    const configs: ServerEntry[] = [
      ...servers.map((s) => ({ ...s.entry, args: s.entry.args.map((a) => withInstallPath(a, globalPackage)) })),
      ...mcpAdd.map(([command, ...args]) => ({ command: command!, args })),
    ];
    expect(configs).toHaveLength(7);
    for (const config of configs) {
      // Only the global form may rely on PATH; the node form must work without it.
      const pathDirs = config.command === "trace2skill" ? [globalBin] : [];
      const { tools } = await startFromConfig(config, elsewhere, withPath(env, ...pathDirs));
      expect(tools, `${config.command} ${config.args.join(" ")}`).toContain("submit_trajectory");
    }
  }, 120_000);

  it("both hook commands store the session when it ends, in a project that does not depend on trace2skill", async () => {
    const { hooks } = await docConfigs();
    const results = [
      await runHook(hooks[0]!.command, sessionEndInput("0b4e4c1e-0000-4000-8000-000000000001", "/work/Some App"), withPath(env, globalBin), elsewhere),
      await runHook(hooks[1]!.command, sessionEndInput("0b4e4c1e-0000-4000-8000-000000000002", "/work/Other App"), withPath(env, globalBin), elsewhere),
    ];
    for (const res of results) expect(res, res.stderr).toMatchObject({ code: 0, stdout: "" });
    expect(await storedSkills()).toEqual(["my-project", "other-app"]);
  }, 60_000);
});

describe("trace2skill config <client>", () => {
  const CLIENTS = [
    { client: "claude-code", key: "mcpServers" },
    { client: "claude-desktop", key: "mcpServers" },
    { client: "cursor", key: "mcpServers" },
    { client: "vscode", key: "servers" },
  ] as const;

  it("prints a config with node and this install's absolute CLI path, which starts from any folder without trace2skill on PATH", async () => {
    const cli = path.join(globalPackage, "dist/cli/main.js");
    for (const { client, key } of CLIENTS) {
      const res = await runCli(["config", client], { command: "trace2skill", cwd: elsewhere, env: withPath(env, globalBin) });
      expect(res, res.stderr).toMatchObject({ code: 0 });
      const entry = (JSON.parse(res.stdout) as Record<string, Record<string, ServerEntry>>)[key]!.trace2skill!;
      expect(entry).toMatchObject({ command: "node", args: [cli, "serve"] });
      if (client === "vscode") expect(entry.type).toBe("stdio");
      const { tools } = await startFromConfig(entry, elsewhere, env);
      expect(tools, client).toContain("submit_trajectory");
    }
  }, 120_000);

  it("prints a SessionEnd hook that stores the session without trace2skill on PATH", async () => {
    const res = await runCli(["config", "claude-code-hooks"], { command: "trace2skill", cwd: elsewhere, env: withPath(env, globalBin) });
    const [handler] = (JSON.parse(res.stdout) as { hooks: HookTable }).hooks.SessionEnd![0]!.hooks;
    expect(handler).toMatchObject({ type: "command", timeout: 60 });
    const hook = await runHook(handler!.command, sessionEndInput("0b4e4c1e-0000-4000-8000-000000000003", "/work/Third App"), env, elsewhere);
    expect(hook, hook.stderr).toMatchObject({ code: 0, stdout: "" });
    expect(await storedSkills()).toEqual(["third-app"]);
  });

  it("refuses an unknown client with the list of clients", async () => {
    const res = await runCli(["config", "emacs"], { command: "trace2skill", cwd: elsewhere, env: withPath(env, globalBin) });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("claude-code, claude-desktop, cursor, vscode, claude-code-hooks");
  });
});

describe("the Claude Code plugin, copied as a plugin install copies it", () => {
  /** Claude Code installs a plugin by copying its folder into its cache; nothing around it comes along. */
  async function installedCopy(): Promise<string> {
    const copy = path.join(await tempDir("t2s-plugin-cache-"), "trace2skill", "0.1.0");
    await mkdir(path.dirname(copy), { recursive: true });
    await cp(PLUGIN_DIR, copy, { recursive: true });
    return copy;
  }
  const expand = (text: string, root: string) => text.replaceAll("${CLAUDE_PLUGIN_ROOT}", root);

  it("starts its MCP server, with the server's tools and prompts", async () => {
    const root = await installedCopy();
    const config = JSON.parse(expand(await readFile(path.join(root, ".mcp.json"), "utf8"), root)) as { mcpServers: Record<string, ServerEntry> };
    const { tools, prompts } = await startFromConfig(config.mcpServers.trace2skill!, elsewhere, withPath(env, globalBin));
    expect(tools).toContain("evolve_skill");
    expect(prompts).toEqual(expect.arrayContaining(["submit-this-run", "evolve-with-subagents"]));
  });

  it("runs its SessionEnd hook in any project", async () => {
    const root = await installedCopy();
    const { hooks } = JSON.parse(expand(await readFile(path.join(root, "hooks/hooks.json"), "utf8"), root)) as { hooks: HookTable };
    const handlers = hooks.SessionEnd!.flatMap((g) => g.hooks);
    expect(handlers).toHaveLength(1);
    const res = await runHook(
      handlers[0]!.command,
      sessionEndInput("0b4e4c1e-0000-4000-8000-000000000004", "/work/Plugin User"),
      withPath({ ...env, CLAUDE_PLUGIN_ROOT: root, CLAUDE_PROJECT_DIR: elsewhere }, globalBin),
      elsewhere,
    );
    expect(res, res.stderr).toMatchObject({ code: 0, stdout: "" });
    expect(await storedSkills()).toEqual(["plugin-user"]);
  });
});

describe("the repository's mcp.json in a fresh clone where npx ran before npm install", () => {
  it("still starts the server after npm install (npm's broken npx cache entry does not matter)", async () => {
    const clone = path.join(await tempDir("t2s-clone-"), "trace2skill");
    succeeded(await run("git", ["clone", "--quiet", REPO_ROOT, clone], REPO_ROOT), "git clone");
    expect(await readdir(clone)).not.toContain("node_modules");

    // A cache of its own, so the broken entry npx leaves behind is this test's, not the user's.
    const npxCache = await tempDir("t2s-npx-cache-");
    const early = await run("npx", ["trace2skill", "--version"], clone, npmEnv({ npm_config_cache: npxCache }));
    expect(early.code, `npx before npm install should fail:\n${early.stdout}`).not.toBe(0);

    succeeded(await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], clone), "npm install in the clone");

    const config = JSON.parse(await readFile(path.join(REPO_ROOT, "mcp.json"), "utf8")) as { mcpServers: Record<string, ServerEntry> };
    const entry = config.mcpServers.trace2skill!;
    expect(entry.command).not.toBe("npx");
    const { tools } = await startFromConfig(entry, clone, { ...env, npm_config_cache: npxCache });
    expect(tools).toContain("submit_trajectory");
  }, INSTALL_TIMEOUT_MS);
});
