import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { resolveDataDir, resolveSkillsDir } from "../../config/paths.js";
import { loadConfigFile, modelConfigFrom } from "../../config/file.js";
import type { ModelConfig } from "../../llm/config.js";
import { checkModel } from "../../llm/openai-compatible.js";
import { readSkillFolder } from "../../skill/folder.js";
import { formatProblems, validateSkill } from "../../skill/validate.js";
import { FileStore, openStore } from "../../store/file-store.js";
import { withLock } from "../../store/lock.js";
import { openStoreAt } from "../../store/open.js";
import { PgStore, redactUrl } from "../../store/postgres/pg-store.js";
import type { Store } from "../../store/store.js";
import { ConflictError, errorMessage } from "../../util/errors.js";
import { GLOBAL_HELP, GLOBAL_OPTIONS, out, type Command } from "../context.js";

/** Long enough for a cold local model, short enough that doctor answers in reasonable time. */
const MODEL_CHECK_TIMEOUT_MS = 30_000;
const MIN_NODE_MAJOR = 20;

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** What to do about it; present when the check failed or something is worth knowing. */
  fix?: string;
}

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check Node, the data dir and its lock, the store, the model and the skills dir",
  help: `Usage: trace2skill doctor [--repair] [--json]

Checks, and says what to fix:
  - Node.js version (>= ${MIN_NODE_MAJOR})
  - the data directory exists, is writable and the cross-process lock works
  - the store opens (its index is readable), and its index matches the files on disk: rows
    whose file is gone, and files no row lists (--repair rebuilds the index from the files)
  - the model configuration (OPENAI_BASE_URL, OPENAI_API_KEY, TRACE2SKILL_MODEL): when one is
    set, the endpoint is reached and the model answers a small structured request
  - the skills directory, and whether each skill folder in it passes validation
Exit code 1 when any check fails.

${GLOBAL_HELP}`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, repair: { type: "boolean" } }, allowPositionals: false });
    const dataDir = resolveDataDir(values["data-dir"]);
    // The skills dir as the server resolves it: flag, environment, then the config file.
    const fileSkillsDir = await loadConfigFile(dataDir).then((f) => f.skillsDir, () => undefined);
    const skillsDir = resolveSkillsDir(dataDir, values["skills-dir"] ?? (process.env.TRACE2SKILL_SKILLS_DIR || fileSkillsDir));
    const dataDirCheck = await checkDataDir(dataDir);
    // The store as the server chooses it: --store, TRACE2SKILL_STORE, then the config file.
    const storeUrl = values.store ?? (process.env.TRACE2SKILL_STORE || (await loadConfigFile(dataDir).then((f) => f.store, () => undefined)));
    const checks = [
      checkNode(process.versions.node),
      dataDirCheck,
      storeUrl
        ? await checkPostgresStore(storeUrl, dataDir)
        : dataDirCheck.ok
          ? await checkStore(dataDir, values.repair === true)
          : { name: "store", ok: false, detail: "not checked: the data dir is not usable" },
      await checkModelConfig(process.env, dataDir),
      await checkSkillsDir(skillsDir),
    ];
    // A check's words may quote what it was given (a store URL, a path): never a secret in them.
    for (const c of checks) {
      c.detail = redactUrl(c.detail);
      if (c.fix) c.fix = redactUrl(c.fix);
    }
    const ok = checks.every((c) => c.ok);
    if (values.json) out.json({ ok, dataDir, skillsDir, checks });
    else {
      for (const c of checks) {
        out.line(`${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`);
        if (c.fix) out.line(`  → ${c.fix}`);
      }
      out.line(ok ? "All checks passed." : `${checks.filter((c) => !c.ok).length} check(s) failed.`);
    }
    return ok ? 0 : 1;
  },
};

export function checkNode(version: string): CheckResult {
  const major = Number(version.split(".")[0]);
  if (major >= MIN_NODE_MAJOR) return { name: "node", ok: true, detail: `Node.js ${version}` };
  return {
    name: "node",
    ok: false,
    detail: `Node.js ${version} is too old`,
    fix: `Install Node.js ${MIN_NODE_MAJOR} or later (https://nodejs.org, or nvm install ${MIN_NODE_MAJOR}).`,
  };
}

async function checkDataDir(dataDir: string): Promise<CheckResult> {
  const name = "data dir";
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    return { name, ok: false, detail: `${dataDir} cannot be created: ${errorMessage(err)}`, fix: dataDirFix(dataDir) };
  }
  const probe = path.join(dataDir, `.doctor-${process.pid}-${Date.now()}`);
  try {
    await writeFile(probe, "probe\n");
  } catch (err) {
    return { name, ok: false, detail: `${dataDir} is not writable: ${errorMessage(err)}`, fix: dataDirFix(dataDir) };
  }
  try {
    let held = false;
    await withLock(probe, async () => {
      held = (await stat(`${probe}.lock`).catch(() => null)) !== null;
    });
    if (!held) throw new Error(`no lock directory appeared at ${probe}.lock`);
    return { name, ok: true, detail: `${dataDir} is writable and the cross-process lock works` };
  } catch (err) {
    return {
      name,
      ok: false,
      detail: `the cross-process lock does not work in ${dataDir}: ${errorMessage(err)}`,
      fix: "The lock is a directory created atomically next to the store; use a local disk (not a network share that lacks atomic mkdir) via --data-dir or TRACE2SKILL_HOME.",
    };
  } finally {
    await rm(probe, { force: true });
    await rm(`${probe}.lock`, { recursive: true, force: true });
    await rm(`${probe}.owner`, { force: true });
  }
}

function dataDirFix(dataDir: string): string {
  return `Make ${dataDir} a writable folder (check its permissions, and that no part of the path is a file), or choose another data directory with --data-dir or TRACE2SKILL_HOME.`;
}

/** A PostgreSQL store: it connects, its migrations are applied (opening applies them), and what it holds. */
async function checkPostgresStore(location: string, dataDir: string): Promise<CheckResult> {
  let store: Store | null = null;
  try {
    store = await openStoreAt(dataDir, location);
    const [runs, skills] = await Promise.all([store.listTrajectories(), store.listSkills()]);
    const fleet = store instanceof PgStore ? await store.liveWorkers() : [];
    const workers = fleet.length === 0 ? "no worker alive (replicas do the work themselves)" : fleet.map((f) => `${f.workers} worker(s) with ${f.model} (${f.slots} slots)`).join(", ");
    return { name: "store", ok: true, detail: `PostgreSQL at ${redactUrl(location)}, schema up to date: ${runs.length} run(s), ${skills.length} skill(s); ${workers}` };
  } catch (err) {
    return {
      name: "store",
      ok: false,
      detail: errorMessage(err),
      fix: "Check the URL (--store, TRACE2SKILL_STORE or \"store\" in config.json), that PostgreSQL runs and accepts the user, and that the database exists.",
    };
  } finally {
    if (store instanceof PgStore) await store.close();
  }
}

async function checkStore(dataDir: string, repair: boolean): Promise<CheckResult> {
  try {
    const { store, movedAside } = repair ? await FileStore.openMovingDamagedIndexAside(dataDir) : { store: await openStore(dataDir), movedAside: [] };
    const aside = movedAside.length > 0 ? `the index did not open, so ${movedAside.map((f) => path.basename(f)).join(" and ")} were moved aside and the index rebuilt from the files; ` : "";
    const [runs, skills] = await Promise.all([store.listTrajectories(), store.listSkills()]);
    const check = repair ? await store.repairIndex() : await store.checkIndex();
    const counts = `${runs.length} run(s), ${skills.length} skill(s)`;
    if (check.consistent) return { name: "store", ok: true, detail: `${aside}index readable and matching the files on disk: ${counts}` };
    const describe = (byKind: Record<string, string[]>) =>
      Object.entries(byKind)
        .map(([kind, keys]) => `${keys.length} ${kind} (${keys.slice(0, 3).map((k) => k.slice(0, 16)).join(", ")}${keys.length > 3 ? ", …" : ""})`)
        .join(", ");
    const found = [
      Object.keys(check.unindexed).length > 0 ? `on disk but not in the index: ${describe(check.unindexed)}` : "",
      Object.keys(check.missingFiles).length > 0 ? `in the index but their file is gone: ${describe(check.missingFiles)}` : "",
      Object.keys(check.differing).length > 0 ? `rows that say something else than their file: ${describe(check.differing)}` : "",
    ]
      .filter(Boolean)
      .join("; ");
    if (repair) {
      const after = await store.checkIndex();
      return after.consistent
        ? { name: "store", ok: true, detail: `the index did not match the files (${found}); rebuilt it from the files on disk` }
        : { name: "store", ok: false, detail: `rebuilt the index, but it still does not match the files: ${found}`, fix: "Report this with the output of doctor --json." };
    }
    return {
      name: "store",
      ok: false,
      detail: `the index does not match the files on disk: ${found}`,
      fix: "Run `trace2skill doctor --repair` to rebuild the index from the files (with no other trace2skill process writing).",
    };
  } catch (err) {
    if (err instanceof ConflictError) {
      return { name: "store", ok: false, detail: `the store in ${dataDir} is busy: ${errorMessage(err)}`, fix: "Another trace2skill process holds the store's lock: retry when it is done." };
    }
    return {
      name: "store",
      ok: false,
      detail: `the store in ${dataDir} does not open: ${errorMessage(err)}`,
      fix:
        "Run `trace2skill doctor --repair`: it moves db.json and db.journal aside (kept, renamed *.broken-<time>) and rebuilds the index " +
        "from the run, analysis and skill files. Nothing else is touched.",
    };
  }
}

const MODEL_SETUP =
  "To use a model, set OPENAI_BASE_URL and TRACE2SKILL_MODEL for a local or compatible server " +
  "(e.g. OPENAI_BASE_URL=http://127.0.0.1:11434/v1 TRACE2SKILL_MODEL=qwen2.5:14b for Ollama), or OPENAI_API_KEY for OpenAI.";

/** The model exactly as the server and the CLI see it: the config file, then the environment. */
async function checkModelConfig(env: NodeJS.ProcessEnv, dataDir: string): Promise<CheckResult> {
  const name = "model";
  let config: ModelConfig | null;
  let source = "";
  try {
    const file = await loadConfigFile(dataDir, env);
    config = modelConfigFrom(file, {}, env);
    if (file.path && file.model) source = ` (config file ${file.path})`;
  } catch (err) {
    return { name, ok: false, detail: "the model configuration is invalid", fix: errorMessage(err) };
  }
  if (config === null) {
    return {
      name,
      ok: true,
      detail: "no model configured: evolution uses the heuristic analyst, or agent mode (the calling agent does the thinking) over MCP",
      fix: MODEL_SETUP,
    };
  }
  const result = await checkModel({ ...config, timeoutMs: Math.min(config.timeoutMs, MODEL_CHECK_TIMEOUT_MS) });
  if (result.ok) {
    return { name, ok: true, detail: `${config.model} at ${config.baseURL}${source} answered a structured request in ${result.latencyMs} ms` };
  }
  return {
    name,
    ok: false,
    detail: `${config.model} at ${config.baseURL} did not answer a structured request: ${result.error ?? "it replied ok: false"}`,
    fix:
      `Check that the server at ${config.baseURL} is running and serves the model "${config.model}" ` +
      "(OPENAI_BASE_URL, TRACE2SKILL_MODEL), that OPENAI_API_KEY is right, and that the model supports JSON output.",
  };
}

async function checkSkillsDir(skillsDir: string): Promise<CheckResult> {
  const name = "skills dir";
  const info = await stat(skillsDir).catch(() => null);
  if (!info) {
    return {
      name,
      ok: true,
      detail: `${skillsDir} does not exist yet; it is created by the first export or promote`,
      fix: "Choose where skills are exported with --skills-dir or TRACE2SKILL_SKILLS_DIR (e.g. .claude/skills).",
    };
  }
  if (!info.isDirectory()) {
    return { name, ok: false, detail: `${skillsDir} is not a directory`, fix: "Point --skills-dir or TRACE2SKILL_SKILLS_DIR at a folder." };
  }
  const probe = path.join(skillsDir, `.doctor-${process.pid}-${Date.now()}`);
  const writable = await writeFile(probe, "probe\n").then(
    () => rm(probe, { force: true }).then(() => true),
    () => false,
  );
  const skills = await inspectSkills(skillsDir);
  const invalid = skills.filter((s) => !s.valid);
  const listed = skills.length === 0 ? "no skill folders" : skills.map((s) => `${s.name} ${s.valid ? "✓" : "✗"}`).join(", ");
  const problems = invalid.map((s) => `${s.name}: ${s.problems.join("; ")}`);
  return {
    name,
    ok: writable && invalid.length === 0,
    detail: `${skillsDir} (${writable ? "writable" : "NOT writable"}): ${listed}`,
    ...(!writable
      ? { fix: `Fix the permissions of ${skillsDir}, or choose another folder with --skills-dir or TRACE2SKILL_SKILLS_DIR.` }
      : problems.length > 0
        ? { fix: `Fix these skills (or re-export them from the store): ${problems.join(" | ")}` }
        : {}),
  };
}

interface SkillCheck {
  name: string;
  valid: boolean;
  problems: string[];
}

/** Every sub-folder holding a SKILL.md is a skill; others (assets, caches) are not ours to judge. */
async function inspectSkills(skillsDir: string): Promise<SkillCheck[]> {
  const entries = await readdir(skillsDir, { withFileTypes: true });
  const checks: SkillCheck[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const dir = path.join(skillsDir, entry.name);
    if (!(await stat(path.join(dir, "SKILL.md")).catch(() => null))) continue;
    try {
      const report = validateSkill(await readSkillFolder(dir));
      const errors = report.problems.filter((p) => p.severity === "error");
      checks.push({ name: entry.name, valid: report.valid, problems: formatProblems(errors) });
    } catch (err) {
      checks.push({ name: entry.name, valid: false, problems: [errorMessage(err)] });
    }
  }
  return checks;
}
