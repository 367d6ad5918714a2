/**
 * The store under a paused lock holder and a killed writer (issue 11, items 1 and 8):
 *   node --import tsx bench/store-pause-kill.ts [--trials 20] [--stale-ms 2000] [--pause-ms 3500]
 *
 * Pause trials: writer A ingests runs in batches of 50; it is stopped (SIGSTOP) at a moment it
 * holds the lock, for longer than the stale time; writer B takes the lock over and ingests
 * while A is stopped; then A is resumed (SIGCONT). Kill trials: a writer is killed (SIGKILL) at
 * a random moment of its ingest. After each trial the store is opened afresh and every
 * acknowledged run must be listed and readable, and the index must match the files on disk.
 * The stale time is shortened with TRACE2SKILL_LOCK_STALE_MS (2,000 ms at least) so a trial
 * takes seconds; the mechanism is the same at the default 10 s.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { openStore } from "../src/store/file-store.js";
import { startPauseWorker } from "../tests/helpers/processes.js";

const { values } = parseArgs({
  options: { trials: { type: "string", default: "20" }, "stale-ms": { type: "string", default: "2000" }, "pause-ms": { type: "string", default: "3500" } },
});
const TRIALS = Number(values.trials);
const STALE_MS = Number(values["stale-ms"]);
const PAUSE_MS = Number(values["pause-ms"]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const exists = (p: string) => stat(p).then(() => true, () => false);

const start = (dataDir: string, count: number, seed: number) => startPauseWorker(dataDir, count, seed, STALE_MS, { TRACE2SKILL_LOG: "error" });

async function verify(dataDir: string, acked: string[]): Promise<{ missing: number; consistent: boolean; tmp: number }> {
  const store = await openStore(dataDir);
  const listed = new Set((await store.listTrajectories()).map((r) => r.id));
  let missing = 0;
  for (const id of acked) if (!listed.has(id) || !(await store.getTrajectory(id))) missing++;
  const check = await store.checkIndex();
  const tmp = (await readdir(dataDir, { recursive: true })).filter((f) => f.endsWith(".tmp")).length;
  return { missing, consistent: check.consistent, tmp };
}

async function pauseTrial(trial: number): Promise<{ acked: number; missing: number; consistent: boolean; stoppedInLock: boolean }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-bench-pause-"));
  try {
    const a = start(dataDir, 400, trial * 2 + 1);
    while (a.acked.length < 50) await sleep(5);
    const lockDir = path.join(dataDir, ".lock.lock");
    let stoppedInLock = false;
    for (let tries = 0; tries < 5000 && !stoppedInLock; tries++) {
      if (await exists(lockDir)) {
        a.child.kill("SIGSTOP");
        if (await exists(lockDir)) stoppedInLock = true;
        else a.child.kill("SIGCONT");
      }
      if (!stoppedInLock) await sleep(1);
    }
    const b = start(dataDir, 400, trial * 2 + 2);
    await sleep(PAUSE_MS);
    a.child.kill("SIGCONT");
    await Promise.all([a.done, b.done]);
    const acked = [...a.acked, ...b.acked];
    return { acked: acked.length, ...(await verify(dataDir, acked)), stoppedInLock };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function killTrial(trial: number): Promise<{ acked: number; missing: number; consistent: boolean; tmp: number }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-bench-kill-"));
  try {
    const a = start(dataDir, 400, 1000 + trial);
    const b = start(dataDir, 400, 2000 + trial);
    while (a.acked.length < 50) await sleep(5);
    await sleep(Math.floor(Math.random() * 200));
    a.child.kill("SIGKILL");
    await Promise.all([a.done, b.done]);
    const acked = [...a.acked, ...b.acked];
    return { acked: acked.length, ...(await verify(dataDir, acked)) };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

console.log(`pause trials: ${TRIALS}, stale time ${STALE_MS} ms, pause ${PAUSE_MS} ms (writer stopped while holding the lock)`);
let pauseLost = 0;
let pauseBad = 0;
for (let t = 0; t < TRIALS; t++) {
  const r = await pauseTrial(t);
  pauseLost += r.missing;
  if (!r.consistent) pauseBad++;
  console.log(`  pause ${String(t + 1).padStart(2)}: ${r.acked} acknowledged, ${r.missing} missing, index ${r.consistent ? "matches" : "DOES NOT match"} the files${r.stoppedInLock ? "" : " (not stopped inside the lock)"}`);
}
console.log(`kill trials: ${TRIALS} (one of two writers SIGKILLed mid-ingest)`);
let killLost = 0;
let killBad = 0;
for (let t = 0; t < TRIALS; t++) {
  const r = await killTrial(t);
  killLost += r.missing;
  if (!r.consistent) killBad++;
  console.log(`  kill ${String(t + 1).padStart(2)}: ${r.acked} acknowledged, ${r.missing} missing, index ${r.consistent ? "matches" : "DOES NOT match"} the files, ${r.tmp} temp file(s) left after reopening`);
}
console.log(`result: pause ${pauseLost} run(s) lost, ${pauseBad} inconsistent store(s); kill ${killLost} lost, ${killBad} inconsistent`);
