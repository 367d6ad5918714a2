import { InvalidInputError } from "../util/errors.js";

/**
 * How skill files are addressed over MCP. `skill://<name>/<file>` is the file of the version
 * the server serves for that skill (the active one); `skill://<name>/v<N>/<name>/<file>` pins
 * version N. The pinned form repeats the name because the Skills extension requires the last
 * segment of a skill's path to be its name, so a pinned version is a skill of its own.
 */
export const SKILL_FILE_TEMPLATE = "skill://{name}/{+path}";

export interface SkillFileRef {
  skill: string;
  /** Set only when the URI pins a version. */
  version?: number;
  file: string;
}

const PINNED_PATH = /^v([1-9][0-9]*)\/([^/]+)\/(.+)$/;
const SKILL_URI = /^skill:\/\/([^/?#]+)\/([^?#]+)$/;

export function skillFileUri(ref: SkillFileRef): string {
  const skillPath = ref.version === undefined ? ref.skill : `${ref.skill}/v${ref.version}/${ref.skill}`;
  return `skill://${skillPath}/${ref.file.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * The file named by the two variables of SKILL_FILE_TEMPLATE. A path `v<N>/<name>/…` pins a
 * version; a skill that really holds a folder called `v2/<its own name>/` cannot have that
 * folder read unpinned, which is the price of the extension's naming rule.
 */
export function skillFileRefFromTemplate(name: string, rawPath: string): SkillFileRef {
  let filePath: string;
  try {
    filePath = decodeURIComponent(rawPath);
  } catch {
    throw new InvalidInputError(`"${rawPath}" is not a valid percent-encoded file path.`);
  }
  const pinned = PINNED_PATH.exec(filePath);
  if (pinned && pinned[2] === name) return { skill: name, version: Number(pinned[1]), file: pinned[3]! };
  return { skill: name, file: filePath };
}

/** The file a skill:// URI names, or null when the URI is not of that shape. */
export function parseSkillFileUri(uri: string): SkillFileRef | null {
  const match = SKILL_URI.exec(uri);
  if (!match) return null;
  return skillFileRefFromTemplate(match[1]!, match[2]!);
}
