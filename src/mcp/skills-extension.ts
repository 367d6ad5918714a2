import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { SkillReads } from "./skill-reads.js";
import type { Engine } from "../engine.js";
import { parseSkillMd } from "../skill/frontmatter.js";
import { skillManifest } from "../skill/manifest.js";
import type { SkillFolder } from "../skill/types.js";
import { Trace2SkillError } from "../util/errors.js";
import { parseSkillFileUri, skillFileUri } from "./skill-uris.js";

/**
 * The MCP Skills extension (SEP-2640, modelcontextprotocol/ext-skills, specification/stable/skills.mdx):
 * `skills/list` and `skills/get` describe each served skill by its SKILL.md URI, its frontmatter
 * verbatim, and every file with a SHA-256 digest, so a host can verify what it reads through
 * resources/read. The extension defines no notifications: freshness comes from the ordinary
 * resource notifications (see subscriptions.ts).
 *
 * The spec's `resultType`, `ttlMs` and `cacheScope` belong to protocol revision 2026-07-28; SDK
 * 1.32.2 speaks 2025-11-25, on which they are left out (as typescript-sdk#2797 does for older revisions).
 */
export const SKILLS_EXTENSION_ID = "io.modelcontextprotocol/skills";

/** Skills per skills/list page. */
const PAGE_SIZE = 50;

export const SkillResourceEntrySchema = z.object({
  uri: z.string(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});

export const SkillEntrySchema = z.object({
  uri: z.string().describe("URI of the skill's SKILL.md"),
  frontmatter: z.looseObject({ name: z.string(), description: z.string() }).describe("SKILL.md frontmatter, verbatim"),
  resources: z.array(SkillResourceEntrySchema).describe("Every file of the skill, SKILL.md included"),
});
export type SkillEntry = z.infer<typeof SkillEntrySchema>;

export const ListSkillsResultSchema = z.object({
  skills: z.array(SkillEntrySchema),
  nextCursor: z.string().optional(),
});
type ListSkillsResult = z.infer<typeof ListSkillsResultSchema>;

export const GetSkillResultSchema = z.object({ skill: SkillEntrySchema });
type GetSkillResult = z.infer<typeof GetSkillResultSchema>;

const ListSkillsParamsSchema = z.looseObject({
  cursor: z.string().optional(),
  /**
   * Our addition: also list every draft version, each as a skill of its own at
   * skill://<name>/v<N>/<name>/SKILL.md. Clients that do not know it never see drafts.
   */
  includeDrafts: z.boolean().optional(),
});

const GetSkillParamsSchema = z.looseObject({ uri: z.string().optional() });

// The envelopes accept any params: a parse failure there would reach the client as an internal
// error (-32603), while a bad param is the caller's (-32602), which the handlers report themselves.
const ListSkillsRequestSchema = z.object({ method: z.literal("skills/list"), params: z.unknown().optional() });
const GetSkillRequestSchema = z.object({ method: z.literal("skills/get"), params: z.unknown().optional() });

function invalidParams(message: string): McpError {
  return new McpError(ErrorCode.InvalidParams, message);
}

function parseParams<T extends z.ZodType>(schema: T, params: unknown, method: string): z.infer<T> {
  const parsed = schema.safeParse(params ?? {});
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "params"}: ${i.message}`).join("; ");
  throw invalidParams(`Invalid ${method} params: ${detail}`);
}

/** A served skill: a version of a skill, at its own URI when `pinned`. */
interface ServedSkill {
  skill: string;
  version: number;
  pinned: boolean;
}

/**
 * The entry of one version, or null when its SKILL.md cannot stand as one (no parsable
 * frontmatter, or a name or description missing or not matching the URI).
 */
function skillEntry(folder: SkillFolder, served: ServedSkill): SkillEntry | null {
  let frontmatter: Record<string, unknown>;
  try {
    frontmatter = parseSkillMd(folder.files["SKILL.md"] ?? "").frontmatter;
  } catch {
    return null;
  }
  const { name, description } = frontmatter;
  if (name !== served.skill || typeof description !== "string") return null;
  const version = served.pinned ? served.version : undefined;
  return {
    uri: skillFileUri({ skill: served.skill, version, file: "SKILL.md" }),
    frontmatter: { ...frontmatter, name, description },
    resources: skillManifest(folder).map((file) => ({
      uri: skillFileUri({ skill: served.skill, version, file: file.path }),
      digest: file.digest,
      size: file.size,
    })),
  };
}

/** The active version of every skill that has one, then (on request) each draft. */
async function servedSkills(engine: Engine, includeDrafts: boolean): Promise<ServedSkill[]> {
  const skills = await engine.listSkills();
  return skills.flatMap((s) => [
    ...(s.activeVersion === null ? [] : [{ skill: s.name, version: s.activeVersion, pinned: false }]),
    ...(includeDrafts ? s.drafts.map((version) => ({ skill: s.name, version, pinned: true })) : []),
  ]);
}

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString("base64url");
}

function decodeCursor(cursor: string): number {
  try {
    const { offset } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { offset?: unknown };
    if (typeof offset === "number" && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // Reported below like any other cursor we did not hand out.
  }
  throw invalidParams(`Invalid cursor "${cursor}": pass back the nextCursor of the previous skills/list page, or omit it.`);
}

async function listSkillEntries(engine: Engine, params: z.infer<typeof ListSkillsParamsSchema>): Promise<ListSkillsResult> {
  const offset = params.cursor === undefined ? 0 : decodeCursor(params.cursor);
  const served = await servedSkills(engine, params.includeDrafts === true);
  const page = served.slice(offset, offset + PAGE_SIZE);
  const entries = await Promise.all(
    page.map(async (s) => skillEntry((await engine.resolveVersion(s.skill, s.version)).folder, s)),
  );
  const next = offset + PAGE_SIZE;
  return {
    skills: entries.filter((e): e is SkillEntry => e !== null),
    ...(next < served.length ? { nextCursor: encodeCursor(next) } : {}),
  };
}

async function getSkillEntry(engine: Engine, uri: string, reads?: SkillReads): Promise<SkillEntry> {
  const notServed = (why: string) => invalidParams(`No skill is served at ${uri}: ${why}`);
  let ref: ReturnType<typeof parseSkillFileUri>;
  try {
    ref = parseSkillFileUri(uri);
  } catch (err) {
    throw notServed(err instanceof Error ? err.message : String(err));
  }
  if (!ref || ref.file !== "SKILL.md") {
    throw notServed("a skill is named by the URI of its SKILL.md, skill://<name>/SKILL.md or skill://<name>/v<N>/<name>/SKILL.md.");
  }
  try {
    const { meta, folder } = await engine.resolveVersion(ref.skill, ref.version);
    reads?.note(ref.skill, meta.version);
    const entry = skillEntry(folder, { skill: ref.skill, version: meta.version, pinned: ref.version !== undefined });
    if (!entry) throw notServed(`its SKILL.md lacks a parsable frontmatter with name "${ref.skill}" and a description.`);
    return entry;
  } catch (err) {
    if (err instanceof Trace2SkillError) throw notServed(err.message);
    throw err;
  }
}

/** Answer skills/list and skills/get; the capability itself is declared in createServer. */
export function registerSkillsExtension(server: McpServer, engine: Engine, reads?: SkillReads): void {
  server.server.setRequestHandler(ListSkillsRequestSchema, async (request) =>
    listSkillEntries(engine, parseParams(ListSkillsParamsSchema, request.params, "skills/list")),
  );
  server.server.setRequestHandler(GetSkillRequestSchema, async (request): Promise<GetSkillResult> => {
    const { uri } = parseParams(GetSkillParamsSchema, request.params, "skills/get");
    if (uri === undefined) throw invalidParams("skills/get needs params.uri, the URI of a skill's SKILL.md.");
    return { skill: await getSkillEntry(engine, uri, reads) };
  });
}
