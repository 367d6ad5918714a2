import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { SkillNameSchema } from "../../trajectory/schema.js";
import { toSkillName } from "../../skill/validate.js";
import { EXPORT_MANIFEST, ExportManifestSchema } from "../../skill/export.js";
import { errorMessage } from "../../util/errors.js";
import { MAX_SESSION_FILE_BYTES } from "../../engine.js";
import { GLOBAL_OPTIONS, openEngine, out, type Command } from "../context.js";

/**
 * `trace2skill hook claude-code`: called by a Claude Code hook (Stop or SessionEnd) with the
 * hook's JSON on stdin. It must never disturb the user's session: for a Stop hook, exit code
 * 2 would make Claude continue, and stdout is read as a decision. So it always exits 0,
 * writes nothing to stdout, and reports (success or problem) in one line on stderr.
 */

const AGENTS = ["claude-code"] as const;
/** Generous for a big transcript, short enough never to hold a session's shutdown for long. */
const STDIN_TIMEOUT_MS = 10_000;
const FALLBACK_SKILL = "general";

/** The fields of Claude Code's hook input we use; the rest (permission_mode, stop_hook_active…) is ignored. */
const ClaudeCodeHookInputSchema = z.looseObject({
  session_id: z.string().optional(),
  transcript_path: z.string().min(1),
  cwd: z.string().optional(),
  hook_event_name: z.string().optional(),
});
type ClaudeCodeHookInput = z.infer<typeof ClaudeCodeHookInputSchema>;

const HOOK_OPTIONS = {
  ...GLOBAL_OPTIONS,
  skill: { type: "string" },
  outcome: { type: "string" },
} as const;

export const hookCommand: Command = {
  name: "hook",
  summary: "ingest the session a coding agent's hook reports (claude-code)",
  help: `Usage: trace2skill hook claude-code [--skill <name>] [--outcome success|failure]

Meant to be run by a Claude Code hook (Stop or SessionEnd): reads the hook's JSON from stdin,
reads the session transcript it points to (transcript_path) and stores it as a run.

The skill is --skill, else $TRACE2SKILL_SKILL, else the name of the session's folder (cwd),
else "${FALLBACK_SKILL}". The outcome is --outcome, else $TRACE2SKILL_OUTCOME (success or
failure), else unknown: evolve then has a judge decide it from the transcript, and you can
record it any time with \`trace2skill outcome <id> --success|--failure\` (ids: \`trace2skill runs\`).

A session reported many times (Stop fires after every answer) is stored once: each report
replaces the earlier, shorter snapshot, and an outcome recorded on it moves to the new one.

It never disturbs the session: it always exits 0, prints nothing on stdout and reports in
one line on stderr. See docs/clients.md for the settings.json hook entry.

Options:
  --skill <name>              the skill this session is evidence for
  --outcome success|failure   the session's outcome, when the hook knows it
  --data-dir <dir>            data directory (default $TRACE2SKILL_HOME or ~/.trace2skill)
  -h, --help                  this help`,
  async run(argv) {
    try {
      const { values, positionals } = parseArgs({ args: argv, options: HOOK_OPTIONS, allowPositionals: true });
      const agent = positionals[0];
      if (agent !== "claude-code") {
        throw new HookProblem(`hook needs the agent that calls it: one of ${AGENTS.join(", ")} (got ${agent ?? "nothing"}).`);
      }
      const input = parseHookInput(await readStdin(STDIN_TIMEOUT_MS));
      const skill = chooseSkill(values.skill, process.env.TRACE2SKILL_SKILL, input.cwd);
      const outcome = parseOutcome(values.outcome ?? (process.env.TRACE2SKILL_OUTCOME || undefined));
      const transcript = await readTranscript(input.transcript_path);
      const engine = await openEngine(values);
      const skillVersion = await exportedVersion(skill, input.cwd, engine.skillsDir);
      const result = await engine.submit({
        raw: transcript,
        format: "claude-code",
        skill,
        ...(skillVersion !== undefined ? { skillVersion } : {}),
        ...(outcome ? { outcome } : {}),
        tags: input.session_id ? [`session:${input.session_id}`] : [],
        fileName: path.basename(input.transcript_path),
        maxBytes: MAX_SESSION_FILE_BYTES,
      });
      const id = result.ids[0]?.slice(0, 12) ?? "?";
      const state = result.created > 0 ? (result.replaced > 0 ? "stored (replacing the earlier snapshot of this session)" : "stored") : "already stored";
      const cut = result.skipped.filter((s) => /per-run limit/.test(s.reason)).map((s) => `${s.count} ${s.what}(s) ${s.reason}`);
      out.err(`trace2skill: ${state} ${result.ids.length} run(s) for skill "${skill}" (${id}…).${cut.length > 0 ? ` ${cut.join("; ")}.` : ""}`);
    } catch (err) {
      out.err(`trace2skill hook: ${errorMessage(err)} (the session is not affected)`);
    }
    return 0;
  },
};

class HookProblem extends Error {}

/**
 * The version of the skill the session had loaded: the marker an export leaves in the skill's
 * folder, in the project (.claude/skills), the user's ~/.claude/skills, or the skills dir.
 */
export async function exportedVersion(skill: string, cwd: string | undefined, skillsDir: string): Promise<number | undefined> {
  const places = [
    ...(cwd ? [path.join(cwd, ".claude", "skills", skill)] : []),
    path.join(os.homedir(), ".claude", "skills", skill),
    path.join(skillsDir, skill),
  ];
  for (const dir of places) {
    const text = await readFile(path.join(dir, EXPORT_MANIFEST), "utf8").catch(() => null);
    if (text === null) continue;
    try {
      const parsed = ExportManifestSchema.safeParse(JSON.parse(text));
      if (parsed.success && parsed.data.skill === skill) return parsed.data.version;
    } catch {
      // A damaged marker says nothing: look in the next place.
    }
  }
  return undefined;
}

function parseHookInput(text: string): ClaudeCodeHookInput {
  if (text.trim().length === 0) throw new HookProblem("no hook JSON on stdin; this command is meant to be run by a Claude Code hook.");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HookProblem("stdin is not JSON; this command expects the JSON a Claude Code hook receives.");
  }
  const parsed = ClaudeCodeHookInputSchema.safeParse(value);
  if (!parsed.success) throw new HookProblem("the hook JSON has no transcript_path; use a Stop or SessionEnd hook, whose input carries one.");
  return parsed.data;
}

/** --skill, else $TRACE2SKILL_SKILL, else the project folder's name made into a valid skill name, else "general". */
export function chooseSkill(flag: string | undefined, env: string | undefined, cwd: string | undefined): string {
  for (const candidate of [flag, env]) {
    if (candidate === undefined || candidate.trim() === "") continue;
    if (!SkillNameSchema.safeParse(candidate).success) {
      throw new HookProblem(`"${candidate}" is not a valid skill name (lowercase letters, digits and single hyphens, e.g. my-project).`);
    }
    return candidate;
  }
  const fromFolder = cwd ? toSkillName(path.basename(cwd)) : "";
  return SkillNameSchema.safeParse(fromFolder).success ? fromFolder : FALLBACK_SKILL;
}

function parseOutcome(value: string | undefined): { success: boolean } | undefined {
  if (value === undefined) return undefined;
  if (value === "success") return { success: true };
  if (value === "failure") return { success: false };
  throw new HookProblem(`--outcome must be success or failure (got "${value}").`);
}

async function readTranscript(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new HookProblem(`the transcript ${file} does not exist (yet); nothing was stored.`);
    throw new HookProblem(`cannot read the transcript ${file}: ${errorMessage(err)}`);
  }
}

function readStdin(timeoutMs: number): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve("");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      process.stdin.destroy();
      reject(new HookProblem(`stdin did not close within ${timeoutMs / 1000} s; expected the hook JSON.`));
    }, timeoutMs);
    process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on("end", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    process.stdin.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
