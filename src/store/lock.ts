import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import lockfile from "proper-lockfile";
import { ConflictError } from "../util/errors.js";
import { log } from "../util/log.js";

/**
 * Exclusive lock on a data directory, across processes AND within one process.
 *
 * proper-lockfile (an atomic mkdir of `<target>.lock`, refreshed while held) serialises
 * processes; a per-target promise queue serialises callers inside this process first, so
 * fifty parallel puts wait in line instead of spinning on the lock directory's backoff.
 */

/**
 * A holder that has not refreshed the lock for this long is considered crashed (10 s;
 * TRACE2SKILL_LOCK_STALE_MS may set it, 2,000 ms at least: proper-lockfile's floor).
 */
export const STALE_LOCK_MS = Math.max(2_000, Number(process.env.TRACE2SKILL_LOCK_STALE_MS) || 10_000);

/** Backoff sized so a waiter outlasts a stale lock (~10 s) with room to spare (~25 s total). */
const RETRIES = { retries: 120, factor: 1.4, minTimeout: 5, maxTimeout: 250, randomize: true };

const queues = new Map<string, Promise<void>>();

/** The lock was taken over while we held it (we were paused past the stale time): our view is stale. */
export class LockLostError extends Error {
  constructor(target: string, why: string) {
    super(`The store lock ${target}.lock was taken over while this process held it (${why}); its work is redone on a fresh view.`);
  }
}

/**
 * What a holder checks before it commits: that the lock is still its own. proper-lockfile's own
 * lock folder says only that someone holds it, so each holder also writes a token beside it
 * (`<target>.owner`); a process that took the lock over as stale writes its own, and the first
 * holder, resumed, sees a token that is not its own and stops before writing from its old view.
 */
export class LockLease {
  private lost: string | null = null;

  constructor(
    readonly target: string,
    private readonly token: string,
  ) {}

  markLost(why: string): void {
    this.lost ??= why;
  }

  async check(): Promise<void> {
    if (this.lost) throw new LockLostError(this.target, this.lost);
    const owner = await readFile(ownerFile(this.target), "utf8").catch(() => "");
    if (owner !== this.token) {
      this.markLost("another process's token is beside the lock");
      throw new LockLostError(this.target, this.lost ?? "");
    }
  }
}

const ownerFile = (target: string) => `${target}.owner`;

export async function withLock<T>(target: string, fn: (lease: LockLease) => Promise<T>): Promise<T> {
  const previous = queues.get(target) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const tail = previous.then(() => mine);
  queues.set(target, tail);
  try {
    await previous;
    return await withProcessLock(target, fn);
  } finally {
    done();
    if (queues.get(target) === tail) queues.delete(target);
  }
}

async function withProcessLock<T>(target: string, fn: (lease: LockLease) => Promise<T>): Promise<T> {
  let lease: LockLease | null = null;
  const release = await acquire(target, (why) => lease?.markLost(why));
  try {
    const token = `${process.pid}-${randomBytes(8).toString("hex")}`;
    await writeFile(ownerFile(target), token);
    lease = new LockLease(target, token);
    return await fn(lease);
  } finally {
    await release().catch((err: unknown) => log.warn("could not release the store lock", { target, error: String(err) }));
  }
}

async function acquire(target: string, onLost: (why: string) => void): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(target, {
      stale: STALE_LOCK_MS,
      realpath: false,
      retries: RETRIES,
      // The default throws from a timer and kills the process. A compromised lock (the
      // process was paused or its event loop stalled past the stale time) is logged, and the
      // lease refuses to commit: the work is redone under a fresh lock.
      onCompromised: (err) => {
        log.warn("store lock compromised (this process was paused past the stale time?); redoing its work", { target, error: err.message });
        onLost(err.message);
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOCKED") {
      throw new ConflictError(
        `The data directory is busy: the lock ${target}.lock stayed held by another trace2skill process. ` +
          `Retry in a moment; if no other trace2skill process is running, delete ${target}.lock.`,
      );
    }
    throw err;
  }
}
