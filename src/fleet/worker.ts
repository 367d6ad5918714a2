import { randomBytes } from "node:crypto";
import pg from "pg";
import PgBoss from "pg-boss";
import { analyseTrajectory, analystFor } from "../analysis/analysts.js";
import { analysisKey, analystConfig, modelAnalysis } from "../analysis/run-analysis.js";
import { modelMerge } from "../consolidation/model-merge.js";
import { withJudgedOutcome } from "../judging/judge.js";
import type { LanguageModel } from "../llm/port.js";
import { HOST, heartbeatMs } from "../evolution/runs.js";
import type { Store } from "../store/store.js";
import type { SharedContext } from "../trajectory/render.js";
import { errorMessage } from "../util/errors.js";
import { hashJson } from "../util/hash.js";
import { log } from "../util/log.js";
import { AnalysisJobSchema, JOBS_CHANNEL, MergeJobSchema, analysisQueue, mergeQueue } from "./jobs.js";

/**
 * `trace2skill worker`: one process of the fleet. It says it is alive (with its model and how
 * many jobs it takes at once) in trace2skill_workers, and takes analysis and merge jobs from
 * the queue. Each job is checked against its schema and against what the store holds (the
 * base version must hash as the job says; the model must be the job's); a job that cannot be
 * done fails with its reason and pg-boss retries it, on this worker or another.
 */


export interface WorkerOptions {
  url: string;
  store: Store;
  model: LanguageModel;
  /** Jobs in flight at once. */
  concurrency: number;
}

export interface RunningWorker {
  id: string;
  /** Jobs done since start, per queue. */
  done: { analysis: number; merge: number; failed: number };
  stop(): Promise<void>;
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const id = `${HOST}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const presence = new pg.Pool({ connectionString: opts.url, max: 2, allowExitOnIdle: true });
  presence.on("error", () => undefined);
  const beat = () =>
    presence.query(
      `INSERT INTO trace2skill_workers (id, host, pid, model, concurrency) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      [id, HOST, process.pid, opts.model.model, opts.concurrency],
    );
  const boss = new PgBoss({ connectionString: opts.url, max: opts.concurrency + 2 });
  boss.on("error", (err: Error) => log.warn("job queue error", { error: err.message }));
  await boss.start();
  const ANALYSIS_QUEUE = analysisQueue(opts.model.model);
  const MERGE_QUEUE = mergeQueue(opts.model.model);
  for (const name of [ANALYSIS_QUEUE, MERGE_QUEUE]) if (!(await boss.getQueue(name))) await boss.createQueue(name).catch(() => undefined);
  const done = { analysis: 0, merge: 0, failed: 0 };

  const analyse = async (data: unknown): Promise<{ analysisId: string }> => {
    const job = AnalysisJobSchema.parse(data);
    if (job.model !== opts.model.model) throw new Error(`this worker runs model "${opts.model.model}", the job wants "${job.model}"`);
    const stored = await opts.store.getTrajectory(job.trajectoryId);
    if (!stored) throw new Error(`run ${job.trajectoryId} is not in the store`);
    const trajectory = withJudgedOutcome(stored);
    const base = await opts.store.getSkillVersion(job.skill, job.baseVersion);
    if (!base || hashJson(base.folder) !== job.baseHash) throw new Error(`version ${job.baseVersion} of ${job.skill} is not the base the job was made against`);
    const choice = analystFor(trajectory);
    if ("skip" in choice) throw new Error(choice.skip);
    const config = analystConfig({ provider: "openai-compatible", model: opts.model.model, kind: choice.kind, budgetTokens: job.budgetTokens, agentic: job.agentic });
    const key = analysisKey({ trajectoryId: trajectory.id, base: base.folder, config });
    if (key !== job.cacheKey) throw new Error("this worker's analyst settings differ from the replica's (another trace2skill version?)");
    if (await opts.store.getAnalysis(key)) return { analysisId: key };
    const result = await analyseTrajectory({
      model: opts.model,
      trajectory,
      base: base.folder,
      shared: job.shared as SharedContext,
      budgetTokens: job.budgetTokens,
      agentic: job.agentic,
    });
    const record = modelAnalysis({ key, skill: job.skill, trajectoryId: trajectory.id, base: { version: job.baseVersion, folder: base.folder }, config, provider: "openai-compatible", result });
    await opts.store.putAnalysis(record);
    done.analysis++;
    return { analysisId: key };
  };

  const merge = async (data: unknown) => {
    const job = MergeJobSchema.parse(data);
    if (job.model !== opts.model.model) throw new Error(`this worker runs model "${opts.model.model}", the job wants "${job.model}"`);
    const base = await opts.store.getSkillVersion(job.skill, job.baseVersion);
    if (!base || hashJson(base.folder) !== job.baseHash) throw new Error(`version ${job.baseVersion} of ${job.skill} is not the base the job was made against`);
    const result = await modelMerge(opts.model, base.folder, { outcomes: new Map(job.outcomes) })(job.group, { level: job.level, index: job.index });
    done.merge++;
    return result;
  };

  // One loop per slot, each taking one job at a time. A loop that just finished a job looks for
  // the next at once (notifyWorker skips its wait); an idle one looks every half second.
  const slot = (what: string, fn: (data: unknown) => Promise<unknown>) => {
    const loop: { id: string | null } = { id: null };
    const handler = async ([job]: PgBoss.Job<unknown>[]) => {
      if (!job) return null;
      // Say who holds the job: a replica waiting for it takes it back if this worker dies.
      await presence.query("INSERT INTO trace2skill_worker_jobs (job_id, worker_id) VALUES ($1, $2) ON CONFLICT (job_id) DO UPDATE SET worker_id = $2, started_at = now()", [job.id, id]);
      try {
        return await fn(job.data);
      } catch (err) {
        done.failed++;
        log.warn(`worker: ${what} job failed`, { job: job.id, error: errorMessage(err) });
        // The reason only: no stack trace (paths of this machine) in the job's stored output.
        throw new Error(errorMessage(err));
      } finally {
        await presence.query("DELETE FROM trace2skill_worker_jobs WHERE job_id = $1", [job.id]).catch(() => undefined);
        if (loop.id) boss.notifyWorker(loop.id);
      }
    };
    return { loop, handler };
  };
  const loops = new Map<string, string[]>([[ANALYSIS_QUEUE, []], [MERGE_QUEUE, []]]);
  for (let i = 0; i < opts.concurrency; i++) {
    for (const [queue, what, fn] of [[ANALYSIS_QUEUE, "analysis", analyse], [MERGE_QUEUE, "merge", merge]] as const) {
      const { loop, handler } = slot(what, fn);
      loop.id = await boss.work(queue, { pollingIntervalSeconds: 0.5 }, handler);
      loops.get(queue)?.push(loop.id);
    }
  }
  // A replica that sends jobs NOTIFYs: the idle loops of that queue look at once.
  const listener = new pg.Client({ connectionString: opts.url });
  listener.on("error", () => undefined);
  listener.on("notification", (n) => {
    if (n.channel === JOBS_CHANNEL && n.payload) for (const id of loops.get(n.payload) ?? []) boss.notifyWorker(id);
  });
  await listener.connect();
  await listener.query(`LISTEN ${JOBS_CHANNEL}`);
  await beat();
  const timer = setInterval(() => void beat().catch((err: unknown) => log.warn("worker heartbeat failed", { error: errorMessage(err) })), heartbeatMs());
  log.info("worker ready", { id, model: opts.model.model, concurrency: opts.concurrency });
  return {
    id,
    done,
    async stop() {
      clearInterval(timer);
      await listener.end().catch(() => undefined);
      await presence.query("DELETE FROM trace2skill_workers WHERE id = $1", [id]).catch(() => undefined);
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch(() => undefined);
      await presence.end().catch(() => undefined);
    },
  };
}
