import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openStore } from "../../src/store/file-store.js";
import { startPauseWorker } from "../helpers/processes.js";

/**
 * Issue 11, item 1: a process paused while it holds the store's lock (Ctrl-Z, a debugger, a
 * laptop asleep) for longer than the stale time loses its lock to another process; when it
 * resumes it must not write from its old view. Two writers, one stopped mid-ingest for longer
 * than the stale time (4 s here; 10 s by default): every acknowledged run is
 * in the index and readable, and the store opens.
 */

// Short for a quick test, long enough that a busy CI machine does not see a live holder as stale.
const STALE_MS = 4000;

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-store-pause-"));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const start = (count: number, seed: number) => startPauseWorker(dataDir, count, seed, STALE_MS);

const exists = (p: string) => stat(p).then(() => true, () => false);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it("a writer stopped past the stale time while holding the lock loses nothing and corrupts nothing", async () => {
  const lockDir = path.join(dataDir, ".lock.lock");
  let stoppedInside = 0;
  for (let trial = 0; trial < 2; trial++) {
    const paused = start(400, trial * 2 + 1);
    // Stop it at a moment it holds the lock (its lock folder exists and nobody else writes).
    while (paused.acked.length < 20) await sleep(5);
    for (;;) {
      if (await exists(lockDir)) {
        paused.child.kill("SIGSTOP");
        if (await exists(lockDir)) break;
        paused.child.kill("SIGCONT");
      }
      await sleep(1);
    }
    stoppedInside++;
    // Another writer takes the lock once it is stale, and writes while the first is stopped.
    const other = start(400, trial * 2 + 2);
    while (other.acked.length < 100) await sleep(20);
    paused.child.kill("SIGCONT");
    const codes = await Promise.all([paused.done, other.done]);
    expect(codes, `${paused.stderr()}\n${other.stderr()}`).toEqual([0, 0]);

    const store = await openStore(dataDir);
    const listed = new Set((await store.listTrajectories()).map((r) => r.id));
    const acked = [...paused.acked, ...other.acked];
    expect(acked.length).toBe(800);
    const missing = acked.filter((id) => !listed.has(id));
    expect(missing, `trial ${trial}: acknowledged runs missing from the index`).toEqual([]);
    for (const id of acked.slice(0, 50)) expect((await store.getTrajectory(id))?.id).toBe(id);
  }
  expect(stoppedInside).toBe(2);
}, 120_000);
