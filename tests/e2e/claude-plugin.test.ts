import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, symlink } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { CLI_PATH, cleanEnv, runCli } from "../helpers/cli.js";
import { REPO_ROOT, tempDir } from "../helpers/mcp.js";

// The Claude Code plugin (plugin/) and the marketplace that lists it (.claude-plugin/), checked
// against the documented format: https://code.claude.com/docs/en/plugins-reference,
// https://code.claude.com/docs/en/plugins/manifest-reference, https://code.claude.com/docs/en/hooks.
// Claude Code's own validator (`claude plugin validate --strict`) runs too when a `claude` binary
// is at hand ($CLAUDE_CODE_BIN or on PATH); CI does not install it (a 400 MB native binary).
// That the plugin's server and hook start from an installed copy is tested in install.test.ts.

const PLUGIN_DIR = path.join(REPO_ROOT, "plugin");
const MARKETPLACE = path.join(REPO_ROOT, ".claude-plugin/marketplace.json");

/** Kebab-case, as the manifest reference wants `name`. */
const KebabName = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/);
/** A component path: relative to the plugin root, written with `./`. */
const ComponentPath = z.string().startsWith("./");
const ComponentPaths = z.union([ComponentPath, z.array(ComponentPath)]);

/** The manifest fields the plugins reference documents; an unknown one is stripped by Claude Code. */
const PluginManifestSchema = z.strictObject({
  name: KebabName,
  version: z.string().regex(/^\d+\.\d+\.\d+/),
  description: z.string().min(1),
  author: z.strictObject({ name: z.string().min(1), email: z.string().optional(), url: z.string().optional() }),
  homepage: z.string().optional(),
  repository: z.string().optional(),
  license: z.string().optional(),
  keywords: z.array(z.string()).optional(),
  commands: ComponentPaths.optional(),
  agents: ComponentPaths.optional(),
  skills: ComponentPaths.optional(),
  hooks: ComponentPaths.optional(),
  mcpServers: ComponentPaths.optional(),
});

/**
 * Hook events Claude Code documents (hooks reference; the same list as Anthropic's plugin-dev
 * hook-development skill). A hook under any other key never fires.
 */
const DOCUMENTED_HOOK_EVENTS = [
  "PreToolUse",
  "PostToolUse",
  "Notification",
  "UserPromptSubmit",
  "Stop",
  "SubagentStop",
  "PreCompact",
  "SessionStart",
  "SessionEnd",
] as const;

const HooksFileSchema = z.strictObject({
  description: z.string().optional(),
  hooks: z.partialRecord(
    z.enum(DOCUMENTED_HOOK_EVENTS),
    z.array(
      z.strictObject({
        matcher: z.string().optional(),
        hooks: z.array(z.strictObject({ type: z.literal("command"), command: z.string().min(1), timeout: z.number().positive().optional() })).min(1),
      }),
    ),
  ),
});

const StdioServerSchema = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
});
const McpFileSchema = z.strictObject({ mcpServers: z.record(z.string(), StdioServerSchema) });

const MarketplaceSchema = z.strictObject({
  name: KebabName,
  owner: z.strictObject({ name: z.string().min(1), email: z.string().optional() }),
  description: z.string().optional(),
  plugins: z.array(z.looseObject({ name: KebabName, source: z.string().startsWith("./"), description: z.string().optional() })).min(1),
});

const CommandFrontmatterSchema = z.looseObject({ description: z.string().min(1), "argument-hint": z.string().optional() });

const readJson = async (file: string): Promise<unknown> => JSON.parse(await readFile(file, "utf8"));

/** Every `${CLAUDE_PLUGIN_ROOT}/…` path in `text`, which must name a file inside the plugin. */
function pluginRootPaths(text: string): string[] {
  return [...text.matchAll(/\$\{CLAUDE_PLUGIN_ROOT\}\/([^\s"']+)/g)].map((m) => m[1]!);
}

describe("the Claude Code plugin (plugin/)", () => {
  it("has a manifest of the documented shape, in step with package.json", async () => {
    const manifest = PluginManifestSchema.parse(await readJson(path.join(PLUGIN_DIR, ".claude-plugin/plugin.json")));
    const pkg = (await readJson(path.join(REPO_ROOT, "package.json"))) as { name: string; version: string; license: string };
    expect(manifest).toMatchObject({ name: pkg.name, version: pkg.version, license: pkg.license });
    // Only the manifest goes in .claude-plugin/; components at the plugin root, in the default layout.
    expect(await readdir(path.join(PLUGIN_DIR, ".claude-plugin"))).toEqual(["plugin.json"]);
    for (const component of [".mcp.json", "hooks/hooks.json", "commands"]) expect(existsSync(path.join(PLUGIN_DIR, component)), component).toBe(true);
  });

  it("starts the server without npx, from the global install", async () => {
    const text = await readFile(path.join(PLUGIN_DIR, ".mcp.json"), "utf8");
    const { mcpServers } = McpFileSchema.parse(JSON.parse(text));
    expect(Object.keys(mcpServers)).toEqual(["trace2skill"]);
    expect(mcpServers.trace2skill).toEqual({ command: "trace2skill", args: ["serve"], env: { TRACE2SKILL_LOG: "warn" } });
    for (const file of pluginRootPaths(text)) expect(existsSync(path.join(PLUGIN_DIR, file)), file).toBe(true);
  });

  it("stores the session on SessionEnd, an event Claude Code has, with the hook command", async () => {
    const text = await readFile(path.join(PLUGIN_DIR, "hooks/hooks.json"), "utf8");
    const { hooks } = HooksFileSchema.parse(JSON.parse(text));
    expect(Object.keys(hooks)).toEqual(["SessionEnd"]);
    const commands = Object.values(hooks).flatMap((groups) => groups!.flatMap((g) => g.hooks.map((h) => h.command)));
    expect(commands).toEqual(["trace2skill hook claude-code"]);
    for (const file of pluginRootPaths(text)) expect(existsSync(path.join(PLUGIN_DIR, file)), file).toBe(true);
  });

  it("has commands with a description, which name only tools the server has", async () => {
    const files = (await readdir(path.join(PLUGIN_DIR, "commands"))).filter((f) => f.endsWith(".md"));
    expect(files).toEqual(["evolve.md"]);
    const serverSource = await readdir(path.join(REPO_ROOT, "src/mcp/tools")).then((names) =>
      Promise.all(names.map((n) => readFile(path.join(REPO_ROOT, "src/mcp/tools", n), "utf8"))),
    );
    for (const file of files) {
      const text = await readFile(path.join(PLUGIN_DIR, "commands", file), "utf8");
      const frontmatter = /^---\n([\s\S]*?)\n---\n/.exec(text);
      expect(frontmatter, file).not.toBeNull();
      CommandFrontmatterSchema.parse(parseYaml(frontmatter![1]!));
      for (const [, tool] of text.matchAll(/`([a-z]+(?:_[a-z]+)+)`/g)) {
        expect(serverSource.some((source) => source.includes(`name: "${tool}"`)), `${file} names ${tool}`).toBe(true);
      }
    }
  });

  it("is listed by the repository's marketplace under its own name", async () => {
    const { plugins } = MarketplaceSchema.parse(await readJson(MARKETPLACE));
    expect(plugins.map((p) => [p.name, path.resolve(REPO_ROOT, p.source)])).toEqual([["trace2skill", PLUGIN_DIR]]);
    const manifest = (await readJson(path.join(PLUGIN_DIR, ".claude-plugin/plugin.json"))) as { name: string };
    expect(manifest.name).toBe(plugins[0]!.name);
  });
});

/** A `claude` binary to check with, if one is installed. */
function findClaude(): string | undefined {
  if (process.env.CLAUDE_CODE_BIN) return process.env.CLAUDE_CODE_BIN;
  return (process.env.PATH ?? "").split(path.delimiter).map((dir) => path.join(dir, "claude")).find((file) => existsSync(file));
}
const claude = findClaude();

describe.skipIf(claude === undefined)("Claude Code itself (a claude binary is installed)", () => {
  /** Claude Code with a settings folder of its own: the user's plugins and servers stay out of it. */
  async function claudeEnv(): Promise<Record<string, string>> {
    const home = await tempDir("t2s-claude-home-");
    return cleanEnv({
      HOME: home,
      CLAUDE_CONFIG_DIR: path.join(home, ".claude"),
      DISABLE_AUTOUPDATER: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      TRACE2SKILL_HOME: path.join(home, "trace2skill"),
    });
  }

  it("claude plugin validate --strict passes for the plugin and the marketplace", async () => {
    const env = await claudeEnv();
    for (const target of [PLUGIN_DIR, REPO_ROOT]) {
      const res = await runCli(["plugin", "validate", "--strict", target], { command: claude!, env, cwd: REPO_ROOT });
      expect(res, `${target}\n${res.stdout}\n${res.stderr}`).toMatchObject({ code: 0 });
      expect(res.stdout).toContain("Validation passed");
    }
  });

  it("installs the plugin from the marketplace as a copy of plugin/ alone, and connects to its server", async () => {
    const env = await claudeEnv();
    const bin = path.join(env.HOME!, "bin");
    await mkdir(bin);
    await symlink(CLI_PATH, path.join(bin, "trace2skill"));
    const project = await tempDir("t2s-claude-project-");
    const claudeRun = (...args: string[]) => runCli(args, { command: claude!, env: { ...env, PATH: `${bin}${path.delimiter}${env.PATH}` }, cwd: project });

    expect(await claudeRun("plugin", "marketplace", "add", REPO_ROOT)).toMatchObject({ code: 0 });
    expect(await claudeRun("plugin", "install", "trace2skill@trace2skill")).toMatchObject({ code: 0 });
    const { version } = (await readJson(path.join(PLUGIN_DIR, ".claude-plugin/plugin.json"))) as { version: string };
    const installed = path.join(env.CLAUDE_CONFIG_DIR!, "plugins/cache/trace2skill/trace2skill", version);
    expect((await readdir(installed)).sort()).toEqual((await readdir(PLUGIN_DIR)).sort());

    const list = await claudeRun("mcp", "list");
    expect(list.stdout, list.stderr).toMatch(/plugin:trace2skill:trace2skill: trace2skill serve - ✔ Connected/);
  }, 120_000);
});
