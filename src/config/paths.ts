import os from "node:os";
import path from "node:path";
import { resolveUserPath } from "../util/user-path.js";

/** The data directory: --data-dir, else TRACE2SKILL_HOME, else ~/.trace2skill. */
export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env.TRACE2SKILL_HOME;
  if (chosen && chosen.trim().length > 0) return resolveUserPath(chosen, "The data directory");
  return path.join(os.homedir(), ".trace2skill");
}

/**
 * Where promoted skills are exported by default: --skills-dir, else TRACE2SKILL_SKILLS_DIR,
 * else <data>/export. Never the current folder implicitly: a promote run inside a repository
 * must not overwrite the skill folders it ships. Point it at `.claude/skills` (or a repo's
 * `skills/`) on purpose, with the flag, the variable, "skillsDir" in the config file, or --to.
 */
export function resolveSkillsDir(dataDir: string, flag?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const chosen = flag ?? env.TRACE2SKILL_SKILLS_DIR;
  if (chosen && chosen.trim().length > 0) return resolveUserPath(chosen, "The skills directory", cwd);
  return path.join(dataDir, "export");
}
