import { open, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import type { SkillVersionMeta } from "../skill/types.js";
import { StoreCorruptError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fsx.js";
import type { Run } from "./run.js";
import type { TrajectoryRow } from "./store.js";
import { LockLostError, type LockLease } from "./lock.js";
import { log } from "../util/log.js";

/**
 * The store index: a lowdb checkpoint (db.json) plus a journal of row upserts (db.journal).
 *
 * Why a journal: lowdb rewrites its whole file on every write, so with rows in db.json a
 * submit would cost O(rows stored) (3 MB rewritten per submit at 10,000 trajectories).
 * Appending one line is O(1); every CHECKPOINT_EVERY ops the journal is folded into db.json
 * (one lowdb write) and emptied, so the amortised cost stays flat.
 *
 * Consistency without a reader lock: each journal line carries a sequence number and the
 * checkpoint records the last one it folded in. A reader reads the journal FIRST and the
 * checkpoint SECOND, then applies only lines newer than the checkpoint: whatever a writer
 * did in between, the reader sees one consistent state. A torn last line (a writer still
 * appending, or one that crashed) is ignored by readers; the next writer ends it with a newline,
 * and readers skip a line that is not JSON. Nothing is ever cut from the journal.
 *
 * Fencing: a writer whose lock was taken over while it was paused (see LockLease) must not
 * write from its old view. Right before appending, it checks that the lock is still its own
 * and that the journal and checkpoint are exactly as it read them; after appending, that its
 * lines sit where it expected. Otherwise it throws LockLostError and the caller redoes the
 * whole mutation under a fresh lock; stray lines it may have appended carry sequence numbers
 * the fresh commit supersedes.
 */

export interface AnalysisRow {
  id: string;
  skill: string;
  baseHash: string;
  trajectoryIds: string[];
  createdAt: string;
}

export interface RunRow {
  id: string;
  skill: string;
  kind: Run["kind"];
  stage: Run["stage"];
  createdAt: string;
  updatedAt: string;
}

export interface SkillEntry {
  active: number | null;
  versions: SkillVersionMeta[];
}

export interface StoreIndex {
  format: 1;
  /** Sequence number of the last journal op folded into this state. */
  seq: number;
  trajectories: Record<string, TrajectoryRow>;
  analyses: Record<string, AnalysisRow>;
  skills: Record<string, SkillEntry>;
  runs: Record<string, RunRow>;
}

export const INDEX_SECTIONS = ["trajectories", "analyses", "skills", "runs"] as const;
export type IndexSection = (typeof INDEX_SECTIONS)[number];

/** Ops kept in the journal before they are folded into db.json. */
export const CHECKPOINT_EVERY = 1_000;

interface JournalOp {
  seq: number;
  section: IndexSection;
  key: string;
  /** The row, or null for a removed one. */
  value: unknown;
}

/** Row upserts made by one mutation; serialised from the index at commit, so later edits count. */
export class IndexTransaction {
  readonly touched = new Map<string, { section: IndexSection; key: string }>();

  constructor(private readonly index: StoreIndex) {}

  set<S extends IndexSection>(section: S, key: string, value: StoreIndex[S][string]): void {
    (this.index[section] as Record<string, unknown>)[key] = value;
    this.touched.set(`${section}\0${key}`, { section, key });
  }

  /** Removes a row; journalled as a null value. */
  delete(section: IndexSection, key: string): void {
    delete (this.index[section] as Record<string, unknown>)[key];
    this.touched.set(`${section}\0${key}`, { section, key });
  }
}

interface Cached {
  index: StoreIndex;
  checkpointKey: string;
  /** `seq` of db.json as read or written: the journal holds the ops after it. */
  checkpointSeq: number;
  journalIno: number | null;
  /** Bytes of the journal already applied (always at a line boundary). */
  offset: number;
}

export function emptyIndex(): StoreIndex {
  return { format: 1, seq: 0, trajectories: {}, analyses: {}, skills: {}, runs: {} };
}

export class IndexFiles {
  private readonly db: Low<StoreIndex>;
  private cached: Cached | null = null;

  constructor(
    readonly checkpointFile: string,
    readonly journalFile: string,
    private readonly corrupt: (file: string, reason: string) => StoreCorruptError,
  ) {
    // Built explicitly: lowdb's presets swap in a memory adapter under NODE_ENV=test.
    this.db = new Low<StoreIndex>(new JSONFile<StoreIndex>(checkpointFile), emptyIndex());
  }

  /**
   * The current index, or null when db.json does not exist. Lock-free; callers must not
   * mutate what it returns (it is shared with later reads while the files are unchanged).
   */
  async read(): Promise<StoreIndex | null> {
    const cached = (this.cached && (await this.readNewOps(this.cached))) ?? (await this.readAll());
    return cached?.index ?? null;
  }

  /**
   * Re-reads the index, runs `fn` on it and commits its upserts; a missing db.json is first
   * replaced by `rebuild()`. The caller holds the data-dir lock. On any failure the
   * in-memory copy is dropped, so nothing half-done is served afterwards.
   */
  async update<T>(
    fn: (index: StoreIndex, tx: IndexTransaction) => Promise<T>,
    rebuild: () => Promise<StoreIndex>,
    lease?: LockLease,
  ): Promise<T> {
    try {
      let cached = (this.cached && (await this.readNewOps(this.cached))) ?? (await this.readAll());
      if (!cached) {
        await this.replace(await rebuild());
        cached = await this.readAll();
      }
      if (!cached) throw this.corrupt(this.checkpointFile, "it disappeared while the store was rebuilding it");
      const tx = new IndexTransaction(cached.index);
      const result = await fn(cached.index, tx);
      await this.commit(cached, tx, lease);
      return result;
    } catch (err) {
      this.cached = null;
      throw err;
    }
  }

  /**
   * Replaces the whole index (after a rebuild from files). Lock held. The journal is emptied
   * first: a crash before the checkpoint lands leaves db.json missing, so it is rebuilt again
   * rather than stale journal ops being replayed onto the new index.
   */
  async replace(index: StoreIndex): Promise<void> {
    this.cached = null;
    await writeFileAtomic(this.journalFile, "");
    this.db.data = index;
    await this.db.write();
  }

  private async commit(cached: Cached, tx: IndexTransaction, lease?: LockLease): Promise<void> {
    if (tx.touched.size === 0) return;
    const { index } = cached;
    const lines: string[] = [];
    for (const { section, key } of tx.touched.values()) {
      index.seq += 1;
      const op: JournalOp = { seq: index.seq, section, key, value: Object.hasOwn(index[section], key) ? index[section][key] : null };
      lines.push(JSON.stringify(op) + "\n");
    }
    // Fence: the lock is still ours and the files are as we read them (nobody committed meanwhile).
    await lease?.check();
    const before = await this.unchangedSince(cached);
    // Bytes past `offset` with no newline are the torn tail of a crashed writer: end that line
    // (readers skip it) rather than cutting anything from the journal.
    const text = (before.tornTail ? "\n" : "") + lines.join("");
    const bytes = Buffer.from(text, "utf8");
    const start = before.size;
    const handle = await open(this.journalFile, "a");
    try {
      const { bytesWritten } = await handle.write(bytes, 0, bytes.length);
      if (bytesWritten !== bytes.length) throw new Error(`short append to ${this.journalFile}: ${bytesWritten} of ${bytes.length} bytes`);
      await handle.sync();
      cached.journalIno = (await handle.stat()).ino;
    } finally {
      await handle.close();
    }
    // Our lines must sit where we expected: if another writer appended first, redo on a fresh view.
    if (!(await this.holdsAt(start, bytes))) throw new LockLostError(lease?.target ?? this.journalFile, "another writer appended to the journal at the same time");
    // Absolute, not +=: an in-process reader may already have moved past these lines.
    cached.offset = start + bytes.length;
    if (index.seq - cached.checkpointSeq >= CHECKPOINT_EVERY) await this.fold(index, lease);
  }

  /** The journal and checkpoint as `cached` read them, or LockLostError; says whether a torn tail follows. */
  private async unchangedSince(cached: Cached): Promise<{ size: number; tornTail: boolean }> {
    const [journal, checkpoint] = await Promise.all([statOrNull(this.journalFile), statOrNull(this.checkpointFile)]);
    const stale = (why: string) => new LockLostError(this.journalFile, why);
    if (!checkpoint || statKey(checkpoint) !== cached.checkpointKey) throw stale("the checkpoint changed since it was read");
    const size = journal?.size ?? 0;
    if (journal && cached.journalIno !== null && journal.ino !== cached.journalIno) throw stale("the journal was folded since it was read");
    if (size < cached.offset) throw stale("the journal is shorter than when it was read");
    if (size === cached.offset) return { size, tornTail: false };
    const tail = await this.readRange(cached.offset, size - cached.offset);
    if (tail.includes(0x0a)) throw stale("another writer committed since it was read");
    return { size, tornTail: true };
  }

  private async holdsAt(start: number, bytes: Buffer): Promise<boolean> {
    const found = await this.readRange(start, bytes.length);
    return found.equals(bytes);
  }

  private async readRange(start: number, length: number): Promise<Buffer> {
    const handle = await open(this.journalFile, "r");
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  /**
   * Folds the journal into db.json: checkpoint first, then empty the journal (a crash between is
   * harmless). The journal is emptied only if nobody appended after our lines meanwhile: their
   * ops carry higher sequence numbers than the checkpoint, so they stay valid on top of it.
   */
  private async fold(index: StoreIndex, lease?: LockLease): Promise<void> {
    await lease?.check();
    this.db.data = index;
    await this.db.write();
    const cachedOffset = this.cached?.offset;
    const journalNow = await statOrNull(this.journalFile);
    if (cachedOffset !== undefined && journalNow && journalNow.size !== cachedOffset) {
      log.warn("the journal grew while folding it (the lock was taken over?); it is kept and folded later", { journal: this.journalFile });
      this.cached = null;
      return;
    }
    await lease?.check();
    await writeFileAtomic(this.journalFile, "");
    const [checkpoint, journal] = await Promise.all([stat(this.checkpointFile), stat(this.journalFile)]);
    this.cached = { index, checkpointKey: statKey(checkpoint), checkpointSeq: index.seq, journalIno: journal.ino, offset: 0 };
  }

  /** Journal first, checkpoint second (see the module comment). */
  private async readAll(): Promise<Cached | null> {
    const journal = await this.readJournalFrom(null, 0);
    const checkpointStat = await statOrNull(this.checkpointFile);
    const index = await this.readCheckpoint();
    if (!index || !checkpointStat) return null;
    const checkpointSeq = index.seq;
    applyOps(index, journal.ops);
    this.cached = { index, checkpointKey: statKey(checkpointStat), checkpointSeq, journalIno: journal.ino, offset: journal.end };
    return this.cached;
  }

  /** Applies only what was appended since `cached`; null when the checkpoint or journal file was replaced. */
  private async readNewOps(cached: Cached): Promise<Cached | null> {
    const journal = await this.readJournalFrom(cached.journalIno, cached.offset);
    if (journal.replaced) return null;
    const checkpoint = await statOrNull(this.checkpointFile);
    if (!checkpoint || statKey(checkpoint) !== cached.checkpointKey) return null;
    applyOps(cached.index, journal.ops);
    cached.offset = journal.end;
    return cached;
  }

  private async readCheckpoint(): Promise<StoreIndex | null> {
    let data: unknown;
    try {
      data = await this.db.adapter.read();
    } catch (err) {
      throw this.corrupt(this.checkpointFile, err instanceof SyntaxError ? `not valid JSON: ${err.message}` : String(err));
    }
    if (data === null) return null;
    const problem = indexProblem(data);
    if (problem) throw this.corrupt(this.checkpointFile, problem);
    return data as StoreIndex;
  }

  /**
   * Reads the complete journal lines from `offset`. With `expectedIno`, reports `replaced`
   * when the journal is another file now (it was folded and emptied since).
   */
  private async readJournalFrom(
    expectedIno: number | null,
    offset: number,
  ): Promise<{ ops: JournalOp[]; ino: number | null; end: number; replaced: boolean }> {
    let handle;
    try {
      handle = await open(this.journalFile, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      return { ops: [], ino: null, end: 0, replaced: expectedIno !== null };
    }
    try {
      const info = await handle.stat();
      if ((expectedIno !== null && info.ino !== expectedIno) || info.size < offset) {
        return { ops: [], ino: info.ino, end: 0, replaced: true };
      }
      const buffer = Buffer.alloc(info.size - offset);
      if (buffer.length > 0) await handle.read(buffer, 0, buffer.length, offset);
      // Only whole lines count: a last line without its newline is still being written (or torn).
      const complete = buffer.subarray(0, buffer.lastIndexOf(0x0a) + 1);
      const lines = complete.toString("utf8").split("\n").filter((line) => line.length > 0);
      const ops = lines.map((line) => this.parseOp(line)).filter((op): op is JournalOp => op !== null);
      return { ops, ino: info.ino, end: offset + complete.length, replaced: false };
    } finally {
      await handle.close();
    }
  }

  /** A line that is not JSON is a torn write (a writer crashed or was cut off mid-line): skipped. */
  private parseOp(line: string): JournalOp | null {
    let op: unknown;
    try {
      op = JSON.parse(line);
    } catch {
      log.debug("skipped a torn journal line", { journal: this.journalFile, line: line.slice(0, 80) });
      return null;
    }
    const candidate = op as Partial<JournalOp>;
    if (
      typeof candidate.seq !== "number" ||
      typeof candidate.key !== "string" ||
      !INDEX_SECTIONS.includes(candidate.section as IndexSection) ||
      candidate.value === undefined
    ) {
      throw this.corrupt(this.journalFile, `a line is not an index op: ${line.slice(0, 80)}`);
    }
    return candidate as JournalOp;
  }
}

/** Ops at or below the state's seq are already in it (the checkpoint folded them). */
function applyOps(index: StoreIndex, ops: JournalOp[]): void {
  for (const op of ops) {
    if (op.seq <= index.seq) continue;
    if (op.value === null) delete (index[op.section] as Record<string, unknown>)[op.key];
    else (index[op.section] as Record<string, unknown>)[op.key] = op.value;
    index.seq = op.seq;
  }
}

function indexProblem(data: unknown): string | null {
  if (!isPlainObject(data)) return "the top level is not a JSON object";
  for (const section of INDEX_SECTIONS) {
    if (!isPlainObject(data[section])) return `"${section}" is missing or not an object`;
  }
  if (typeof data.seq !== "number") return `"seq" is missing or not a number`;
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** db.json is only ever replaced by rename: a new inode or mtime means new content. */
function statKey(s: Stats): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}
