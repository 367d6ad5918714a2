import pg from "pg";
import PgBoss from "pg-boss";
import type { Analysis } from "../analysis/schema.js";
import { MergeResultSchema, type MergeFn, type MergeResult } from "../consolidation/merge-tree.js";
import type { Store } from "../store/store.js";
import { log } from "../util/log.js";
import { ANALYSIS_QUEUE, JOBS_CHANNEL, MERGE_QUEUE, type AnalysisJob, type MergeJob } from "./jobs.js";

/**
 * The replica's side of the worker fleet (issue 13, item 3). When `trace2skill worker`
 * processes with the run's model are alive on the same PostgreSQL database, a run's analyses
 * and model merges become jobs in a pg-boss queue instead of calls made here: a worker takes
 * each, with retries and a time limit, and the result takes effect once (an analysis is stored
 * under its cache key; a merge result becomes the group's checkpoint here). A replica with no
 * worker does everything itself, as before.
 */

/** A worker is alive while its heartbeat is this recent (it beats every few seconds). */
const WORKER_STALE_SECONDS = 30;
/** How often a waiting replica looks at a job it handed out. */
const POLL_MS = 100;
/** What a job may take before pg-boss gives it to another worker (a model call with retries fits well inside). */
const JOB_EXPIRE_SECONDS = 15 * 60;
const JOB_RETRIES = 2;

export class Fleet {
  private boss: PgBoss | null = null;
  private starting: Promise<PgBoss> | null = null;

  constructor(
    private readonly url: string,
    private readonly store: Store,
  ) {}

  /** Workers alive with this model (0: the replica does the work itself). */
  async liveWorkers(model: string): Promise<number> {
    const c = new pg.Client({ connectionString: this.url });
    try {
      await c.connect();
      const { rows } = await c.query<{ n: string }>(
        `SELECT coalesce(sum(concurrency), 0) AS n FROM trace2skill_workers WHERE model = $1 AND heartbeat_at > now() - make_interval(secs => $2)`,
        [model, WORKER_STALE_SECONDS],
      );
      return Number(rows[0]?.n ?? 0);
    } catch {
      return 0;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  private async queue(): Promise<PgBoss> {
    if (this.boss) return this.boss;
    this.starting ??= (async () => {
      const boss = new PgBoss({ connectionString: this.url, max: 4, supervise: false, schedule: false });
      boss.on("error", (err: Error) => log.warn("job queue error", { error: err.message }));
      await boss.start();
      await ensureQueues(boss);
      this.boss = boss;
      return boss;
    })();
    return this.starting;
  }

  /** Hand one analysis to the fleet; the analysis as the worker stored it. */
  async analyse(job: AnalysisJob, signal?: AbortSignal): Promise<Analysis> {
    await this.runJob(ANALYSIS_QUEUE, job, signal);
    const stored = await this.store.getAnalysis(job.cacheKey);
    if (!stored) throw new Error(`The worker finished the analysis of run ${job.trajectoryId.slice(0, 12)} but it is not in the store.`);
    return stored;
  }

  /** A MergeFn whose groups are merged by the fleet's workers (the model merge, run there). */
  mergeFn(base: { skill: string; version: number; hash: string }, model: string, outcomes?: Map<string, boolean | null>): MergeFn {
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
      const output = await this.runJob(MERGE_QUEUE, job, ctx.signal);
      return MergeResultSchema.parse(output);
    };
  }

  private async runJob(queue: string, data: object, signal?: AbortSignal): Promise<unknown> {
    const boss = await this.queue();
    const id = await boss.send(queue, data, { retryLimit: JOB_RETRIES, retryDelay: 1, expireInSeconds: JOB_EXPIRE_SECONDS });
    if (!id) throw new Error(`The job queue refused a ${queue} job.`);
    this.wake(queue);
    for (;;) {
      if (signal?.aborted) {
        await boss.cancel(queue, id).catch(() => undefined);
        throw signal.reason instanceof Error ? signal.reason : new Error("cancelled");
      }
      const job = await boss.getJobById(queue, id);
      if (job?.state === "completed") return job.output;
      if (job?.state === "failed" || job?.state === "cancelled") {
        const out = job.output as { message?: string } | null;
        throw new Error(`A worker could not do it (${job.retryCount} retr${job.retryCount === 1 ? "y" : "ies"}): ${out?.message ?? "no reason given"}`);
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
      const c = new pg.Client({ connectionString: this.url });
      void c
        .connect()
        .then(() => c.query("SELECT pg_notify($1, $2)", [JOBS_CHANNEL, queue]))
        .catch(() => undefined)
        .finally(() => void c.end().catch(() => undefined));
    });
  }

  async close(): Promise<void> {
    const boss = this.boss ?? (this.starting ? await this.starting.catch(() => null) : null);
    await boss?.stop({ graceful: false, wait: true }).catch(() => undefined);
  }
}

export async function ensureQueues(boss: PgBoss): Promise<void> {
  for (const name of [ANALYSIS_QUEUE, MERGE_QUEUE]) {
    if (!(await boss.getQueue(name))) await boss.createQueue(name).catch(() => undefined);
  }
}
