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

export function isTerminal(stage: RunStage): boolean {
  return TERMINAL.has(stage);
}

export function newRunId(kind: Run["kind"]): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return `${kind}-${stamp}-${randomBytes(3).toString("hex")}`;
}

export { pidAlive };

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

  private persist(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastPersist < PERSIST_EVERY_MS) return this.pending;
    this.lastPersist = now;
    const snapshot: Run = { ...this.run, updatedAt: new Date().toISOString(), pid: process.pid };
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
    await handle.stage(run.stage, run.progress.message);
    const done = work(handle)
      .then((patch) => handle.finish({ stage: "done", ...patch }))
      .catch(async (err: unknown) => {
        const cancelled = controller.signal.aborted;
        await handle.finish({
          stage: cancelled ? "cancelled" : "failed",
          errors: [...handle.run.errors, cancelled ? "cancelled" : errorMessage(err)],
        });
      })
      .finally(() => this.live.delete(run.id));
    this.live.set(run.id, { handle, controller, done });
    parentSignal?.addEventListener("abort", () => controller.abort(parentSignal.reason), { once: true });
    return handle;
  }

  /** Wait for a live run up to `ms` (Infinity: until it ends); true when it has finished. */
  async wait(runId: string, ms: number): Promise<boolean> {
    const entry = this.live.get(runId);
    if (!entry) return true;
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

  cancel(runId: string): boolean {
    const entry = this.live.get(runId);
    if (!entry) return false;
    entry.controller.abort(new Error("cancelled"));
    return true;
  }

  /** The stored run, with runs whose process is gone reported as interrupted. */
  async get(runId: string): Promise<(Run & { interrupted: boolean }) | null> {
    const run = this.live.get(runId)?.handle.run ?? (await this.store.getRun(runId));
    if (!run) return null;
    const orphan =
      !isTerminal(run.stage) && !this.live.has(runId) && (run.pid === process.pid || !pidAlive(run.pid));
    return { ...run, interrupted: orphan };
  }

  isLive(runId: string): boolean {
    return this.live.has(runId);
  }

  async drain(): Promise<void> {
    await Promise.all([...this.live.values()].map((e) => e.done));
  }
}
