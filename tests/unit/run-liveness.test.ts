import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { Engine } from "../../src/engine.js";
import { CANCEL_REQUEST, HOST, RunTracker, aliveElsewhere, heartbeatMs } from "../../src/evolution/runs.js";
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

it("refuses to resume a run another machine still beats for, and lets only one of two resumes claim a dead one (review, session 4)", async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-liveness-claim-"));
  const engine = await Engine.open({ dataDir, skillsDir: path.join(dataDir, "export") });
  const fresh = new Date().toISOString();
  const stale = new Date(Date.now() - heartbeatMs() * 10).toISOString();
  const record = (id: string, heartbeatAt: string) => ({ ...run(id), skill: "airline", stage: "analysing" as const, host: "elsewhere#1234", pid: 1, heartbeatAt, config: { fanIn: 5, minSupport: 2 } });
  await engine.store.putRun(record("run-beating", fresh));
  await expect(engine.evolution.startEvolve({ skill: "airline", resumeRunId: "run-beating" }, { surface: "cli" })).rejects.toThrow(/still running in another server process \(on elsewhere\)/);
  expect((await engine.store.getRun("run-beating"))?.host).toBe("elsewhere#1234");
  // Two replicas resuming a dead run at once: the store's claim lets exactly one through.
  await engine.store.putRun(record("run-dead", stale));
  const claim = (store: typeof engine.store) =>
    store.claimRun("run-dead", async (current) => {
      if (aliveElsewhere(current)) throw new Error("taken");
      return { ...current, host: `replica-${Math.random()}`, pid: 1, heartbeatAt: new Date().toISOString() };
    });
  const other = await openStore(dataDir);
  const results = await Promise.allSettled([claim(engine.store), claim(other)]);
  expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
});

it("does not act on a cancel request made before the run was (re)started (review, session 4)", async () => {
  process.env.TRACE2SKILL_RUN_HEARTBEAT_MS = "100";
  try {
    const store = await openStore(await mkdtemp(path.join(os.tmpdir(), "t2s-liveness-cancel-")));
    const tracker = new RunTracker(store);
    await store.putRun(run("run-again"));
    await store.writeRunArtifact("run-again", CANCEL_REQUEST, { at: new Date(Date.now() - 60_000).toISOString(), by: "earlier" });
    let stopped = false;
    const handle = await tracker.start(run("run-again"), async (h) => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      stopped = h.signal.aborted;
      return {};
    });
    await tracker.wait(handle.id, Infinity);
    expect(stopped).toBe(false);
    expect((await store.getRun("run-again"))?.stage).toBe("done");
  } finally {
    delete process.env.TRACE2SKILL_RUN_HEARTBEAT_MS;
  }
});
