import { readFileSync } from "node:fs";
import os from "node:os";
import { pidAlive } from "../util/pid.js";
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { Usage } from "../llm/usage.js";
import { ForwardProgress, type ProgressState } from "./progress.js";
import type { Run, RunStage } from "../store/run.js";
import type { Store } from "../store/store.js";
import { errorMessage } from "../util/errors.js";
import { log } from "../util/log.js";

const TERMINAL: ReadonlySet<RunStage> = new Set(["done", "failed", "cancelled"]);
/** Progress is persisted at most this often (every stage change is persisted at once). */
const PERSIST_EVERY_MS = 500;
/**
 * A live run writes a heartbeat this often, and looks for a cancel request from another
 * process (another replica on the same store). A run on another machine whose heartbeat is
 * older than six heartbeats is taken for interrupted. `TRACE2SKILL_RUN_HEARTBEAT_MS` sets it (default 5 s).
 */
export function heartbeatMs(): number {
  return Math.max(100, Number(process.env.TRACE2SKILL_RUN_HEARTBEAT_MS) || 5_000);
}
/** How often a wait on a run of another process looks at the store. */
const REMOTE_POLL_MS = 250;
/** The artefact another process writes to ask the process running a run to stop it. */
export const CANCEL_REQUEST = "cancel-request";

export function isTerminal(stage: RunStage): boolean {
  return TERMINAL.has(stage);
}

export function newRunId(kind: Run["kind"]): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return `${kind}-${stamp}-${randomBytes(3).toString("hex")}`;
}

export { pidAlive };

/** This machine, as runs record it: a pid is only meaningful on the machine that issued it. */
export const HOST = hostId();

function hostId(): string {
  let boot = "";
  try {
    boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().slice(0, 8);
  } catch {
    // Not Linux: the host name alone.
  }
  return boot ? `${os.hostname()}#${boot}` : os.hostname();
}

/** Whether the process that ran a run (not this one) still does: by pid on this machine, by heartbeat on another. */
export function aliveElsewhere(run: Run): boolean {
  if (run.host !== undefined && run.host !== HOST) {
    const beat = Date.parse(run.heartbeatAt ?? run.updatedAt);
    return Number.isFinite(beat) && Date.now() - beat < heartbeatMs() * 6;
  }
  // This process may hold several engines (tests, embedders): its own runs are known by id.
  if (run.pid === process.pid) return RUNNING_HERE.has(run.id);
  return pidAlive(run.pid);
}

/** Runs live in this process, whichever RunTracker started them. */
const RUNNING_HERE = new Set<string>();

/** Handle a running stage uses to report progress; persisted so any process can poll it. */
export class RunHandle {
  private lastPersist = 0;
  private pending: Promise<void> = Promise.resolve();
  private readonly meter: ForwardProgress;
  private readonly listeners = new Set<(p: ProgressState) => void>();

  constructor(
    private readonly store: Store,
    public run: Run,
    readonly signal: AbortSignal,
  ) {
    this.meter = new ForwardProgress(run.progress);
  }

  get id(): string {
    return this.run.id;
  }

  /** Told each time the run's progress goes forward (never with a value it sent before). */
  onProgress(listener: (p: ProgressState) => void): void {
    this.listeners.add(listener);
  }

  /** Fix the run's one total (a resumed run keeps the total of its first start). */
  plan(total: number): void {
    this.meter.plan(total);
    this.run = { ...this.run, progress: this.meter.current };
  }

  /** A new stage: its name and message change, the progress value stays where it is. */
  stage(stage: RunStage, message: string): Promise<void> {
    this.meter.advance(this.meter.current.done, message);
    this.run = { ...this.run, stage, progress: this.meter.current };
    return this.persist(true);
  }

  /** Progress in the run's one range; a value that would go back is kept where it was. */
  progress(done: number, message: string): Promise<void> {
    const moved = this.meter.advance(done, message);
    this.run = { ...this.run, progress: this.meter.current };
    if (moved) this.notify();
    return this.persist(false);
  }

  /** The run produced its result: progress is full. */
  complete(message: string): Promise<void> {
    if (this.meter.complete(message)) this.notify();
    this.run = { ...this.run, progress: this.meter.current };
    return this.persist(true);
  }

  private notify(): void {
    for (const listener of this.listeners) listener(this.meter.current);
  }

  usage(usage: Usage): void {
    this.run = { ...this.run, usage };
  }

  /** Record a problem that did not stop the run (e.g. some analyses failed). */
  warn(message: string): void {
    this.run = { ...this.run, errors: [...this.run.errors, message] };
  }

  finish(patch: Partial<Run>): Promise<void> {
    this.run = { ...this.run, ...patch };
    return this.persist(true);
  }

  /** A sign of life for other processes polling the run. */
  heartbeat(): Promise<void> {
    return this.persist(true);
  }

  private persist(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastPersist < PERSIST_EVERY_MS) return this.pending;
    this.lastPersist = now;
    const stamp = new Date().toISOString();
    const snapshot: Run = { ...this.run, updatedAt: stamp, heartbeatAt: stamp, pid: process.pid, host: HOST };
    // Writes are chained so an older snapshot never lands after a newer one.
    this.pending = this.pending
      .then(() => this.store.putRun(snapshot))
      .catch((err: unknown) => log.warn("could not persist run progress", { runId: snapshot.id, error: errorMessage(err) }));
    return this.pending;
  }
}

/**
 * Runs of this process. A run outlives the tool call that started it: the call may return
 * while the run goes on, and any process polls it through the store. A run whose process
 * died is reported as interrupted, and can be resumed from its saved checkpoints.
 */
export class RunTracker {
  private readonly live = new Map<string, { handle: RunHandle; controller: AbortController; done: Promise<void> }>();

  constructor(private readonly store: Store) {}

  async start(run: Run, work: (handle: RunHandle) => Promise<Partial<Run>>, parentSignal?: AbortSignal): Promise<RunHandle> {
    const controller = new AbortController();
    // Every queued model call listens on the run's signal: many listeners are expected here.
    setMaxListeners(0, controller.signal);
    const handle = new RunHandle(this.store, run, controller.signal);
    const startedAt = new Date().toISOString();
    await handle.stage(run.stage, run.progress.message);
    // Heartbeat, and a cancel asked for by another process on the same store.
    const beat = setInterval(() => {
      void (async () => {
        const request = await this.store.readRunArtifact<{ at: string }>(run.id, CANCEL_REQUEST).catch(() => null);
        // A request made before this start (of an earlier start of a resumed run) is done with.
        if (request && request.at >= startedAt && !controller.signal.aborted) controller.abort(new Error("cancelled"));
        else await handle.heartbeat();
      })();
    }, heartbeatMs());
    beat.unref();
    const done = work(handle)
      .then((patch) => handle.finish({ stage: "done", ...patch }))
      .catch(async (err: unknown) => {
        const cancelled = controller.signal.aborted;
        await handle.finish({
          stage: cancelled ? "cancelled" : "failed",
          errors: [...handle.run.errors, cancelled ? "cancelled" : errorMessage(err)],
        });
      })
      .finally(() => {
        clearInterval(beat);
        this.live.delete(run.id);
        RUNNING_HERE.delete(run.id);
      });
    this.live.set(run.id, { handle, controller, done });
    RUNNING_HERE.add(run.id);
    parentSignal?.addEventListener("abort", () => controller.abort(parentSignal.reason), { once: true });
    return handle;
  }

  /**
   * Wait for a run up to `ms` (Infinity: until it ends); true when it has finished. A run of
   * another process (another replica on the same store) is watched through the store.
   */
  async wait(runId: string, ms: number): Promise<boolean> {
    const entry = this.live.get(runId);
    if (!entry) return this.waitRemote(runId, ms);
    if (!Number.isFinite(ms)) {
      await entry.done;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const finished = await Promise.race([entry.done.then(() => true as const), timeout]);
    clearTimeout(timer);
    return finished;
  }

  private async waitRemote(runId: string, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      const run = await this.get(runId);
      if (!run || isTerminal(run.stage) || run.interrupted) return true;
      if (Date.now() >= until) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(REMOTE_POLL_MS, Math.max(0, until - Date.now()))));
    }
  }

  /**
   * Stop a run: at once when this process runs it; when another process does (another replica
   * on the same store), a cancel request is stored, which that process acts on at its next
   * heartbeat. "not-running": the run is finished, interrupted or unknown.
   */
  async cancel(runId: string): Promise<"cancelled" | "requested" | "not-running"> {
    const entry = this.live.get(runId);
    if (entry) {
      entry.controller.abort(new Error("cancelled"));
      return "cancelled";
    }
    const run = await this.get(runId);
    if (!run || isTerminal(run.stage) || run.interrupted) return "not-running";
    await this.store.writeRunArtifact(runId, CANCEL_REQUEST, { at: new Date().toISOString(), by: `${HOST}:${process.pid}` });
    return "requested";
  }

  /** The stored run, with runs whose process is gone reported as interrupted. */
  async get(runId: string): Promise<(Run & { interrupted: boolean }) | null> {
    const run = this.live.get(runId)?.handle.run ?? (await this.store.getRun(runId));
    if (!run) return null;
    const orphan = !isTerminal(run.stage) && !this.live.has(runId) && !aliveElsewhere(run);
    return { ...run, interrupted: orphan };
  }

  isLive(runId: string): boolean {
    return this.live.has(runId);
  }

  async drain(): Promise<void> {
    await Promise.all([...this.live.values()].map((e) => e.done));
  }
}
