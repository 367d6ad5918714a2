import { versionChecks, versionReport, type VersionChecks } from "./evolution/checks-summary.js";
import { renderReport } from "./report/html.js";
import { resolveUserPath } from "./util/user-path.js";
import { log } from "./util/log.js";
import { versionStats, type VersionStats } from "./stats/version-stats.js";
import { describeRegression, findRegression, flaggedVersions, type Flag, type Regression } from "./stats/regression.js";
import { stat } from "node:fs/promises";
import path from "node:path";
import { ingestCanonical, ingestRaw, type IngestResult } from "./trajectory/ingest.js";
import { redactSecrets } from "./util/redact.js";
import { importerFor } from "./trajectory/importers/index.js";
import { OutcomeSchema, type Outcome, type Trajectory } from "./trajectory/schema.js";
import { latestPerSession } from "./evolution/inputs.js";
import type { SkipNote } from "./trajectory/importers/types.js";
import { FileStore } from "./store/file-store.js";
import { openStoreAt } from "./store/open.js";
import { PgStore } from "./store/postgres/pg-store.js";
import { Fleet } from "./fleet/dispatch.js";
import { StorePaths, checkSkillName } from "./store/paths.js";
import { effectiveSuccess, type DeleteTrajectoriesResult, type Store, type TrajectoryRow } from "./store/store.js";
import { matchesOutcome, summariseRun, type OutcomeFilter, type RunSummary } from "./trajectory/summary.js";
import { markedUnknown } from "./judging/judge.js";
import { readSkillFolder } from "./skill/folder.js";
import { formatProblems, validateSkill } from "./skill/validate.js";
import { exportSkill } from "./skill/export.js";
import type { ExportReport } from "./skill/export-report.js";
import { diffSkillFolders } from "./skill/diff.js";
import { parseSkillMd } from "./skill/frontmatter.js";
import { contentHash } from "./skill/content-hash.js";
import type { SkillFolder, SkillVersionDetail, SkillVersionMeta, ValidationReport } from "./skill/types.js";
import { safeRelativePath } from "./util/fsx.js";
import type { ModelConfig } from "./llm/config.js";
import { Evolution, DEFAULT_CONCURRENCY, type ConsolidateOutput } from "./evolution/evolve.js";
import { RunTracker } from "./evolution/runs.js";
import {
  ConflictError,
  InvalidInputError,
  errorMessage,
  InvalidSkillError,
  SkillNotFoundError,
  TrajectoryNotFoundError,
} from "./util/errors.js";

/** How often a server looks for promotions made by other processes. */
const ACTIVE_WATCH_MS = 2_000;

export interface EngineOptions {
  dataDir: string;
  /** Default target of exports (promote, export without --to). */
  skillsDir: string;
  /** The server-side model; null or absent: no model (heuristic / agent / sampling modes). */
  modelConfig?: ModelConfig | null;
  /** Default number of analyses and merges in flight. */
  concurrency?: number;
  /**
   * What to do when the active version's runs show it worse than its parent beyond the 95%
   * intervals: flag it (default: in list_skills, stats, checks), or also roll it back.
   */
  regressionPolicy?: "flag" | "auto-rollback";
  /** Where the state lives: unset for the file store in dataDir, or a postgres:// URL (store/open.ts). */
  store?: string | null;
}

export interface SubmitInput {
  /** The canonical trajectory object. Exactly one of trajectory / raw. */
  trajectory?: unknown;
  /** The run as the agent wrote it: a JSON value or text (JSON / JSONL). */
  raw?: unknown;
  format?: string;
  skill?: string | null;
  outcome?: Partial<Outcome>;
  tags?: string[];
  fileName?: string;
  /** Limit of the whole submission (default: ingest's MAX_RAW_BYTES). */
  maxBytes?: number;
  /** The skill version the runs used, for runs that do not say: a number, or per skill (an MCP session's last read). */
  skillVersion?: number | null | ((skill: string | null) => number | undefined);
}

export interface SubmitResult {
  ids: string[];
  created: number;
  duplicates: number;
  outcomesUpdated: number;
  /** Earlier snapshots of the same sessions that the newer, more complete ones replaced. */
  replaced: number;
  redactions: number;
  redactionKinds: Record<string, number>;
  skipped: SkipNote[];
  format: string;
}

/** A hook hands over a whole session file: it may be larger than one request, since each run is fitted to the per-run limit. */
export const MAX_SESSION_FILE_BYTES = 256 * 1024 * 1024;

export interface DeleteRunsResult extends DeleteTrajectoriesResult {
  /** Versions whose provenance cites a deleted run (the id stays there, naming a deleted run). */
  citedBy: { skill: string; version: number; runs: number }[];
}

/** An ISO date, or a span back from now: 30m, 12h, 7d. */
function parseSince(value: string): string {
  const span = /^(\d+)\s*([mhd])$/.exec(value.trim());
  if (span) {
    const ms = Number(span[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[span[2] as "m" | "h" | "d"];
    return new Date(Date.now() - ms).toISOString();
  }
  if (/^\d+$/.test(value.trim())) throw new InvalidInputError(`"${value}" needs a unit: 7d, 12h or 30m (or give a date such as 2026-11-01).`);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidInputError(`"${value}" is not a date or a span such as 7d, 12h or 30m.`);
  return date.toISOString();
}

export interface RunView {
  runId: string;
  skill: string;
  kind: string;
  /** A run whose process died before it finished is "interrupted": resume it with its id. */
  stage: string;
  finished: boolean;
  progress: { done: number; total: number; message: string };
  usage: { inputTokens: number; outputTokens: number; costUsd: number; calls: number };
  errors: string[];
  resultVersion: number | null;
  result: ConsolidateOutput | null;
  /** Where the new version's files are, once there is one. */
  versionPath: string | null;
}

export interface SkillSummary {
  name: string;
  activeVersion: number | null;
  versions: number;
  drafts: number[];
  trajectories: { total: number; successes: number; failures: number; unknown: number };
  /** The active version does worse than its parent beyond the intervals (the regression guard). */
  regression: Regression | null;
}

export interface SkillView {
  skill: string;
  version: number;
  status: SkillVersionMeta["status"];
  description: string;
  files: { path: string; bytes: number }[];
  /** SKILL.md, or the requested file. */
  file: { path: string; content: string };
  validation: ValidationReport;
}

/**
 * The use-cases of trace2skill. The MCP server and the CLI are thin layers over this class;
 * it knows nothing of either. Several engines (processes) may share one data directory.
 */
/** Limits of an outcome update: a verdict and its reasons, not a second transcript. */
const MAX_FEEDBACK_CHARS = 16_000;
const MAX_EXPECTED_CHARS = 64_000;

export class Engine {
  readonly runs: RunTracker;
  readonly evolution: Evolution;
  /** Told when the active version of a skill changes (every MCP session re-announces its resources). */
  private readonly activeChangeListeners = new Set<(skill: string) => void>();
  /** Active version of each skill as last seen, to notice promotions made by other processes. */
  private activeSeen = new Map<string, number | null>();
  private activeWatch: NodeJS.Timeout | null = null;
  private activeUnwatch: Promise<(() => Promise<void>) | null> | null = null;

  private constructor(
    readonly store: Store,
    readonly options: EngineOptions,
  ) {
    this.runs = new RunTracker(store);
    this.evolution = new Evolution({
      store,
      runs: this.runs,
      modelConfig: options.modelConfig ?? null,
      concurrency: options.concurrency ?? options.modelConfig?.concurrency ?? DEFAULT_CONCURRENCY,
      // On PostgreSQL, `trace2skill worker` processes may take the analyses and merges.
      fleet: store instanceof PgStore ? new Fleet(store.connectionString, store) : null,
    });
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const store = await openStoreAt(options.dataDir, options.store);
    return new Engine(store, options);
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  /** Where the state lives, for logs: the data directory, or the database (without its password). */
  get storeLocation(): string {
    return this.store instanceof PgStore ? this.store.location : this.dataDir;
  }

  /** Whether the store answers now: a database store is asked; the file store is local and always is. */
  async storeHealthy(): Promise<boolean> {
    return this.store instanceof PgStore ? this.store.ping() : true;
  }

  /** Let go of connections (the PostgreSQL store's pool and job queue); the file store holds none. */
  async close(): Promise<void> {
    if (this.activeWatch) clearInterval(this.activeWatch);
    this.activeWatch = null;
    await this.evolution.closeFleet();
    if (this.store instanceof PgStore) await this.store.close();
  }

  /** Where promote and export write by default. */
  get skillsDir(): string {
    return path.resolve(this.options.skillsDir);
  }

  // ── ingest ────────────────────────────────────────────────────────────────

  /** Store one submission (which may hold several runs); idempotent per run. Nothing is stored on error. */
  async submit(input: SubmitInput): Promise<SubmitResult> {
    const hasTrajectory = input.trajectory !== undefined && input.trajectory !== null;
    const hasRaw = input.raw !== undefined && input.raw !== null;
    if (hasTrajectory === hasRaw) {
      throw new InvalidInputError(
        "Give exactly one of `trajectory` (the canonical object) or `raw` (the run as your agent wrote it, with `format`).",
      );
    }
    const skill = input.skill == null ? input.skill : checkSkillName(input.skill);
    // An unknown format is named as such, whatever the payload looks like.
    if (input.format !== undefined && input.format !== "canonical") importerFor(input.format);
    const options = {
      format: input.format,
      skill,
      outcome: input.outcome,
      tags: input.tags,
      fileName: input.fileName,
      maxBytes: input.maxBytes,
      skillVersion: input.skillVersion,
    };
    const ingested: IngestResult = hasTrajectory
      ? ingestCanonical(input.trajectory, options)
      : ingestRaw(input.raw, options);
    const results = await this.store.putTrajectories(ingested.trajectories);
    const replaced = await this.collapseSessions(ingested.trajectories);
    await this.guard(ingested.trajectories.map((t) => t.skill));
    return {
      ids: results.map((r) => r.id),
      created: results.filter((r) => r.created).length,
      duplicates: results.filter((r) => !r.created).length,
      outcomesUpdated: results.filter((r) => r.outcomeUpdated).length,
      replaced,
      redactions: ingested.redactions,
      redactionKinds: ingested.redactionKinds,
      skipped: ingested.skipped,
      format: ingested.format,
    };
  }

  /**
   * One session, one run. A hook reports a session again and again (Claude Code's Stop fires
   * after every answer), each time with the whole transcript so far, tagged `session:<id>`.
   * Only the most complete snapshot is kept (the most steps; the newest on a tie); an outcome
   * someone recorded on an earlier snapshot moves to it. Storage so grows with the transcript,
   * not with the number of reports.
   */
  private async collapseSessions(submitted: Trajectory[]): Promise<number> {
    // A session is one per skill: the same session reported for two skills is two runs.
    const sessions = new Map(
      submitted.flatMap((t) => t.tags.filter((tag) => tag.startsWith("session:")).map((tag) => [`${t.skill}\u0000${tag}`, { skill: t.skill, tag }] as const)),
    );
    if (sessions.size === 0) return 0;
    const rows = await this.store.listTrajectories();
    let replaced = 0;
    for (const { skill, tag } of sessions.values()) {
      const snapshots = rows
        .filter((r) => r.skill === skill && r.tags.includes(tag))
        .sort((a, b) => b.steps - a.steps || b.createdAt.localeCompare(a.createdAt));
      const [keep, ...older] = snapshots;
      if (!keep || older.length === 0) continue;
      const labelled = keep.success === null ? older.find((r) => r.success !== null) : undefined;
      if (labelled) {
        const from = await this.store.getTrajectory(labelled.id);
        if (from) await this.store.setOutcome(keep.id, from.outcome);
      }
      replaced += (await this.store.deleteTrajectories(older.map((r) => r.id))).deleted.length;
    }
    return replaced;
  }

  async setOutcome(id: string, outcome: unknown): Promise<Trajectory> {
    const parsed = OutcomeSchema.partial().safeParse(outcome);
    if (!parsed.success) {
      throw new InvalidInputError(`Invalid outcome: ${parsed.error.issues.map((i) => `${i.path.join(".") || "outcome"}: ${i.message}`).join("; ")}`);
    }
    for (const [field, limit] of [["feedback", MAX_FEEDBACK_CHARS], ["expected", MAX_EXPECTED_CHARS]] as const) {
      const text = parsed.data[field];
      if (text !== undefined && text.length > limit) {
        throw new InvalidInputError(
          `outcome.${field} is ${text.length.toLocaleString("en-US")} characters; the limit is ${limit.toLocaleString("en-US")}. Send a summary (the run itself holds the details).`,
        );
      }
    }
    const current = await this.getTrajectory(id);
    // Outcomes arrive later through their own door: they are redacted like a submission, and
    // merged into the stored outcome under the store's lock (concurrent partial updates all land).
    const stored = await this.store.mergeOutcome(current.id, redactSecrets(parsed.data).value);
    await this.guard([stored.skill]);
    // Saying "unknown" on purpose keeps a judge from deciding the run (and undoes a verdict).
    if (parsed.data.success === null) return this.store.setJudgment(current.id, markedUnknown());
    return stored;
  }

  /** A run by its id, or by a unique prefix of at least 8 hex digits (as the CLI and hook print them). */
  async getTrajectory(idOrPrefix: string): Promise<Trajectory> {
    const id = await this.resolveTrajectoryId(idOrPrefix);
    const t = await this.store.getTrajectory(id);
    if (!t) throw new TrajectoryNotFoundError(idOrPrefix);
    return t;
  }

  private async resolveTrajectoryId(idOrPrefix: string): Promise<string> {
    const wanted = idOrPrefix.trim().toLowerCase();
    if (/^[0-9a-f]{64}$/.test(wanted)) return wanted;
    if (!/^[0-9a-f]{8,63}$/.test(wanted)) throw new TrajectoryNotFoundError(idOrPrefix);
    const matches = (await this.store.listTrajectories()).filter((r) => r.id.startsWith(wanted));
    if (matches.length === 1) return matches[0]!.id;
    if (matches.length === 0) throw new TrajectoryNotFoundError(idOrPrefix);
    throw new InvalidInputError(`"${idOrPrefix}" matches ${matches.length} runs; give more of the id.`);
  }

  /** Stored runs, newest first, as listings show them. `since`: an ISO date, or a span such as 7d / 12h. */
  async runSummaries(filter: { skill?: string; outcome?: OutcomeFilter; since?: string } = {}): Promise<RunSummary[]> {
    if (filter.skill !== undefined) checkSkillName(filter.skill);
    const since = filter.since === undefined ? undefined : parseSince(filter.since);
    const rows = await this.withVersions(await this.store.listTrajectories(filter.skill === undefined ? {} : { skill: filter.skill }));
    return rows
      .filter((row) => since === undefined || row.createdAt >= since)
      .map(summariseRun)
      .filter((s) => matchesOutcome(s, filter.outcome))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
  }

  /**
   * Delete stored runs (by id or unique prefix): payload, index row and the analyses derived
   * from them. Versions whose provenance cites a run keep the id (it then names a deleted run)
   * and are reported, so a person can decide whether to evolve again without it.
   */
  async deleteTrajectories(idsOrPrefixes: string[]): Promise<DeleteRunsResult> {
    if (idsOrPrefixes.length === 0) throw new InvalidInputError("Name at least one run id to delete.");
    const ids = await Promise.all(idsOrPrefixes.map((id) => this.resolveTrajectoryId(id)));
    const result = await this.store.deleteTrajectories(ids);
    const gone = new Set(result.deleted);
    const citedBy: { skill: string; version: number; runs: number }[] = [];
    for (const skill of await this.store.listSkills()) {
      for (const meta of await this.store.listSkillVersions(skill)) {
        const found = await this.store.getSkillVersion(skill, meta.version);
        const cited = new Set(found?.meta.provenance.flatMap((p) => p.support.filter((id) => gone.has(id))) ?? []);
        if (cited.size > 0) citedBy.push({ skill, version: meta.version, runs: cited.size });
      }
    }
    return { ...result, citedBy };
  }

  async listTrajectories(filter: { skill?: string; success?: boolean | null } = {}): Promise<TrajectoryRow[]> {
    if (filter.skill !== undefined) checkSkillName(filter.skill);
    return this.store.listTrajectories(filter);
  }

  // ── skills ────────────────────────────────────────────────────────────────

  /** Import a human-written skill folder as version 1 (or as a new version of a known skill). */
  async importSkill(folderPath: string, options: { name?: string; activate?: boolean } = {}): Promise<SkillVersionMeta & { validation: ValidationReport }> {
    if (folderPath.trim() === "") throw new InvalidInputError("The skill folder path is empty. Give the path of a folder that holds a SKILL.md.");
    const dir = resolveUserPath(folderPath, "The skill folder path");
    const info = await stat(dir).catch(() => null);
    if (!info?.isDirectory()) {
      throw new InvalidInputError(`"${folderPath}" is not a folder. Give the path of a skill folder that holds a SKILL.md.`);
    }
    const name = checkSkillName(options.name ?? path.basename(dir));
    const folder = await readSkillFolder(dir, { name }).catch((err: unknown) => {
      // A folder the OS will not read as files (/proc, a device, no permission): say so, not "internal error".
      const code = (err as NodeJS.ErrnoException).code;
      if (typeof code === "string") {
        throw new InvalidInputError(`"${folderPath}" cannot be read as a skill folder (${code}: ${errorMessage(err)}). Give a folder of regular files that holds a SKILL.md.`);
      }
      throw err;
    });
    const validation = validateSkill(folder);
    if (!validation.valid) {
      throw new InvalidSkillError(
        `The skill folder "${folderPath}" does not follow the Agent Skills spec:\n` +
          formatProblems(validation.problems.filter((p) => p.severity === "error")).map((line) => `- ${line}`).join("\n"),
        formatProblems(validation.problems),
      );
    }
    const versions = await this.store.listSkillVersions(name);
    const parent = (await this.store.getActiveVersion(name)) ?? null;
    const previous = parent === null ? null : await this.store.getSkillVersion(name, parent);
    if (previous && previous.meta.contentHash === contentHash(folder)) {
      return { ...previous.meta, validation: previous.meta.validation };
    }
    const meta = await this.store.addSkillVersion({
      skill: name,
      folder,
      detail: {
        parent,
        status: "draft",
        origin: "import",
        changelog: [versions.length === 0 ? `Imported from ${dir}` : `Re-imported from ${dir}`],
        runId: null,
        valid: validation.valid,
        diff: diffSkillFolders(previous?.folder ?? null, folder),
        provenance: [],
        validation,
        usage: null,
        dropped: [],
      },
    });
    const activate = options.activate ?? true;
    const final = activate ? await this.store.setVersionStatus(name, meta.version, "active") : meta;
    return { ...final, validation };
  }

  /** Skills with versions, and skills that only have runs so far (to be created by evolve). */
  async listSkills(): Promise<SkillSummary[]> {
    const rows = await this.store.listTrajectories();
    const names = [...new Set([...(await this.store.listSkills()), ...rows.flatMap((r) => (r.skill ? [r.skill] : []))])].sort();
    return Promise.all(
      names.map(async (name) => {
        const versions = await this.store.listSkillVersions(name);
        const mine = rows.filter((r) => r.skill === name);
        return {
          regression: findRegression(name, versions, await this.withVersions(latestPerSession(mine))),
          name,
          activeVersion: versions.find((v) => v.status === "active")?.version ?? null,
          versions: versions.length,
          drafts: versions.filter((v) => v.status === "draft").map((v) => v.version),
          trajectories: {
            total: mine.length,
            successes: mine.filter((r) => effectiveSuccess(r) === true).length,
            failures: mine.filter((r) => effectiveSuccess(r) === false).length,
            unknown: mine.filter((r) => effectiveSuccess(r) === null).length,
          },
        };
      }),
    );
  }

  /** Resolve "the active version, else the newest" when no version is given. */
  async resolveVersion(skill: string, version?: number): Promise<{ meta: SkillVersionDetail; folder: SkillFolder }> {
    checkSkillName(skill);
    let wanted = version;
    if (wanted === undefined) {
      wanted = (await this.store.getActiveVersion(skill)) ?? undefined;
      if (wanted === undefined) {
        const versions = await this.store.listSkillVersions(skill);
        wanted = versions.at(-1)?.version;
      }
    }
    if (wanted === undefined) throw new SkillNotFoundError(skill);
    const found = await this.store.getSkillVersion(skill, wanted);
    if (!found) {
      // An unknown skill is named as such, not as a missing version of it.
      const known = (await this.store.listSkillVersions(skill)).length > 0;
      throw known ? new SkillNotFoundError(skill, wanted) : new SkillNotFoundError(skill);
    }
    return found;
  }

  async getSkill(skill: string, options: { version?: number; file?: string } = {}): Promise<SkillView> {
    const { meta, folder } = await this.resolveVersion(skill, options.version);
    const filePath = options.file === undefined ? "SKILL.md" : safeRelativePath(options.file, "file");
    const content = folder.files[filePath] ?? (folder.binaries[filePath] !== undefined ? `[binary file, ${Buffer.from(folder.binaries[filePath]!, "base64").length} bytes]` : undefined);
    if (content === undefined) {
      throw new InvalidInputError(
        `Skill "${skill}" v${meta.version} has no file "${filePath}". Its files: ${listFiles(folder).map((f) => f.path).join(", ")}.`,
      );
    }
    return {
      skill,
      version: meta.version,
      status: meta.status,
      description: describe(folder),
      files: listFiles(folder),
      file: { path: filePath, content },
      validation: meta.validation,
    };
  }

  // ── versions ──────────────────────────────────────────────────────────────

  /** Subscribe to active-version changes; returns the unsubscribe function. */
  /**
   * Subscribe to active-version changes; returns the unsubscribe function. Changes made by
   * this process are told at once; those made by another process on the same data dir (the
   * CLI, another client's server) within ACTIVE_WATCH_MS, by watching the store's index.
   */
  onActiveVersionChange(listener: (skill: string) => void): () => void {
    this.activeChangeListeners.add(listener);
    if (!this.activeWatch) {
      // A store out of reach now must not bring the server down: the next look sees it.
      void this.activeVersions().then(
        (seen) => (this.activeSeen = seen),
        () => undefined,
      );
      // A store that tells of changes (PostgreSQL's LISTEN/NOTIFY) is listened to; the poll stays, slower, as a safety net.
      const pushed = this.store.watchActiveVersions;
      if (pushed) {
        this.activeUnwatch = pushed
          .call(this.store, () => void this.noticeActiveChanges())
          .catch((err: unknown) => {
            log.warn("could not LISTEN for promotions; polling instead", { error: errorMessage(err) });
            return null;
          });
      }
      this.activeWatch = setInterval(() => void this.noticeActiveChanges(), pushed ? ACTIVE_WATCH_MS * 15 : ACTIVE_WATCH_MS);
      this.activeWatch.unref();
    }
    return () => {
      this.activeChangeListeners.delete(listener);
      if (this.activeChangeListeners.size === 0 && this.activeWatch) {
        clearInterval(this.activeWatch);
        this.activeWatch = null;
        void this.activeUnwatch?.then((stop) => stop?.());
        this.activeUnwatch = null;
      }
    };
  }

  private async activeVersions(): Promise<Map<string, number | null>> {
    const skills = await this.store.listSkills();
    return new Map(await Promise.all(skills.map(async (s) => [s, await this.store.getActiveVersion(s)] as const)));
  }

  private async noticeActiveChanges(): Promise<void> {
    try {
      const now = await this.activeVersions();
      const changed = [...now].filter(([skill, version]) => (this.activeSeen.get(skill) ?? null) !== version).map(([skill]) => skill);
      this.activeSeen = now;
      for (const skill of changed) for (const listener of this.activeChangeListeners) listener(skill);
    } catch {
      // A store being rebuilt or a skill deleted mid-read: look again next time.
    }
  }

  private activeVersionChanged(skill: string): void {
    void this.store.getActiveVersion(skill).then((v) => this.activeSeen.set(skill, v), () => undefined);
    for (const listener of this.activeChangeListeners) listener(skill);
  }

  /** Make a version the active one (the previous active one is retired) and export it. */
  async promote(
    skill: string,
    version: number,
    options: { to?: string; export?: boolean; acceptFlagged?: boolean; dryRun?: boolean } = {},
  ): Promise<{ meta: SkillVersionMeta; exportedTo: string | null; exportReport: ExportReport | null; previous: number | null; checks: VersionChecks }> {
    checkSkillName(skill);
    const found = await this.store.getSkillVersion(skill, version);
    if (!found) throw new SkillNotFoundError(skill, version);
    if (!found.meta.validation.valid) {
      throw new InvalidSkillError(
        `${skill} v${version} does not pass validation, so it cannot become active:\n` +
          formatProblems(found.meta.validation.problems.filter((p) => p.severity === "error")).map((line) => `- ${line}`).join("\n"),
      );
    }
    if (found.meta.flags.length > 0 && !options.acceptFlagged) {
      throw new InvalidSkillError(
        `${skill} v${version} is flagged for review: lines it adds look like planted commands or injected instructions:\n` +
          found.meta.flags.map((f) => `- ${f}`).join("\n") +
          `\nRead them (skill_history / trace2skill diff ${skill} ${version}). If they are intended, promote again with ` +
          `acceptFlagged: true (CLI: --accept-flagged).`,
      );
    }
    // Export first: a failed export leaves the active version as it was.
    const exportReport = options.export === false ? null : await this.exportSkill(skill, { version, to: options.to, dryRun: options.dryRun });
    const exportedTo = exportReport?.path ?? null;
    const previous = await this.store.getActiveVersion(skill);
    // What the draft's checks said (held-out coverage, review, audit) goes with the answer.
    const checks = versionChecks(found.meta);
    if (options.dryRun) return { meta: found.meta, exportedTo, exportReport, previous, checks };
    const meta = previous === version ? found.meta : await this.store.setVersionStatus(skill, version, "active");
    if (previous !== version) this.activeVersionChanged(skill);
    return { meta, exportedTo, exportReport, previous, checks };
  }

  /** Put the previously active version back (the current one is retired); nothing is deleted. */
  async rollback(
    skill: string,
    options: { to?: string; export?: boolean; dryRun?: boolean } = {},
  ): Promise<{ meta: SkillVersionMeta; from: number; exportedTo: string | null; exportReport: ExportReport | null }> {
    checkSkillName(skill);
    const current = await this.store.getActiveVersion(skill);
    if (current === null) throw new ConflictError(`Skill "${skill}" has no active version to roll back from.`);
    const versions = await this.store.listSkillVersions(skill);
    const previous = versions
      .filter((v) => v.version < current && v.status === "retired")
      .sort((a, b) => b.version - a.version)[0];
    if (!previous) throw new ConflictError(`Skill "${skill}" has no earlier active version before v${current}; nothing to roll back to.`);
    const exportReport =
      options.export === false ? null : await this.exportSkill(skill, { version: previous.version, to: options.to, dryRun: options.dryRun });
    const exportedTo = exportReport?.path ?? null;
    if (options.dryRun) return { meta: previous, from: current, exportedTo, exportReport };
    const meta = await this.store.setVersionStatus(skill, previous.version, "active");
    this.activeVersionChanged(skill);
    return { meta, from: current, exportedTo, exportReport };
  }

  /**
   * Per-version outcomes of a skill's runs (one per hooked session): success rate with a Wilson
   * interval, compared with the parent. Reads every run of the skill.
   */
  async skillStats(skill: string): Promise<VersionStats[]> {
    checkSkillName(skill);
    const versions = await this.store.listSkillVersions(skill);
    const rows = latestPerSession(await this.store.listTrajectories({ skill }));
    if (versions.length === 0 && rows.length === 0) throw new SkillNotFoundError(skill);
    const runs = (await Promise.all(rows.map((r) => this.store.getTrajectory(r.id)))).filter((t): t is Trajectory => t !== null);
    return versionStats(runs, versions);
  }

  /** Index rows with the version each run used (rows stored before the index kept it: read from the run). */
  private async withVersions(rows: TrajectoryRow[]): Promise<TrajectoryRow[]> {
    return Promise.all(
      rows.map(async (r) => (r.skillVersion !== undefined ? r : { ...r, skillVersion: (await this.store.getTrajectory(r.id))?.skillVersion ?? null })),
    );
  }

  /** The regression guard for one skill: the active version worse than its parent, or null. */
  async regression(skill: string): Promise<Regression | null> {
    checkSkillName(skill);
    const rows = latestPerSession(await this.store.listTrajectories({ skill }));
    return findRegression(skill, await this.store.listSkillVersions(skill), await this.withVersions(rows));
  }

  /** The flag history: every version whose runs show it worse than its parent, with its status now. */
  async flags(skill: string): Promise<Flag[]> {
    checkSkillName(skill);
    const rows = latestPerSession(await this.store.listTrajectories({ skill }));
    return flaggedVersions(skill, await this.store.listSkillVersions(skill), await this.withVersions(rows));
  }

  /**
   * After new outcomes: under the auto-rollback policy, an active version its runs show worse
   * than its parent is rolled back (the parent becomes active again, connected clients are told).
   */
  private async guard(skills: Iterable<string | null>): Promise<void> {
    if (this.options.regressionPolicy !== "auto-rollback") return;
    for (const skill of new Set(skills)) {
      if (!skill) continue;
      const found = await this.regression(skill).catch(() => null);
      if (!found) continue;
      log.warn(`regression guard: ${describeRegression(found, false)} Rolling back to v${found.parent} (regressionPolicy auto-rollback).`);
      await this.rollback(skill).catch((err: unknown) => log.error("regression guard could not roll back", { skill, error: errorMessage(err) }));
    }
  }

  /** The skill's report as one self-contained HTML page (versions, outcomes, the latest evolved version's checks). */
  async reportHtml(skill: string): Promise<string> {
    checkSkillName(skill);
    const metas = await this.history(skill);
    const versions = await Promise.all(metas.map((m) => this.versionDetail(skill, m.version)));
    const evolved = versions.filter((v) => v.origin === "evolve").sort((a, b) => b.version - a.version)[0];
    const runs = (await this.store.listRuns({ skill })).filter((r) => r.kind !== "analyse" || r.usage.calls > 0);
    return renderReport({
      skill,
      generatedAt: new Date().toISOString(),
      versions,
      stats: await this.skillStats(skill),
      regression: await this.regression(skill),
      flags: await this.flags(skill),
      runs: runs.sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
      latest: evolved ? { detail: evolved, report: versionReport(evolved) } : null,
    });
  }

  /** Versions with their changelogs, newest first. */
  async history(skill: string): Promise<SkillVersionMeta[]> {
    checkSkillName(skill);
    const versions = await this.store.listSkillVersions(skill);
    if (versions.length === 0) throw new SkillNotFoundError(skill);
    return [...versions].sort((a, b) => b.version - a.version);
  }

  /** Unified diff between two versions (default: a version against its parent). */
  async diff(skill: string, to: number, from?: number): Promise<{ from: number | null; to: number; diff: string }> {
    const target = await this.resolveVersion(skill, to);
    const fromVersion = from ?? target.meta.parent;
    if (fromVersion === null) return { from: null, to, diff: diffSkillFolders(null, target.folder) };
    const source = await this.resolveVersion(skill, fromVersion);
    return { from: fromVersion, to, diff: diffSkillFolders(source.folder, target.folder) };
  }

  /** A version's record; provenance marks the supporting runs deleted since it was made. */
  async versionDetail(skill: string, version: number): Promise<SkillVersionDetail> {
    const { meta } = await this.resolveVersion(skill, version);
    const stored = new Set((await this.store.listTrajectories()).map((r) => r.id));
    const provenance = meta.provenance.map((p) => {
      const deleted = p.support.filter((id) => !stored.has(id));
      return deleted.length > 0 ? { ...p, deletedSupport: deleted } : p;
    });
    return { ...meta, provenance };
  }

  /** Where a version's files are on disk (immutable snapshot); null when the store is a database (export them instead). */
  versionPath(skill: string, version: number): string | null {
    if (!(this.store instanceof FileStore)) return null;
    return path.join(new StorePaths(this.dataDir).version(skill, version), skill);
  }

  // ── runs ──────────────────────────────────────────────────────────────────

  /**
   * A run as a caller sees it: stage, progress, usage and, once finished, its result. Waits up
   * to `waitMs` for a live run of this process to finish first.
   */
  async runView(runId: string, waitMs = 0): Promise<RunView> {
    if (waitMs > 0) await this.runs.wait(runId, waitMs);
    const run = await this.runs.get(runId);
    if (!run) throw new InvalidInputError(`Run "${runId}" not found. Evolve and consolidate runs have ids such as evolve-20261129-101500-a1b2c3, returned by evolve_skill / consolidate_skill (CLI: evolve, consolidate; \`trace2skill runs\` lists stored agent runs instead).`);
    const finished = run.stage === "done" || run.stage === "failed" || run.stage === "cancelled";
    const stored = finished ? await this.store.readRunArtifact<ConsolidateOutput>(runId, "result") : null;
    // Work handed to an agent moves on without the run: report where it stands now.
    const result =
      stored?.status === "needs-work" ? { ...stored, work: await this.evolution.work.summary({ runId }).catch(() => stored.work) } : stored;
    return {
      runId: run.id,
      skill: run.skill,
      kind: run.kind,
      stage: run.interrupted ? "interrupted" : run.stage,
      finished,
      progress: run.progress,
      usage: run.usage,
      errors: run.errors,
      resultVersion: run.resultVersion,
      result,
      versionPath: run.resultVersion ? this.versionPath(run.skill, run.resultVersion) : null,
    };
  }

  /**
   * Write a version (default: active) as a plain skill folder under `to` (default: the skills
   * dir), keeping every file there an earlier export did not write; `dryRun` only reports.
   */
  async exportSkill(skill: string, options: { version?: number; to?: string; dryRun?: boolean } = {}): Promise<ExportReport> {
    const { meta, folder } = await this.resolveVersion(skill, options.version);
    const to = options.to === undefined ? path.resolve(this.options.skillsDir) : resolveUserPath(options.to, "The export folder");
    return exportSkill(folder, to, { version: meta.version, dryRun: options.dryRun });
  }
}

function listFiles(folder: SkillFolder): { path: string; bytes: number }[] {
  const text = Object.entries(folder.files).map(([p, c]) => ({ path: p, bytes: Buffer.byteLength(c, "utf8") }));
  const bin = Object.entries(folder.binaries).map(([p, c]) => ({ path: p, bytes: Buffer.from(c, "base64").length }));
  return [...text, ...bin].sort((x, y) => x.path.localeCompare(y.path));
}

function describe(folder: SkillFolder): string {
  try {
    const { frontmatter } = parseSkillMd(folder.files["SKILL.md"] ?? "");
    return typeof frontmatter.description === "string" ? frontmatter.description : "";
  } catch {
    return "";
  }
}

