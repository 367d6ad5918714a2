import pg from "pg";
import PgBoss from "pg-boss";
import type { Analysis } from "../analysis/schema.js";
import { MergeResultSchema, type MergeFn, type MergeResult } from "../consolidation/merge-tree.js";
import type { Store } from "../store/store.js";
import { heartbeatMs } from "../evolution/runs.js";
import { errorMessage } from "../util/errors.js";
import { log } from "../util/log.js";
import { JOBS_CHANNEL, analysisQueue, mergeQueue, type AnalysisJob, type MergeJob } from "./jobs.js";

/**
 * The replica's side of the worker fleet (issue 13, item 3). When `trace2skill worker`
 * processes with the run's model are alive on the same PostgreSQL database, a run's analyses
 * and model merges become jobs in a pg-boss queue (one per model) instead of calls made here:
 * a worker takes each, with retries, and the result takes effect once (an analysis is stored
 * under its cache key; a merge result becomes the group's checkpoint here). A replica with no
 * worker does everything itself, as before; and while it waits for a job it keeps an eye on the
 * fleet: a job held by a worker that stopped beating is taken back and handed out again, and
 * when no worker with the model is left, the replica does the job itself.
 */

/** A worker is alive while its heartbeat is this recent: six of its beats (TRACE2SKILL_RUN_HEARTBEAT_MS, 5 s by default). */
const staleSeconds = () => (heartbeatMs() * 6) / 1000;
/** How often a waiting replica looks at a job it handed out. */
const POLL_MS = 100;
/** How often it also checks that the fleet can still do the job. */
const FLEET_CHECK_MS = 2_000;
/** pg-boss's own limit on a job, for a worker that hangs without dying (its maintenance then retries it). */
const JOB_EXPIRE_SECONDS = 15 * 60;
const JOB_RETRIES = 2;
/** A job handed out again this often (its worker died each time) is done here instead. */
const MAX_HANDOUTS = 3;

/** The fleet cannot do this job (no worker with the model is alive): the replica does it. */
export class FleetGoneError extends Error {}

export class Fleet {
  private boss: PgBoss | null = null;
  private starting: Promise<PgBoss> | null = null;
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly url: string,
    private readonly store: Store,
  ) {}

  /** Job slots of the workers alive with this model (0: the replica does the work itself). */
  async liveWorkers(model: string): Promise<number> {
    return this.query(
      async (c) => {
        const { rows } = await c.query<{ n: string }>(
          `SELECT coalesce(sum(concurrency), 0) AS n FROM trace2skill_workers WHERE model = $1 AND heartbeat_at > now() - make_interval(secs => $2)`,
          [model, staleSeconds()],
        );
        return Number(rows[0]?.n ?? 0);
      },
      0,
    );
  }

  /** Whether the worker holding a job is alive; null when no worker has said it holds it (yet). */
  private async holderAlive(jobId: string): Promise<boolean | null> {
    return this.query(async (c) => {
      const { rows } = await c.query<{ alive: boolean | null }>(
        `SELECT (w.heartbeat_at > now() - make_interval(secs => $2)) AS alive
           FROM trace2skill_worker_jobs j LEFT JOIN trace2skill_workers w ON w.id = j.worker_id WHERE j.job_id = $1`,
        [jobId, staleSeconds()],
      );
      return rows[0] ? rows[0].alive === true : null;
    }, null);
  }

  /** A couple of connections for the fleet's own small queries (every waiting job checks its worker every 2 s). */
  private pool: pg.Pool | null = null;

  private async query<T>(fn: (c: pg.Pool) => Promise<T>, otherwise: T): Promise<T> {
    if (!this.pool) {
      this.pool = new pg.Pool({ connectionString: this.url, max: 2, allowExitOnIdle: true });
      this.pool.on("error", () => undefined);
    }
    try {
      return await fn(this.pool);
    } catch {
      return otherwise;
    }
  }

  private async queue(name: string): Promise<PgBoss> {
    this.starting ??= (async () => {
      const boss = new PgBoss({ connectionString: this.url, max: 4, supervise: false, schedule: false });
      boss.on("error", (err: Error) => log.warn("job queue error", { error: err.message }));
      await boss.start();
      this.boss = boss;
      return boss;
    })().catch((err: unknown) => {
      // A failed start is tried again by the next job, not remembered for the process's life.
      this.starting = null;
      throw err;
    });
    const boss = await this.starting;
    // Made once per queue, however many jobs ask at the same moment: a job sent to a queue that
    // does not exist yet is refused (send answers null).
    let ready = this.queues.get(name);
    if (!ready) {
      ready = (async () => {
        if (!(await boss.getQueue(name))) await boss.createQueue(name).catch(() => undefined);
      })();
      ready.catch(() => this.queues.delete(name));
      this.queues.set(name, ready);
    }
    await ready;
    return boss;
  }

  /**
   * One analysis by the fleet: the analysis as the worker stored it, or null when the fleet
   * cannot do it (no worker with the model left), for the caller to do it here.
   */
  async analyse(job: AnalysisJob, signal?: AbortSignal): Promise<Analysis | null> {
    try {
      await this.runJob(analysisQueue(job.model), job, job.model, signal);
    } catch (err) {
      if (err instanceof FleetGoneError) return null;
      throw err;
    }
    const stored = await this.store.getAnalysis(job.cacheKey);
    if (!stored) throw new Error(`The worker finished the analysis of run ${job.trajectoryId.slice(0, 12)} but it is not in the store.`);
    return stored;
  }

  /** A MergeFn whose groups the fleet's workers merge; `here` merges a group the fleet can no longer take. */
  mergeFn(base: { skill: string; version: number; hash: string }, model: string, here: MergeFn, outcomes?: Map<string, boolean | null>): MergeFn {
    return async (group, ctx): Promise<MergeResult> => {
      const cited = new Set(group.flatMap((p) => p.edits.flatMap((e) => e.support)));
      const job: MergeJob = {
        skill: base.skill,
        baseVersion: base.version,
        baseHash: base.hash,
        model,
        level: ctx.level,
        index: ctx.index,
        group,
        outcomes: [...cited].map((id) => [id, outcomes?.get(id) ?? null]),
      };
      try {
        return MergeResultSchema.parse(await this.runJob(mergeQueue(model), job, model, ctx.signal));
      } catch (err) {
        if (err instanceof FleetGoneError) return here(group, ctx);
        throw err;
      }
    };
  }

  private async runJob(queue: string, data: object, model: string, signal?: AbortSignal): Promise<unknown> {
    const boss = await this.queue(queue);
    for (let handout = 1; ; handout++) {
      const options = { retryLimit: JOB_RETRIES, retryDelay: 1, expireInSeconds: JOB_EXPIRE_SECONDS };
      // A queue a worker made a moment ago may not be visible yet: look again once before giving up.
      let id = await boss.send(queue, data, options);
      if (!id) {
        this.queues.delete(queue);
        await this.queue(queue);
        id = await boss.send(queue, data, options);
      }
      if (!id) throw new Error(`The job queue refused a ${queue} job.`);
      this.wake(queue);
      const outcome = await this.await(boss, queue, id, model, signal);
      if (outcome.done) return outcome.output;
      // Its worker died holding it: hand it out again, or do it here once that has happened too often.
      if (handout >= MAX_HANDOUTS) throw new FleetGoneError(`${queue}: ${MAX_HANDOUTS} workers died holding the job`);
      log.warn("a worker died holding a job; handing it out again", { queue, job: id });
    }
  }

  /** Wait for one job: its output, or `done: false` when the worker holding it died. */
  private async await(boss: PgBoss, queue: string, id: string, model: string, signal?: AbortSignal): Promise<{ done: true; output: unknown } | { done: false }> {
    let nextCheck = Date.now() + FLEET_CHECK_MS;
    for (;;) {
      if (signal?.aborted) {
        await boss.cancel(queue, id).catch(() => undefined);
        throw signal.reason instanceof Error ? signal.reason : new Error("cancelled");
      }
      const job = await boss.getJobById(queue, id);
      if (job?.state === "completed") return { done: true, output: job.output };
      if (job?.state === "failed" || job?.state === "cancelled") {
        const out = job.output as { message?: string } | null;
        throw new Error(`A worker could not do it (${job.retryCount} retr${job.retryCount === 1 ? "y" : "ies"}): ${out?.message ?? "no reason given"}`);
      }
      if (Date.now() >= nextCheck) {
        nextCheck = Date.now() + FLEET_CHECK_MS;
        let holder = job?.state === "active" ? await this.holderAlive(id) : null;
        // Taken but never said to be held: its worker died between the two (a kill at that moment).
        const startedOn = job?.startedOn ? new Date(job.startedOn).getTime() : NaN;
        if (job?.state === "active" && holder === null && Date.now() - startedOn > staleSeconds() * 1000) holder = false;
        if (holder === false) {
          await boss.cancel(queue, id).catch(() => undefined);
          return { done: false };
        }
        if (holder === null && (await this.liveWorkers(model)) === 0) {
          // Nobody left to take it (or to finish it): the replica does it itself.
          await boss.cancel(queue, id).catch(() => undefined);
          throw new FleetGoneError(`no worker with model ${model} is alive`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private waking = new Set<string>();

  /** Tell idle workers there is work (one NOTIFY per queue per tick, however many jobs were sent). */
  private wake(queue: string): void {
    if (this.waking.has(queue)) return;
    this.waking.add(queue);
    setImmediate(() => {
      this.waking.delete(queue);
      void this.query((c) => c.query("SELECT pg_notify($1, $2)", [JOBS_CHANNEL, queue]), null).catch((err: unknown) =>
        log.debug("could not wake the workers", { error: errorMessage(err) }),
      );
    });
  }

  async close(): Promise<void> {
    const boss = this.boss ?? (this.starting ? await this.starting.catch(() => null) : null);
    await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    this.pool = null;
  }
}
