import { ResourceTemplate, type McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Resource } from "@modelcontextprotocol/sdk/types.js";
import type { SkillReads } from "./skill-reads.js";
import type { Engine } from "../engine.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { parseSkillMd } from "../skill/frontmatter.js";
import { mediaTypeOf, skillManifest } from "../skill/manifest.js";
import type { SkillFolder } from "../skill/types.js";
import { InvalidInputError, Trace2SkillError } from "../util/errors.js";
import { safeRelativePath } from "../util/fsx.js";
import { SKILL_FILE_TEMPLATE, type SkillFileRef, skillFileRefFromTemplate, skillFileUri } from "./skill-uris.js";

/** MCP's "resource not found" (spec); the SDK's enum has no name for it. */
const RESOURCE_NOT_FOUND = -32002;

/** A domain error while reading a resource is the caller's: not found or bad params, not an internal error. */
async function asResourceError<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof Trace2SkillError)) throw err;
    const notFound = err.code === "skill_not_found" || err.code === "trajectory_not_found";
    throw new McpError(notFound ? RESOURCE_NOT_FOUND : ErrorCode.InvalidParams, err.message);
  }
}

/** Frontmatter fields for a listing; a SKILL.md that does not parse still lists, without them. */
function frontmatterOf(folder: SkillFolder): Record<string, unknown> {
  try {
    return parseSkillMd(folder.files["SKILL.md"] ?? "").frontmatter;
  } catch {
    return {};
  }
}

/** Every file of the served version as resources; SKILL.md carries the frontmatter's name and description. */
function skillResources(folder: SkillFolder, skill: string, version: number): Resource[] {
  const frontmatter = frontmatterOf(folder);
  return skillManifest(folder).map((file) => {
    const uri = skillFileUri({ skill, file: file.path });
    if (file.path !== "SKILL.md") {
      return { uri, name: `${skill}/${file.path}`, mimeType: file.mediaType, size: file.size };
    }
    return {
      uri,
      name: typeof frontmatter.name === "string" ? frontmatter.name : skill,
      title: `Skill ${skill} (v${version})`,
      ...(typeof frontmatter.description === "string" ? { description: frontmatter.description } : {}),
      mimeType: "text/markdown",
      size: file.size,
    };
  });
}

async function readSkillFile(engine: Engine, ref: SkillFileRef, uri: string, reads?: SkillReads) {
  const { meta, folder } = await engine.resolveVersion(ref.skill, ref.version);
  reads?.note(ref.skill, meta.version);
  const file = safeRelativePath(ref.file, "file");
  const blob = folder.binaries[file];
  if (blob !== undefined) return { uri, mimeType: mediaTypeOf(file, true), blob };
  const text = folder.files[file];
  if (text === undefined) {
    const files = skillManifest(folder).map((f) => f.path).join(", ");
    throw new McpError(RESOURCE_NOT_FOUND, `Skill "${ref.skill}" v${meta.version} has no file "${file}". Its files: ${files}.`);
  }
  return { uri, mimeType: mediaTypeOf(file, false), text };
}

/** Names of skills that have at least one version, for completion. */
async function completeSkillName(engine: Engine, prefix: string): Promise<string[]> {
  const skills = await engine.listSkills();
  return skills.filter((s) => s.versions > 0 && s.name.startsWith(prefix)).map((s) => s.name);
}

/**
 * File paths of a skill for completion: the served version's files, and `v<N>/<name>/SKILL.md`
 * for each version; once a `v<N>/` prefix is typed, that version's files.
 */
async function completeSkillPath(engine: Engine, name: string | undefined, prefix: string): Promise<string[]> {
  if (!name) return [];
  try {
    const pinned = /^v([1-9][0-9]*)\//.exec(prefix);
    let candidates: string[];
    if (pinned) {
      const version = Number(pinned[1]);
      const { folder } = await engine.resolveVersion(name, version);
      candidates = skillManifest(folder).map((f) => `v${version}/${name}/${f.path}`);
    } else {
      const { folder } = await engine.resolveVersion(name);
      const versions = (await engine.history(name)).map((v) => v.version).sort((a, b) => a - b);
      candidates = [...skillManifest(folder).map((f) => f.path), ...versions.map((v) => `v${v}/${name}/SKILL.md`)];
    }
    return candidates.filter((c) => c.startsWith(prefix));
  } catch (err) {
    // An unknown or misspelt skill simply has nothing to complete.
    if (err instanceof Trace2SkillError) return [];
    throw err;
  }
}

/**
 * skill://{name}/{+path} serves every file of a skill: the active version's at
 * skill://<name>/<file>, any version's at skill://<name>/v<N>/<name>/<file> (see skill-uris.ts);
 * trajectory://{id} serves a stored run as JSON (the newest 100 are listed; list_trajectories finds any).
 */
/** Stored runs listed as resources: the newest; list_trajectories pages through all of them. */
const LISTED_RUNS = 100;

export function registerResources(server: McpServer, engine: Engine, reads?: SkillReads): void {
  server.registerResource(
    "skill-file",
    new ResourceTemplate(SKILL_FILE_TEMPLATE, {
      list: async () => {
        const skills = (await engine.listSkills()).filter((s) => s.activeVersion !== null);
        const perSkill = await Promise.all(
          skills.map(async (s) => {
            const { meta, folder } = await engine.resolveVersion(s.name, s.activeVersion ?? undefined);
            return skillResources(folder, s.name, meta.version);
          }),
        );
        return { resources: perSkill.flat() };
      },
      complete: {
        name: (value) => completeSkillName(engine, value),
        path: (value, context) => completeSkillPath(engine, context?.arguments?.name, value),
      },
    }),
    {
      title: "Skill file",
      description:
        "A file of a skill: skill://<name>/SKILL.md or skill://<name>/references/<file>.md for the active version, " +
        "skill://<name>/v<N>/<name>/<file> for version N",
    },
    async (uri, variables) =>
      asResourceError(async () => {
        const ref = skillFileRefFromTemplate(String(variables.name ?? ""), String(variables.path ?? "SKILL.md"));
        return { contents: [await readSkillFile(engine, ref, uri.href, reads)] };
      }),
  );

  server.registerResource(
    "trajectory",
    new ResourceTemplate("trajectory://{id}", {
      list: async () => ({
        resources: (await engine.runSummaries()).slice(0, LISTED_RUNS).map((r) => ({
          uri: `trajectory://${r.id}`,
          name: r.id.slice(0, 12),
          title: `${r.skill ?? "run"} · ${r.source} · ${r.outcome}${r.outcomeBy === "judged" ? " (judged)" : ""} · ${r.steps} steps`,
          mimeType: "application/json",
        })),
      }),
    }),
    { title: "Trajectory", description: "A stored run in the canonical shape (JSON)", mimeType: "application/json" },
    async (uri, variables) =>
      asResourceError(async () => {
        const id = String(variables.id ?? "");
        if (!id) throw new InvalidInputError("trajectory:// needs an id");
        const t = await engine.getTrajectory(id);
        return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(t, null, 2) }] };
      }),
  );
}
