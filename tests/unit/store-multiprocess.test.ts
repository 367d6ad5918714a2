import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openStore } from "../../src/store/file-store.js";
import { CHECKPOINT_EVERY } from "../../src/store/index-journal.js";
import { runStoreWorker } from "../helpers/processes.js";


let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-store-mp-"));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const runWorker = (count: number, seed: number, batch?: number) => runStoreWorker(dataDir, count, seed, batch) as Promise<string[]>;

it("4 processes putting 25 trajectories each into one data dir lose nothing", async () => {
  const perWorker = await Promise.all([1, 2, 3, 4].map((seed) => runWorker(25, seed)));
  const submitted = perWorker.flat();
  expect(new Set(submitted).size).toBe(100);

  const store = await openStore(dataDir);
  const listed = (await store.listTrajectories()).map((row) => row.id);
  expect(new Set(listed)).toEqual(new Set(submitted));
  expect(listed).toHaveLength(100);
  const read = await Promise.all(submitted.map((id) => store.getTrajectory(id)));
  expect(read.map((t) => t?.id)).toEqual(submitted);
}, 60_000);

it("processes writing batches across several journal folds lose nothing", async () => {
  const perWorker = 600;
  const perWorkerIds = await Promise.all([1, 2, 3, 4].map((seed) => runWorker(perWorker, seed, 150)));
  const submitted = perWorkerIds.flat();
  expect(submitted.length).toBeGreaterThan(2 * CHECKPOINT_EVERY);

  const store = await openStore(dataDir);
  const listed = (await store.listTrajectories()).map((row) => row.id);
  expect(listed).toHaveLength(submitted.length);
  expect(new Set(listed)).toEqual(new Set(submitted));
}, 120_000);
