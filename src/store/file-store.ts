import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { AnalysisSchema, type Analysis } from "../analysis/schema.js";
import {
  SkillFolderSchema,
  SkillVersionDetailSchema,
  SkillVersionMetaSchema,
  VersionStatusSchema,
  type SkillFolder,
  type SkillVersionDetail,
  type SkillVersionMeta,
  type VersionStatus,
} from "../skill/types.js";
import { JudgmentSchema, OutcomeSchema, TrajectorySchema, type Judgment, type Outcome, type Trajectory } from "../trajectory/schema.js";
import {
  InvalidInputError,
  InvalidSkillError,
  SkillNotFoundError,
  StoreCorruptError,
  TrajectoryNotFoundError,
} from "../util/errors.js";
import { resolveInside, writeFileAtomic } from "../util/fsx.js";
import { contentHash } from "../skill/content-hash.js";
import { log } from "../util/log.js";
import { pidAlive } from "../util/pid.js";
import {
  emptyIndex,
  IndexFiles,
  INDEX_SECTIONS,
  type AnalysisRow,
  type IndexTransaction,
  type RunRow,
  type SkillEntry,
  type StoreIndex,
} from "./index-journal.js";
import { LockLostError, withLock } from "./lock.js";
import { checkTrajectory, parseInput, snapshotEntries, trajectoryRow, type SnapshotEntry } from "./records.js";

/** What checkIndex found: per section (trajectories, analyses, runs, versions), the keys out of step. */
export interface IndexCheck {
  consistent: boolean;
  /** Listed in the index, but their file is gone. */
  missingFiles: Record<string, string[]>;
  /** On disk, but not in the index. */
  unindexed: Record<string, string[]>;
  /** In both, but the index row says something else than the file (outcome, version status). */
  differing: Record<string, string[]>;
}

/** A mutation whose lock was taken over is redone this many times at most. */
const MAX_LOCK_LOST_RETRIES = 10;
import { checkSkillName, checkTrajectoryId, checkVersionNumber, StorePaths } from "./paths.js";
import { RunSchema, type Run } from "./run.js";
import type { DeleteTrajectoriesResult, NewSkillVersion, PutTrajectoryResult, Store, TrajectoryRow } from "./store.js";

/**
 * The default store: an index of small rows (a lowdb checkpoint db.json plus a journal, see
 * index-journal.ts), and one file per payload.
 *
 * Invariants:
 * - every mutation runs under the data-dir lock and re-reads the index first, so
 *   concurrent processes never lose each other's writes;
 * - payload files are written (atomically) BEFORE their index row, so a row always points
 *   at a complete file;
 * - the index only holds rows and a submit appends one journal line, so its cost stays
 *   flat whatever the payload sizes and however many trajectories are stored;
 * - the index can be rebuilt from the payload files (`rebuildIndex`): a missing db.json is
 *   rebuilt on open, which is how a damaged one is recovered (move it aside) without data loss.
 */

/** Which snapshot files are text and which were decoded from base64 (binaries). */
const ManifestSchema = z.object({ text: z.array(z.string()), binary: z.array(z.string()) });
type Manifest = z.infer<typeof ManifestSchema>;

/** Parallel payload writes in a batch: enough to hide fsync latency, few enough to stay polite. */
const WRITE_CONCURRENCY = 16;

export async function openStore(dataDir: string): Promise<FileStore> {
  return FileStore.open(dataDir);
}

export class FileStore implements Store {
  readonly dataDir: string;
  private readonly paths: StorePaths;
  private readonly index: IndexFiles;

  private constructor(dataDir: string) {
    this.paths = new StorePaths(dataDir);
    this.dataDir = this.paths.root;
    this.index = new IndexFiles(this.paths.index, this.paths.journal, (file, reason) => this.corruptIndex(file, reason));
  }

  /** Creates the data dir if needed; fails early (without writing) on a damaged db.json. */
  static async open(dataDir: string): Promise<FileStore> {
    const store = new FileStore(dataDir);
    await mkdir(store.dataDir, { recursive: true });
    await writeFile(store.paths.lockTarget, "", { flag: "a" });
    await store.mutate((index, tx) => store.recoverLeftovers(index, tx));
    return store;
  }

  /**
   * What a killed writer left, repaired on open under the lock:
   * - temp files and folders (`<name>.<pid>.<hex>.tmp`) whose writer is gone are removed (a live
   *   writer's are never touched);
   * - run and analysis files written but never indexed (the writer died between the file and
   *   its index row) are indexed: a submission that reached the disk is kept, and submitting it
   *   again finds it stored.
   */
  private async recoverLeftovers(index: StoreIndex, tx: IndexTransaction): Promise<void> {
    // Only the store's own folders, and only the temp names its writers make (writeFileAtomic:
    // <file>.<pid>.<12 hex>.tmp; a version snapshot: .v<N>.<pid>.<8 hex>.tmp). The export folder
    // and anything else a user keeps under the data dir are never touched.
    const storeDirs = [this.paths.trajectoriesDir, this.paths.analysesDir, this.paths.skillsDir, this.paths.runsDir];
    const entries = [
      ...(await readdir(this.dataDir, { withFileTypes: true }).catch(() => [])),
      ...(await Promise.all(storeDirs.map((dir) => readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])))).flat(),
    ];
    let adopted = 0;
    for (const entry of entries) {
      const where = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
      const tmp = /^(?:.+\.(\d+)\.[0-9a-f]{12}\.tmp|\.v\d+\.(\d+)\.[0-9a-f]{8}\.tmp)$/.exec(entry.name);
      if (tmp) {
        if (pidAlive(Number(tmp[1] ?? tmp[2]))) continue;
        await rm(where, { recursive: true, force: true });
        log.warn("removed a temp file a killed process left", { path: where });
        continue;
      }
      if (!entry.isFile()) continue;
      const relative = path.relative(this.dataDir, where).split(path.sep).join("/");
      const run = /^trajectories\/[0-9a-f]{2}\/([0-9a-f]{64})\.json$/.exec(relative);
      if (run && !own(index.trajectories, run[1] as string)) {
        const t = await readPayloadOrWarn(where, TrajectorySchema);
        if (t && t.id === run[1]) {
          tx.set("trajectories", t.id, trajectoryRow(t, (await stat(where)).size));
          adopted++;
        }
        continue;
      }
      const analysis = /^analyses\/[^/]{2}\/([^/]+)\.json$/.exec(relative);
      if (analysis && !own(index.analyses, analysis[1] as string)) {
        const a = await readPayloadOrWarn(where, AnalysisSchema);
        if (a && a.id === analysis[1] && a.trajectoryIds.every((t) => own(index.trajectories, t))) {
          tx.set("analyses", a.id, analysisRow(a));
          adopted++;
        } else if (a && a.id === analysis[1]) {
          // Made from a run deleted since: not kept.
          await rm(where, { force: true });
        }
      }
    }
    if (adopted > 0) log.warn("indexed files a killed process wrote but never indexed", { files: adopted, dataDir: this.dataDir });
  }

  // ---- trajectories ----

  async putTrajectory(t: Trajectory): Promise<PutTrajectoryResult> {
    const [result] = await this.putTrajectories([t]);
    if (!result) throw new Error("putTrajectories returned no result for one trajectory");
    return result;
  }

  async putTrajectories(ts: Trajectory[]): Promise<PutTrajectoryResult[]> {
    const checked = ts.map(checkTrajectory);
    return this.mutate(async (index, tx) => {
      const plan = await this.planTrajectoryWrites(index, checked);
      const sizes = await mapLimit(plan.writes, WRITE_CONCURRENCY, (t) => writeJson(this.paths.trajectory(t.id), t));
      plan.writes.forEach((t, i) => tx.set("trajectories", t.id, trajectoryRow(t, sizes[i] ?? 0)));
      return plan.results;
    });
  }

  async getTrajectory(id: string): Promise<Trajectory | null> {
    return readPayload(this.paths.trajectory(id), TrajectorySchema);
  }

  async listTrajectories(filter: { skill?: string; success?: boolean | null } = {}): Promise<TrajectoryRow[]> {
    const index = await this.readIndex();
    return Object.values(index.trajectories)
      .filter(
        (row) =>
          (filter.skill === undefined || row.skill === filter.skill) &&
          (filter.success === undefined || row.success === filter.success),
      )
      .map((row) => ({ ...row, tags: [...row.tags] }));
  }

  async setOutcome(id: string, outcome: Outcome): Promise<Trajectory> {
    checkTrajectoryId(id);
    const parsed = parseInput(OutcomeSchema, outcome, "outcome");
    return this.mutate(async (index, tx) => {
      if (!own(index.trajectories, id)) throw new TrajectoryNotFoundError(id);
      const stored = await this.readListedTrajectory(id);
      const updated: Trajectory = { ...stored, outcome: parsed };
      tx.set("trajectories", id, trajectoryRow(updated, await writeJson(this.paths.trajectory(id), updated)));
      return updated;
    });
  }

  async mergeOutcome(id: string, patch: Partial<Outcome>): Promise<Trajectory> {
    checkTrajectoryId(id);
    const parsedPatch = parseInput(OutcomeSchema.partial(), patch, "outcome");
    return this.mutate(async (index, tx) => {
      if (!own(index.trajectories, id)) throw new TrajectoryNotFoundError(id);
      // The current outcome is read under the lock: two partial updates never overwrite each other.
      const stored = await this.readListedTrajectory(id);
      const merged = parseInput(OutcomeSchema, { ...stored.outcome, ...stripUndefined(parsedPatch) }, "outcome");
      const updated: Trajectory = { ...stored, outcome: merged };
      tx.set("trajectories", id, trajectoryRow(updated, await writeJson(this.paths.trajectory(id), updated)));
      return updated;
    });
  }

  async setJudgment(id: string, judgment: Judgment): Promise<Trajectory> {
    checkTrajectoryId(id);
    const parsed = parseInput(JudgmentSchema, judgment, "judgment");
    return this.mutate(async (index, tx) => {
      if (!own(index.trajectories, id)) throw new TrajectoryNotFoundError(id);
      const updated: Trajectory = { ...(await this.readListedTrajectory(id)), judged: parsed };
      tx.set("trajectories", id, trajectoryRow(updated, await writeJson(this.paths.trajectory(id), updated)));
      return updated;
    });
  }

  async deleteTrajectories(ids: string[]): Promise<DeleteTrajectoriesResult> {
    const wanted = [...new Set(ids)].map(checkTrajectoryId);
    return this.mutate(async (index, tx) => {
      const deleted = wanted.filter((id) => own(index.trajectories, id));
      const gone = new Set(deleted);
      const derived = Object.values(index.analyses).filter((row) => row.trajectoryIds.some((id) => gone.has(id)));
      // Files first: a crash before the index commits leaves rows without files, which the
      // next delete (or a rebuild) clears; never a deleted run's text left behind unlisted.
      for (const id of deleted) await rm(this.paths.trajectory(id), { force: true });
      for (const row of derived) await rm(this.paths.analysis(row.id), { force: true });
      for (const id of deleted) tx.delete("trajectories", id);
      for (const row of derived) tx.delete("analyses", row.id);
      return { deleted, missing: wanted.filter((id) => !gone.has(id)), analysesRemoved: derived.length };
    });
  }

  /**
   * Decides, under the lock, what a batch changes: new trajectories, and known ones whose
   * unknown outcome the re-submit now brings. Duplicates inside the batch count once.
   */
  private async planTrajectoryWrites(
    index: StoreIndex,
    ts: Trajectory[],
  ): Promise<{ writes: Trajectory[]; results: PutTrajectoryResult[] }> {
    const pending = new Map<string, Trajectory>();
    const results: PutTrajectoryResult[] = [];
    for (const t of ts) {
      const inBatch = pending.get(t.id);
      const row = own(index.trajectories, t.id);
      if (!inBatch && !row) {
        pending.set(t.id, t);
        results.push({ id: t.id, created: true, outcomeUpdated: false });
        continue;
      }
      const knownSuccess = inBatch ? inBatch.outcome.success : (row?.success ?? null);
      const outcomeUpdated = knownSuccess === null && t.outcome.success !== null;
      if (outcomeUpdated) {
        // The row alone decides; the stored file is only read when it is about to change.
        const base = inBatch ?? (await this.readListedTrajectory(t.id));
        pending.set(t.id, { ...base, outcome: t.outcome });
      }
      results.push({ id: t.id, created: false, outcomeUpdated });
    }
    return { writes: [...pending.values()], results };
  }

  private async readListedTrajectory(id: string): Promise<Trajectory> {
    const stored = await readPayload(this.paths.trajectory(id), TrajectorySchema);
    if (!stored) throw corruptPayload(this.paths.trajectory(id), "it is listed in db.json but missing on disk");
    return stored;
  }

  // ---- analyses ----

  async putAnalysis(a: Analysis): Promise<void> {
    const analysis = parseInput(AnalysisSchema, a, "analysis");
    // An analysis file is keyed by content (its cache key): writing it needs no lock, only
    // its index row does. Keeping the fsync outside the lock lets parallel analysts overlap.
    await writeJson(this.paths.analysis(analysis.id), analysis);
    await this.mutate(async (index, tx) => {
      // A run deleted while its analysis was being made (a deletion request): the analysis goes too.
      const gone = analysis.trajectoryIds.filter((id) => !own(index.trajectories, id));
      if (gone.length > 0) {
        await rm(this.paths.analysis(analysis.id), { force: true });
        throw new TrajectoryNotFoundError(gone[0] as string);
      }
      tx.set("analyses", analysis.id, analysisRow(analysis));
    });
  }

  async getAnalysis(id: string): Promise<Analysis | null> {
    const analysis = await readPayload(this.paths.analysis(id), AnalysisSchema);
    if (!analysis) return null;
    // A process killed between writing the file and its index row leaves a complete analysis
    // the index does not list: list it now, so what a cache hit returns is also consolidated.
    if (!own((await this.readIndex()).analyses, id)) {
      const kept = await this.mutate(async (index, tx) => {
        if (analysis.trajectoryIds.some((t) => !own(index.trajectories, t))) {
          await rm(this.paths.analysis(analysis.id), { force: true });
          return false;
        }
        tx.set("analyses", analysis.id, analysisRow(analysis));
        return true;
      });
      if (!kept) return null;
    }
    return analysis;
  }

  async listAnalyses(filter: { skill: string; baseHash?: string }): Promise<Analysis[]> {
    const index = await this.readIndex();
    const rows = Object.values(index.analyses).filter(
      (row) => row.skill === filter.skill && (filter.baseHash === undefined || row.baseHash === filter.baseHash),
    );
    return this.readRowPayloads(rows, (row) => this.paths.analysis(row.id), AnalysisSchema);
  }

  // ---- skill versions ----

  async addSkillVersion(v: NewSkillVersion): Promise<SkillVersionMeta> {
    const skill = checkSkillName(v.skill);
    const folder = parseInput(SkillFolderSchema, v.folder, "skill folder");
    if (folder.name !== skill) {
      throw new InvalidSkillError(`The folder is named "${folder.name}" but is being stored as skill "${skill}"; they must match.`);
    }
    const entries = snapshotEntries(folder);
    const hash = contentHash(folder);
    return this.mutate(async (index, tx) => {
      const entry = structuredClone(own(index.skills, skill) ?? { active: null, versions: [] });
      const version = Math.max(0, ...entry.versions.map((m) => m.version)) + 1;
      const detail = parseInput(
        SkillVersionDetailSchema,
        { ...v.detail, skill, version, createdAt: new Date().toISOString(), contentHash: hash, fileCount: entries.length },
        "skill version",
      );
      await writeSnapshot(this.paths.version(skill, version), skill, entries, detail);
      const meta = SkillVersionMetaSchema.parse(detail);
      entry.versions.push(meta);
      if (meta.status === "active") await this.activate(entry, meta);
      tx.set("skills", skill, entry);
      return { ...meta };
    });
  }

  async getSkillVersion(skill: string, version: number): Promise<{ meta: SkillVersionDetail; folder: SkillFolder } | null> {
    const dir = this.paths.version(skill, version);
    const stored = await readPayload(path.join(dir, "version.json"), SkillVersionDetailSchema);
    if (!stored) return null;
    const manifest = await readPayload(path.join(dir, "manifest.json"), ManifestSchema);
    if (!manifest) throw corruptPayload(path.join(dir, "manifest.json"), "the snapshot has no manifest");
    // The index is the authority on status; version.json follows it but may lag a crash behind.
    const row = own((await this.readIndex()).skills, skill)?.versions.find((m) => m.version === version);
    return { meta: { ...stored, ...row }, folder: await readSnapshot(path.join(dir, skill), skill, manifest) };
  }

  async listSkillVersions(skill: string): Promise<SkillVersionMeta[]> {
    checkSkillName(skill);
    const entry = own((await this.readIndex()).skills, skill);
    return (entry?.versions ?? []).map((m) => ({ ...m })).sort((a, b) => a.version - b.version);
  }

  async listSkills(): Promise<string[]> {
    return Object.keys((await this.readIndex()).skills).sort();
  }

  async getActiveVersion(skill: string): Promise<number | null> {
    checkSkillName(skill);
    return own((await this.readIndex()).skills, skill)?.active ?? null;
  }

  async setVersionStatus(skill: string, version: number, status: VersionStatus): Promise<SkillVersionMeta> {
    checkSkillName(skill);
    checkVersionNumber(version);
    const wanted = parseInput(VersionStatusSchema, status, "version status");
    return this.mutate(async (index, tx) => {
      const stored = own(index.skills, skill);
      if (!stored) throw new SkillNotFoundError(skill);
      // Edit a copy: the shared index only changes when the transaction commits.
      const entry = structuredClone(stored);
      const meta = entry.versions.find((m) => m.version === version);
      if (!meta) throw new SkillNotFoundError(skill, version);
      if (wanted === "active") {
        await this.activate(entry, meta);
      } else {
        if (entry.active === version) entry.active = null;
        meta.status = wanted;
        await this.writeVersionStatus(meta);
      }
      tx.set("skills", skill, entry);
      return { ...meta };
    });
  }

  /** Makes `meta` the active version, retiring the previously active one (under the lock). */
  private async activate(entry: SkillEntry, meta: SkillVersionMeta): Promise<void> {
    const previous = entry.versions.find((m) => m.version === entry.active && m.version !== meta.version);
    if (previous) {
      previous.status = "retired";
      await this.writeVersionStatus(previous);
    }
    meta.status = "active";
    entry.active = meta.version;
    await this.writeVersionStatus(meta);
  }

  /**
   * The file snapshot (v<N>/<skill>/) of a version never changes; its status does, and version.json
   * follows it so the index can be rebuilt from disk with the right active version.
   */
  private async writeVersionStatus(meta: SkillVersionMeta): Promise<void> {
    const file = path.join(this.paths.version(meta.skill, meta.version), "version.json");
    const stored = await readPayload(file, SkillVersionDetailSchema);
    if (!stored) throw corruptPayload(file, "the version is listed in db.json but its snapshot is missing");
    if (stored.status !== meta.status) await writeJson(file, { ...stored, status: meta.status });
  }

  // ---- runs ----

  async putRun(run: Run): Promise<void> {
    const parsed = parseInput(RunSchema, run, "run");
    const file = this.paths.runRecord(parsed.id);
    await this.mutate(async (_index, tx) => {
      await writeJson(file, parsed);
      tx.set("runs", parsed.id, runRow(parsed));
    });
  }

  async claimRun(id: string, claim: (current: Run) => Promise<Run>): Promise<Run> {
    const file = this.paths.runRecord(id);
    return this.mutate(async (_index, tx) => {
      const current = await readPayload(file, RunSchema);
      if (!current) throw new InvalidInputError(`Run "${id}" not found.`);
      const next = parseInput(RunSchema, await claim(current), "run");
      await writeJson(file, next);
      tx.set("runs", next.id, runRow(next));
      return next;
    });
  }

  async getRun(id: string): Promise<Run | null> {
    return readPayload(this.paths.runRecord(id), RunSchema);
  }

  async listRuns(filter: { skill?: string } = {}): Promise<Run[]> {
    const index = await this.readIndex();
    const rows = Object.values(index.runs).filter((row) => filter.skill === undefined || row.skill === filter.skill);
    const runs = await this.readRowPayloads(rows, (row) => this.paths.runRecord(row.id), RunSchema);
    return runs.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async writeRunArtifact(runId: string, name: string, value: unknown): Promise<void> {
    const file = this.paths.runArtifact(runId, name);
    if (value === undefined) throw new InvalidInputError(`Run artefact "${name}" has no value; pass any JSON value.`);
    await writeJson(file, value);
  }

  async readRunArtifact<T = unknown>(runId: string, name: string): Promise<T | null> {
    const text = await readTextOrNull(this.paths.runArtifact(runId, name));
    return text === null ? null : (parseJson(text, this.paths.runArtifact(runId, name)) as T);
  }

  // ---- index ----

  /** Runs `fn` on the freshly re-read index under the data-dir lock; its upserts are committed after it. */
  private async mutate<T>(fn: (index: StoreIndex, tx: IndexTransaction) => Promise<T>): Promise<T> {
    // A lock taken over while this process was paused: redo the whole mutation on a fresh view.
    for (let attempt = 1; ; attempt++) {
      try {
        return await withLock(this.paths.lockTarget, (lease) => this.index.update(fn, () => this.rebuild(), lease));
      } catch (err) {
        if (!(err instanceof LockLostError) || attempt >= MAX_LOCK_LOST_RETRIES) throw err;
        log.warn("store write redone: the lock was taken over while this process held it", { attempt, reason: err.message });
      }
    }
  }

  /** Lock-free read: both index files only change by atomic rename or whole-line append. */
  private async readIndex(): Promise<StoreIndex> {
    return (await this.index.read()) ?? emptyIndex();
  }

  private corruptIndex(file: string, reason: string): StoreCorruptError {
    return new StoreCorruptError(
      `The store index file ${file} is damaged (${reason}). Nothing was changed. To recover, restore it from a backup, ` +
        `or move db.json and db.journal aside (e.g. rename them to *.broken): the next start rebuilds the index from the ` +
        `trajectory, analysis, skill and run files under ${this.dataDir}.`,
    );
  }

  /**
   * Index rows whose payload file is gone, and payload files with no row (a writer that lost its
   * lock, a crash, files copied in by hand): what `doctor` reports. Reads every payload file.
   */
  async checkIndex(): Promise<IndexCheck> {
    return compareIndex(await this.readIndex(), await rebuildIndex(this.paths));
  }

  /**
   * A store whose index does not open (a damaged db.json or journal): move the two index files
   * aside (kept, renamed *.broken-<time>) and open it again, which rebuilds the index from the
   * run, analysis, skill and run-record files. Nothing else is touched. Returns what was moved.
   */
  static async openMovingDamagedIndexAside(dataDir: string): Promise<{ store: FileStore; movedAside: string[] }> {
    try {
      return { store: await FileStore.open(dataDir), movedAside: [] };
    } catch (err) {
      if (!(err instanceof StoreCorruptError)) throw err;
      const paths = new StorePaths(dataDir);
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      const movedAside: string[] = [];
      for (const file of [paths.index, paths.journal]) {
        const to = `${file}.broken-${stamp}`;
        if (await rename(file, to).then(() => true, () => false)) movedAside.push(to);
      }
      return { store: await FileStore.open(dataDir), movedAside };
    }
  }

  /** Rebuild the index from the payload files, under the lock (doctor --repair); returns what the old index got wrong. */
  async repairIndex(): Promise<IndexCheck> {
    return withLock(this.paths.lockTarget, async (lease) => {
      const before = await this.readIndex();
      const onDisk = await rebuildIndex(this.paths);
      await lease.check();
      await this.index.replace(onDisk);
      return compareIndex(before, onDisk);
    });
  }

  private async rebuild(): Promise<StoreIndex> {
    const index = await rebuildIndex(this.paths);
    const counts = INDEX_SECTIONS.map((s) => `${Object.keys(index[s]).length} ${s}`).join(", ");
    if (INDEX_SECTIONS.some((s) => Object.keys(index[s]).length > 0)) {
      log.warn(`db.json was missing; rebuilt the store index from files on disk (${counts})`, { dataDir: this.dataDir });
    }
    return index;
  }

  private async readRowPayloads<R extends { id: string }, T>(
    rows: R[],
    fileOf: (row: R) => string,
    schema: z.ZodType<T>,
  ): Promise<T[]> {
    const payloads = await mapLimit(rows, WRITE_CONCURRENCY, async (row) => ({ row, payload: await readPayload(fileOf(row), schema) }));
    const found: T[] = [];
    for (const { row, payload } of payloads) {
      if (payload === null) log.warn("an index row points at a missing file; skipped it", { id: row.id, file: fileOf(row) });
      else found.push(payload);
    }
    return found;
  }
}

// ---- rows and index shape ----

/** Index sections are plain objects keyed by user-influenced names: never read inherited keys. */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}


function analysisRow(a: Analysis): AnalysisRow {
  return { id: a.id, skill: a.skill, baseHash: a.baseHash, trajectoryIds: a.trajectoryIds, createdAt: a.createdAt };
}

function runRow(r: Run): RunRow {
  return { id: r.id, skill: r.skill, kind: r.kind, stage: r.stage, createdAt: r.createdAt, updatedAt: r.updatedAt };
}

/** Rebuilds every index row from the payload files; unreadable files are skipped with a warning. */
async function rebuildIndex(paths: StorePaths): Promise<StoreIndex> {
  const index = emptyIndex();
  for (const file of await findFiles(paths.trajectoriesDir, /^[0-9a-f]{2}\/[0-9a-f]{64}\.json$/)) {
    const t = await readPayloadOrWarn(file, TrajectorySchema);
    if (t) index.trajectories[t.id] = trajectoryRow(t, (await stat(file)).size);
  }
  for (const file of await findFiles(paths.analysesDir, /^[^/]{2}\/[^/]+\.json$/)) {
    const a = await readPayloadOrWarn(file, AnalysisSchema);
    if (a) index.analyses[a.id] = analysisRow(a);
  }
  for (const file of await findFiles(paths.skillsDir, /^[^/]+\/v\d+\/version\.json$/)) {
    const detail = await readPayloadOrWarn(file, SkillVersionDetailSchema);
    if (!detail) continue;
    const entry = own(index.skills, detail.skill) ?? { active: null, versions: [] };
    entry.versions.push(SkillVersionMetaSchema.parse(detail));
    if (detail.status === "active" && detail.version > (entry.active ?? 0)) entry.active = detail.version;
    index.skills[detail.skill] = entry;
  }
  for (const entry of Object.values(index.skills)) entry.versions.sort((a, b) => a.version - b.version);
  for (const file of await findFiles(paths.runsDir, /^[^/]+\/run\.json$/)) {
    const run = await readPayloadOrWarn(file, RunSchema);
    if (run) index.runs[run.id] = runRow(run);
  }
  return index;
}

/** What an index gets wrong against the index the files on disk make (checkIndex, repairIndex). */
function compareIndex(index: StoreIndex, onDisk: StoreIndex): IndexCheck {
  const keys = (i: StoreIndex): Record<string, Set<string>> => ({
    trajectories: new Set(Object.keys(i.trajectories)),
    analyses: new Set(Object.keys(i.analyses)),
    runs: new Set(Object.keys(i.runs)),
    versions: new Set(Object.entries(i.skills).flatMap(([skill, e]) => e.versions.map((v) => `${skill} v${v.version}`))),
  });
  const listed = keys(index);
  const found = keys(onDisk);
  const check: IndexCheck = { consistent: true, missingFiles: {}, unindexed: {}, differing: {} };
  // Rows whose content says something else than their file (a crash between a file and its row).
  const sameRun = (a: TrajectoryRow, b: TrajectoryRow) =>
    a.success === b.success && (a.judged?.success ?? null) === (b.judged?.success ?? null) && (a.skillVersion ?? null) === (b.skillVersion ?? null) && a.skill === b.skill;
  const runs = Object.keys(index.trajectories).filter((id) => {
    const disk = onDisk.trajectories[id];
    const row = index.trajectories[id];
    return disk && row && !sameRun(row, disk);
  });
  if (runs.length > 0) check.differing.trajectories = runs;
  const statuses = Object.entries(index.skills).flatMap(([skill, e]) =>
    e.versions.flatMap((v) => {
      const disk = onDisk.skills[skill]?.versions.find((d) => d.version === v.version);
      return disk && disk.status !== v.status ? [`${skill} v${v.version} (index: ${v.status}, version.json: ${disk.status})`] : [];
    }),
  );
  if (statuses.length > 0) check.differing.versions = statuses;
  for (const section of Object.keys(listed)) {
    const missing = [...(listed[section] as Set<string>)].filter((k) => !(found[section] as Set<string>).has(k));
    const extra = [...(found[section] as Set<string>)].filter((k) => !(listed[section] as Set<string>).has(k));
    if (missing.length > 0) check.missingFiles[section] = missing;
    if (extra.length > 0) check.unindexed[section] = extra;
  }
  check.consistent =
    Object.keys(check.missingFiles).length === 0 && Object.keys(check.unindexed).length === 0 && Object.keys(check.differing).length === 0;
  return check;
}


async function findFiles(dir: string, relativePattern: RegExp): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return entries
    .map((e) => e.split(path.sep).join("/"))
    .filter((e) => relativePattern.test(e))
    .sort()
    .map((e) => path.join(dir, e));
}

// ---- validation of inputs ----



// ---- skill snapshots ----



/**
 * Writes the whole version into a hidden temp folder, then renames it into place: a version
 * appears complete or not at all, and an existing version folder is never overwritten.
 */
async function writeSnapshot(dir: string, skill: string, entries: SnapshotEntry[], detail: SkillVersionDetail): Promise<void> {
  if (await exists(dir)) {
    // Written but never indexed (a crash between the rename and the index commit): nothing is
    // deleted, and nothing is overwritten. It is set aside, so it no longer blocks every later version.
    const aside = path.join(path.dirname(dir), `.orphan-${path.basename(dir)}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    await rename(dir, aside);
    log.warn("a version folder was on disk but not in the index (an interrupted write); set aside", { from: dir, to: aside });
  }
  const tmp = path.join(path.dirname(dir), `.${path.basename(dir)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  // The files sit in a folder named after the skill, so a snapshot is itself a valid skill folder.
  const filesDir = path.join(tmp, skill);
  const manifest: Manifest = {
    text: entries.filter((e) => !e.binary).map((e) => e.relative).sort(),
    binary: entries.filter((e) => e.binary).map((e) => e.relative).sort(),
  };
  try {
    await mkdir(filesDir, { recursive: true });
    for (const entry of entries) {
      const target = resolveInside(filesDir, entry.relative, "file path");
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, entry.data);
    }
    await writeFile(path.join(tmp, "manifest.json"), toJson(manifest));
    await writeFile(path.join(tmp, "version.json"), toJson(detail));
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function readSnapshot(filesDir: string, name: string, manifest: Manifest): Promise<SkillFolder> {
  const files: Record<string, string> = {};
  const binaries: Record<string, string> = {};
  for (const relative of manifest.text) files[relative] = await readFile(resolveInside(filesDir, relative), "utf8");
  for (const relative of manifest.binary) binaries[relative] = (await readFile(resolveInside(filesDir, relative))).toString("base64");
  return { name, files, binaries };
}

// ---- files ----

function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** Writes `value` atomically; returns the bytes written. */
async function writeJson(file: string, value: unknown): Promise<number> {
  const text = toJson(value);
  await writeFileAtomic(file, text);
  return Buffer.byteLength(text, "utf8");
}

async function readTextOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw corruptPayload(file, `not valid JSON: ${(err as Error).message}`);
  }
}

async function readPayload<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
  const text = await readTextOrNull(file);
  if (text === null) return null;
  const parsed = schema.safeParse(parseJson(text, file));
  if (!parsed.success) throw corruptPayload(file, z.prettifyError(parsed.error));
  return parsed.data;
}

async function readPayloadOrWarn<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
  try {
    return await readPayload(file, schema);
  } catch (err) {
    log.warn("skipped an unreadable file while rebuilding the index", { file, error: (err as Error).message });
    return null;
  }
}

function corruptPayload(file: string, reason: string): StoreCorruptError {
  return new StoreCorruptError(
    `The store file ${file} is damaged (${reason}). Restore it from a backup, or delete it and submit that item again.`,
  );
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
