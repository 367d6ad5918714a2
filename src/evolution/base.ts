import { redactSecrets } from "../util/redact.js";
import type { Store } from "../store/store.js";
import { scaffoldSkill } from "../skill/scaffold.js";
import { diffSkillFolders } from "../skill/diff.js";
import { validateSkill } from "../skill/validate.js";
import type { SkillFolder } from "../skill/types.js";
import { InvalidInputError, SkillNotFoundError } from "../util/errors.js";
import { hashJson } from "../util/hash.js";

export interface BaseVersion {
  version: number;
  folder: SkillFolder;
  /** Hash analyses are keyed by (the frozen base they were made against). */
  hash: string;
  /** True when this call created the skill from a name and purpose. */
  created: boolean;
}

export function baseHashOf(folder: SkillFolder): string {
  return hashJson(folder);
}

/**
 * The frozen base of an analysis or merge: the given version, else the active one, else the
 * newest. A skill without any version is created from scratch when a purpose is given: the
 * minimal valid SKILL.md is stored as version 1 (origin "create") so every later stage can
 * name its base.
 */
export async function resolveBase(store: Store, skill: string, version?: number, rawPurpose?: string): Promise<BaseVersion> {
  // The purpose becomes the scaffold's description: a secret typed into it must not reach the skill.
  const purpose = rawPurpose === undefined ? undefined : redactSecrets(rawPurpose).value;
  if (version !== undefined) {
    const found = await store.getSkillVersion(skill, version);
    if (!found) throw new SkillNotFoundError(skill, version);
    return { version, folder: found.folder, hash: baseHashOf(found.folder), created: false };
  }
  const active = await store.getActiveVersion(skill);
  const newest = active ?? (await store.listSkillVersions(skill)).at(-1)?.version ?? null;
  if (newest !== null) {
    const found = await store.getSkillVersion(skill, newest);
    if (!found) throw new SkillNotFoundError(skill, newest);
    return { version: newest, folder: found.folder, hash: baseHashOf(found.folder), created: false };
  }
  if (!purpose || purpose.trim() === "") {
    throw new InvalidInputError(
      `Skill "${skill}" has no version yet. To create it from scratch, pass a one-line purpose (\`purpose\` over MCP, --purpose "…" on the CLI: what the skill helps an agent do); ` +
        `to deepen a human-written skill, import its folder first (import_skill / trace2skill import).`,
    );
  }
  const folder = scaffoldSkill(skill, purpose);
  const meta = await store.addSkillVersion({
    skill,
    folder,
    detail: {
      parent: null,
      status: "draft",
      origin: "create",
      changelog: [`Created from scratch: ${purpose.trim()}`],
      runId: null,
      valid: true,
      diff: diffSkillFolders(null, folder),
      provenance: [],
      validation: validateSkill(folder),
      usage: null,
      dropped: [],
    },
  });
  await store.setVersionStatus(skill, meta.version, "active");
  return { version: meta.version, folder, hash: baseHashOf(folder), created: true };
}
