/**
 * Child process for the paused-lock-holder test (issue 11, item 1):
 *   node --import tsx tests/helpers/store-pause-worker.ts <dataDir> <count> <seed> <batch>
 * Puts <count> distinct trajectories in sequential batches of <batch>, printing each id on its
 * own line as soon as its batch is acknowledged. The test stops (SIGSTOP) and resumes
 * (SIGCONT) it at a random moment, usually while it holds the store's lock.
 */
import { openStore } from "../../src/store/file-store.js";
import { finaliseTrajectory, TrajectoryDraftSchema } from "../../src/trajectory/schema.js";

const [dataDir, countText, seed, batchText] = process.argv.slice(2);
if (!dataDir || !countText || !seed || !batchText) {
  process.stderr.write("usage: store-pause-worker.ts <dataDir> <count> <seed> <batch>\n");
  process.exit(2);
}
const store = await openStore(dataDir);
const count = Number(countText);
const batch = Number(batchText);
for (let start = 0; start < count; start += batch) {
  const ts = Array.from({ length: Math.min(batch, count - start) }, (_, k) =>
    finaliseTrajectory(
      TrajectoryDraftSchema.parse({
        skill: "airline",
        task: `pause worker ${seed} task ${start + k}`,
        outcome: { success: (start + k) % 2 === 0 },
        steps: [
          { role: "user", text: `pause worker ${seed} task ${start + k} ${"x".repeat(2000)}` },
          { role: "assistant", text: "done" },
        ],
      }),
    ),
  );
  const results = await store.putTrajectories(ts);
  process.stdout.write(results.map((r) => r.id).join("\n") + "\n");
}
