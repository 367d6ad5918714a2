/**
 * Child process for the multi-process store test:
 *   node --import tsx tests/helpers/store-worker.ts <dataDir|postgres://…> <count> <seed> [batch]
 * Opens the shared data dir (or PostgreSQL database), puts <count> distinct trajectories
 * concurrently (one putTrajectory each, or putTrajectories batches of [batch]), and prints
 * their ids as a JSON array on stdout; with seed "same" every worker puts the same runs and
 * prints [id, created] pairs.
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openStoreAt } from "../../src/store/open.js";
import { finaliseTrajectory, TrajectoryDraftSchema } from "../../src/trajectory/schema.js";

const [dataDir, countText, seed, batchText] = process.argv.slice(2);
if (!dataDir || !countText || !seed) {
  process.stderr.write("usage: store-worker.ts <dataDir> <count> <seed>\n");
  process.exit(2);
}

const store = dataDir.startsWith("postgres")
  ? await openStoreAt(await mkdtemp(path.join(os.tmpdir(), "t2s-pg-worker-")), dataDir)
  : await openStoreAt(dataDir);
const trajectories = Array.from({ length: Number(countText) }, (_, i) =>
  finaliseTrajectory(
    TrajectoryDraftSchema.parse({
      skill: "airline",
      task: `worker ${seed} task ${i}`,
      outcome: { success: i % 3 === 0 ? null : i % 2 === 0 },
      steps: [
        { role: "user", text: `worker ${seed} task ${i}` },
        { role: "assistant", text: "done" },
      ],
    }),
  ),
);
const batch = batchText ? Number(batchText) : 0;
const results =
  batch > 0
    ? (
        await Promise.all(
          Array.from({ length: Math.ceil(trajectories.length / batch) }, (_, i) =>
            store.putTrajectories(trajectories.slice(i * batch, (i + 1) * batch)),
          ),
        )
      ).flat()
    : await Promise.all(trajectories.map((t) => store.putTrajectory(t)));
process.stdout.write(JSON.stringify(seed === "same" ? results.map((r) => [r.id, r.created]) : results.map((r) => r.id)) + "\n");
