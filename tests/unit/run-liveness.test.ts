import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { CANCEL_REQUEST, HOST, RunTracker, heartbeatMs } from "../../src/evolution/runs.js";
import { openStore } from "../../src/store/file-store.js";
import { run } from "../helpers/store-fixtures.js";

/**
 * Issue 13, item 2: replicas on different machines share runs. A pid means something only on
 * its own machine, so a run of another host is alive while its heartbeat is fresh, and
 * interrupted (resumable anywhere) once it stops; a cancel for it is stored for its host.
 */

it("tells a run of another machine alive by its heartbeat, and asks it, not this process, to stop", async () => {
  const store = await openStore(await mkdtemp(path.join(os.tmpdir(), "t2s-liveness-")));
  const tracker = new RunTracker(store);
  const now = new Date().toISOString();
  const stale = new Date(Date.now() - heartbeatMs() * 10).toISOString();
  await store.putRun({ ...run("run-remote-live"), stage: "analysing", host: "elsewhere#1234", pid: process.pid + 1, heartbeatAt: now });
  await store.putRun({ ...run("run-remote-dead"), stage: "analysing", host: "elsewhere#1234", pid: process.pid + 1, heartbeatAt: stale });
  // The same pid on this machine is a dead process here (pid 2^22 is above Linux's default pid_max).
  await store.putRun({ ...run("run-local-dead"), stage: "analysing", host: HOST, pid: 4_194_304 });
  expect((await tracker.get("run-remote-live"))?.interrupted).toBe(false);
  expect((await tracker.get("run-remote-dead"))?.interrupted).toBe(true);
  expect((await tracker.get("run-local-dead"))?.interrupted).toBe(true);

  expect(await tracker.cancel("run-remote-live")).toBe("requested");
  expect(await store.readRunArtifact("run-remote-live", CANCEL_REQUEST)).toMatchObject({ by: `${HOST}:${process.pid}` });
  expect(await tracker.cancel("run-remote-dead")).toBe("not-running");
  expect(await tracker.cancel("run-none")).toBe("not-running");
  // Waiting on another machine's live run watches the store until the time is up.
  const started = Date.now();
  expect(await tracker.wait("run-remote-live", 600)).toBe(false);
  expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  expect(await tracker.wait("run-remote-dead", 10_000)).toBe(true);
});
