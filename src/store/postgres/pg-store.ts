import pg from "pg";
import { AnalysisSchema, type Analysis } from "../../analysis/schema.js";
import { contentHash } from "../../skill/content-hash.js";
import {
  SkillFolderSchema,
  SkillVersionDetailSchema,
  SkillVersionMetaSchema,
  VersionStatusSchema,
  type SkillFolder,
  type SkillVersionDetail,
  type SkillVersionMeta,
  type VersionStatus,
} from "../../skill/types.js";
import { JudgmentSchema, OutcomeSchema, TrajectorySchema, type Judgment, type Outcome, type Trajectory } from "../../trajectory/schema.js";
import { InvalidInputError, InvalidSkillError, SkillNotFoundError, StoreCorruptError, StoreUnavailableError, TrajectoryNotFoundError } from "../../util/errors.js";
import { checkAnalysisId, checkArtifactName, checkRunId, checkSkillName, checkTrajectoryId, checkVersionNumber } from "../paths.js";
import { checkTrajectory, parseInput, snapshotEntries, trajectoryRow } from "../records.js";
import { RunSchema, type Run } from "../run.js";
import type { DeleteTrajectoriesResult, NewSkillVersion, PutTrajectoryResult, Store, TrajectoryRow } from "../store.js";
import { createLimiter } from "../../util/limiter.js";
import { migrate } from "./migrations.js";

/**
 * The store on PostgreSQL (issue 13): the same interface as the file store, for several
 * servers and workers on one database. Every mutation is one transaction; what the file store
 * does under its lock, this does with row locks (`SELECT … FOR UPDATE`) on the rows it reads to
 * decide, so concurrent writers on any machine serialise where they must and nowhere else.
 * Payloads are the same JSON the file store writes, checked by the same schemas.
 */

type Queryable = pg.Pool | pg.PoolClient;

/** Connections a store keeps to the database. */
const POOL_SIZE = 10;

export class PgStore implements Store {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    /** Local folder for what is not shared (config.json, exports); the state lives in the database. */
    readonly dataDir: string,
    /** The connection string without its password, for messages and logs. */
    readonly location: string,
  ) {}

  /** Connects, applies pending migrations, and returns the store. */
  static async open(url: string, dataDir: string): Promise<PgStore> {
    const location = redactUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, allowExitOnIdle: true, connectionTimeoutMillis: 10_000 });
    // An idle client that loses its connection must not take the process down.
    pool.on("error", () => undefined);
    try {
      await migrate(pool);
    } catch (err) {
      // A login that failed half-way can leave its socket open: close them all, so a CLI command exits.
      for (const c of (pool as unknown as { _clients?: { connection?: { stream?: { destroy?: () => void } } }[] })._clients ?? []) c.connection?.stream?.destroy?.();
      void pool.end().catch(() => undefined);
      const message = err instanceof Error ? err.message : String(err);
      const hint = /password must be|password authentication failed/i.test(message)
        ? "The server wants a password: put it in the URL (postgres://user:password@host/db) or in PGPASSWORD."
        : /newer than this trace2skill/.test(message)
          ? ""
          : "Check that the server runs, the database exists and the user may create tables in it (and a schema, for the job queue).";
      throw new StoreCorruptError(`Cannot use the PostgreSQL store at ${location}: ${message.replace(/\.$/, "")}.${hint ? ` ${hint}` : ""}`);
    }
    return new PgStore(pool, url, dataDir, location);
  }

  /** The connection string as given (with its password): for other connections to the same database (the job queue). */
  get connectionString(): string {
    return this.url;
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((stop) => stop()));
    await this.pool.end();
  }

  private readonly listeners = new Set<() => Promise<void>>();

  /**
   * Promotions and rollbacks made by any replica, told at once: a dedicated connection LISTENs
   * on the channel every change of an active version NOTIFYs (sent when its transaction commits).
   * A lost connection is reopened after a second; the engine's slow poll covers the gap.
   */
  async watchActiveVersions(onChange: (skill: string) => void): Promise<() => Promise<void>> {
    let client: pg.Client | null = null;
    let stopped = false;
    let retry: NodeJS.Timeout | null = null;
    // One retry at a time: a failed attempt is retried once (a flood of retries once filled the
    // database's connection slots after an outage).
    const schedule = () => {
      if (stopped || retry) return;
      retry = setTimeout(() => {
        retry = null;
        connect().then(
          () => onChange(""),
          () => schedule(),
        );
      }, 1_000);
      retry.unref();
    };
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.url });
      c.on("notification", (n) => {
        if (n.channel === ACTIVE_CHANNEL && n.payload) onChange(n.payload);
      });
      // Errors of an attempt that is still connecting are its rejection's business; only the
      // listening connection, once lost, asks for a new one.
      const lost = () => {
        if (client !== c) return;
        client = null;
        c.end().catch(() => undefined);
        schedule();
      };
      c.on("error", lost);
      c.on("end", lost);
      try {
        await c.connect();
        await c.query(`LISTEN ${ACTIVE_CHANNEL}`);
      } catch (err) {
        c.end().catch(() => undefined);
        throw err;
      }
      if (stopped) {
        await c.end().catch(() => undefined);
        return;
      }
      // Keep the process free to exit: this connection is only a listener.
      (c as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
      client = c;
    };
    await connect();
    const stop = async () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      this.listeners.delete(stop);
      const c = client as pg.Client | null;
      client = null;
      await c?.end().catch(() => undefined);
    };
    this.listeners.add(stop);
    return stop;
  }

  /** One statement on the pool; a database out of reach is said as such. */
  private q<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, args?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql, args).catch((err: unknown) => {
      throw this.unreachable(err);
    });
  }

  /** A connection failure as a StoreUnavailableError naming the store; any other error as it is. */
  private unreachable(err: unknown): unknown {
    const code = (err as { code?: string }).code ?? "";
    const message = err instanceof Error ? err.message : String(err);
    const down =
      ["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "57P01", "57P02", "57P03", "53300"].includes(code) ||
      code.startsWith("08") ||
      /timeout exceeded when trying to connect|Connection terminated|not currently accepting connections|the database system is (starting up|shutting down|in recovery mode)/i.test(message);
    return down
      ? new StoreUnavailableError(`The PostgreSQL store at ${this.location} cannot be reached (${message}). Check that the server runs and accepts connections, then retry.`)
      : err;
  }

  /** The workers of the fleet alive now, per model (for doctor). */
  async liveWorkers(staleSeconds = 30): Promise<{ model: string; workers: number; slots: number }[]> {
    const { rows } = await this.q<{ model: string; workers: string; slots: string }>(
      `SELECT model, count(*) AS workers, sum(concurrency) AS slots FROM trace2skill_workers
        WHERE heartbeat_at > now() - make_interval(secs => $1) GROUP BY model ORDER BY model`,
      [staleSeconds],
    );
    return rows.map((r) => ({ model: r.model, workers: Number(r.workers), slots: Number(r.slots) }));
  }

  /** Whether the database answers now (for health checks). */
  async ping(): Promise<boolean> {
    return this.q("SELECT 1").then(
      () => true,
      () => false,
    );
  }

  /** Runs `fn` in one transaction; retried when PostgreSQL reports a serialisation failure or deadlock. */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect().catch((err: unknown) => {
        throw this.unreachable(err);
      });
      try {
        await client.query("BEGIN");
        const out = await fn(client);
        await client.query("COMMIT");
        return out;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        const code = (err as { code?: string }).code;
        if ((code === "40001" || code === "40P01") && attempt < 10) continue;
        throw this.unreachable(err);
      } finally {
        client.release();
      }
    }
  }

  // ---- trajectories ----

  async putTrajectory(t: Trajectory): Promise<PutTrajectoryResult> {
    const [result] = await this.putTrajectories([t]);
    if (!result) throw new Error("putTrajectories returned no result for one trajectory");
    return result;
  }

  async putTrajectories(ts: Trajectory[]): Promise<PutTrajectoryResult[]> {
    const checked = ts.map(checkTrajectory);
    return this.tx(async (c) => {
      const results: PutTrajectoryResult[] = [];
      for (const t of checked) {
        const inserted = await insertTrajectory(c, t);
        if (inserted) {
          results.push({ id: t.id, created: true, outcomeUpdated: false });
          continue;
        }
        // Known: an unknown outcome is filled in by a re-submit that brings one, never overwritten.
        const stored = await lockTrajectory(c, t.id);
        const outcomeUpdated = stored !== null && stored.outcome.success === null && t.outcome.success !== null;
        if (stored && outcomeUpdated) await writeTrajectory(c, { ...stored, outcome: t.outcome });
        results.push({ id: t.id, created: false, outcomeUpdated });
      }
      return results;
    });
  }

  async getTrajectory(id: string): Promise<Trajectory | null> {
    checkTrajectoryId(id);
    const { rows } = await this.q<{ payload: string }>("SELECT payload FROM trajectories WHERE id = $1", [id]);
    return rows[0] ? parsePayload(rows[0].payload, TrajectorySchema, `trajectory ${id}`) : null;
  }

  async listTrajectories(filter: { skill?: string; success?: boolean | null } = {}): Promise<TrajectoryRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.skill !== undefined) {
      args.push(filter.skill);
      where.push(`skill = $${args.length}`);
    }
    if (filter.success !== undefined) {
      if (filter.success === null) where.push("success IS NULL");
      else {
        args.push(filter.success);
        where.push(`success = $${args.length}`);
      }
    }
    const { rows } = await this.q<RowOfTrajectory & { row_json: string | null }>(
      `SELECT id, skill, success, judged, source, steps, tags, created_at, bytes, skill_version, row_json FROM trajectories ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq`,
      args,
    );
    // The row as JSON keeps any text exactly (a text[] column cannot hold NUL or half a surrogate pair).
    return rows.map((r) => (r.row_json ? (JSON.parse(r.row_json) as TrajectoryRow) : toTrajectoryRow(r)));
  }

  async setOutcome(id: string, outcome: Outcome): Promise<Trajectory> {
    checkTrajectoryId(id);
    const parsed = parseInput(OutcomeSchema, outcome, "outcome");
    return this.updateTrajectory(id, (t) => ({ ...t, outcome: parsed }));
  }

  async mergeOutcome(id: string, patch: Partial<Outcome>): Promise<Trajectory> {
    checkTrajectoryId(id);
    const parsedPatch = parseInput(OutcomeSchema.partial(), patch, "outcome");
    const defined = Object.fromEntries(Object.entries(parsedPatch).filter(([, v]) => v !== undefined));
    return this.updateTrajectory(id, (t) => ({ ...t, outcome: parseInput(OutcomeSchema, { ...t.outcome, ...defined }, "outcome") }));
  }

  async setJudgment(id: string, judgment: Judgment): Promise<Trajectory> {
    checkTrajectoryId(id);
    const parsed = parseInput(JudgmentSchema, judgment, "judgment");
    return this.updateTrajectory(id, (t) => ({ ...t, judged: parsed }));
  }

  /** Read (row-locked), change and write one run in a transaction: concurrent partial updates never overwrite each other. */
  private async updateTrajectory(id: string, change: (t: Trajectory) => Trajectory): Promise<Trajectory> {
    return this.tx(async (c) => {
      const stored = await lockTrajectory(c, id);
      if (!stored) throw new TrajectoryNotFoundError(id);
      const updated = change(stored);
      await writeTrajectory(c, updated);
      return updated;
    });
  }

  async deleteTrajectories(ids: string[]): Promise<DeleteTrajectoriesResult> {
    const wanted = [...new Set(ids)].map(checkTrajectoryId);
    return this.tx(async (c) => {
      const gone = await c.query<{ id: string }>("DELETE FROM trajectories WHERE id = ANY($1::text[]) RETURNING id", [wanted]);
      const deleted = new Set(gone.rows.map((r) => r.id));
      const derived = await c.query("DELETE FROM analyses WHERE trajectory_ids && $1::text[]", [[...deleted]]);
      return {
        deleted: wanted.filter((id) => deleted.has(id)),
        missing: wanted.filter((id) => !deleted.has(id)),
        analysesRemoved: derived.rowCount ?? 0,
      };
    });
  }

  // ---- analyses ----

  async putAnalysis(a: Analysis): Promise<void> {
    const analysis = parseInput(AnalysisSchema, a, "analysis");
    checkAnalysisId(analysis.id);
    await this.tx(async (c) => {
      // Its runs are share-locked: a run deleted meanwhile (a deletion request) takes the analysis
      // with it, or a deletion waits for this insert and then removes it.
      const ids = [...new Set(analysis.trajectoryIds)];
      const { rows } = await c.query<{ id: string }>("SELECT id FROM trajectories WHERE id = ANY($1::text[]) FOR SHARE", [ids]);
      if (rows.length < ids.length) {
        const found = new Set(rows.map((r) => r.id));
        throw new TrajectoryNotFoundError(ids.find((id) => !found.has(id)) as string);
      }
      await c.query(
        `INSERT INTO analyses (id, skill, base_hash, trajectory_ids, created_at, payload) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET skill = EXCLUDED.skill, base_hash = EXCLUDED.base_hash, trajectory_ids = EXCLUDED.trajectory_ids,
           created_at = EXCLUDED.created_at, payload = EXCLUDED.payload`,
        [analysis.id, analysis.skill, analysis.baseHash, analysis.trajectoryIds, analysis.createdAt, JSON.stringify(analysis)],
      );
    });
  }

  async getAnalysis(id: string): Promise<Analysis | null> {
    checkAnalysisId(id);
    const { rows } = await this.q<{ payload: string }>("SELECT payload FROM analyses WHERE id = $1", [id]);
    return rows[0] ? parsePayload(rows[0].payload, AnalysisSchema, `analysis ${id}`) : null;
  }

  async listAnalyses(filter: { skill: string; baseHash?: string }): Promise<Analysis[]> {
    const { rows } =
      filter.baseHash === undefined
        ? await this.q<{ id: string; payload: string }>("SELECT id, payload FROM analyses WHERE skill = $1 ORDER BY id", [filter.skill])
        : await this.q<{ id: string; payload: string }>("SELECT id, payload FROM analyses WHERE skill = $1 AND base_hash = $2 ORDER BY id", [
            filter.skill,
            filter.baseHash,
          ]);
    return rows.map((r) => parsePayload(r.payload, AnalysisSchema, `analysis ${r.id}`));
  }

  // ---- skill versions ----

  async addSkillVersion(v: NewSkillVersion): Promise<SkillVersionMeta> {
    const skill = checkSkillName(v.skill);
    const folder = parseInput(SkillFolderSchema, v.folder, "skill folder");
    if (folder.name !== skill) {
      throw new InvalidSkillError(`The folder is named "${folder.name}" but is being stored as skill "${skill}"; they must match.`);
    }
    const entries = snapshotEntries(folder);
    const hash = contentHash(folder);
    return this.tx(async (c) => {
      await c.query("INSERT INTO skills (name, active) VALUES ($1, NULL) ON CONFLICT (name) DO NOTHING", [skill]);
      // The skill's row lock numbers versions: two writers never take the same number.
      await c.query("SELECT active FROM skills WHERE name = $1 FOR UPDATE", [skill]);
      const { rows } = await c.query<{ v: number | null }>("SELECT max(version) AS v FROM skill_versions WHERE skill = $1", [skill]);
      const version = (rows[0]?.v ?? 0) + 1;
      const detail = parseInput(
        SkillVersionDetailSchema,
        { ...v.detail, skill, version, createdAt: new Date().toISOString(), contentHash: hash, fileCount: entries.length },
        "skill version",
      );
      const meta = SkillVersionMetaSchema.parse(detail);
      await c.query("INSERT INTO skill_versions (skill, version, status, detail, folder) VALUES ($1, $2, $3, $4, $5)", [
        skill,
        version,
        meta.status,
        JSON.stringify(detail),
        JSON.stringify(folder),
      ]);
      if (meta.status === "active") await activate(c, skill, version);
      return { ...meta };
    });
  }

  async getSkillVersion(skill: string, version: number): Promise<{ meta: SkillVersionDetail; folder: SkillFolder } | null> {
    checkSkillName(skill);
    checkVersionNumber(version);
    const { rows } = await this.q<{ status: string; detail: string; folder: string }>(
      "SELECT status, detail, folder FROM skill_versions WHERE skill = $1 AND version = $2",
      [skill, version],
    );
    const row = rows[0];
    if (!row) return null;
    const detail = parsePayload(row.detail, SkillVersionDetailSchema, `version ${version} of ${skill}`);
    return {
      meta: { ...detail, status: VersionStatusSchema.parse(row.status) },
      folder: parsePayload(row.folder, SkillFolderSchema, `the files of version ${version} of ${skill}`),
    };
  }

  async listSkillVersions(skill: string): Promise<SkillVersionMeta[]> {
    checkSkillName(skill);
    const { rows } = await this.q<{ status: string; detail: string }>(
      "SELECT status, detail FROM skill_versions WHERE skill = $1 ORDER BY version",
      [skill],
    );
    return rows.map((r) => SkillVersionMetaSchema.parse({ ...parsePayload(r.detail, SkillVersionDetailSchema, `a version of ${skill}`), status: r.status }));
  }

  async listSkills(): Promise<string[]> {
    const { rows } = await this.q<{ name: string }>("SELECT name FROM skills ORDER BY name");
    return rows.map((r) => r.name).sort();
  }

  async getActiveVersion(skill: string): Promise<number | null> {
    checkSkillName(skill);
    const { rows } = await this.q<{ active: number | null }>("SELECT active FROM skills WHERE name = $1", [skill]);
    return rows[0]?.active ?? null;
  }

  async setVersionStatus(skill: string, version: number, status: VersionStatus): Promise<SkillVersionMeta> {
    checkSkillName(skill);
    checkVersionNumber(version);
    const wanted = parseInput(VersionStatusSchema, status, "version status");
    return this.tx(async (c) => {
      const skillRow = await c.query<{ active: number | null }>("SELECT active FROM skills WHERE name = $1 FOR UPDATE", [skill]);
      if (!skillRow.rowCount) throw new SkillNotFoundError(skill);
      const exists = await c.query("SELECT 1 FROM skill_versions WHERE skill = $1 AND version = $2", [skill, version]);
      if (!exists.rowCount) throw new SkillNotFoundError(skill, version);
      if (wanted === "active") {
        await activate(c, skill, version);
      } else {
        if (skillRow.rows[0]?.active === version) {
          await c.query("UPDATE skills SET active = NULL WHERE name = $1", [skill]);
          await c.query("SELECT pg_notify($1, $2)", [ACTIVE_CHANNEL, skill]);
        }
        await c.query("UPDATE skill_versions SET status = $3 WHERE skill = $1 AND version = $2", [skill, version, wanted]);
      }
      const { rows } = await c.query<{ status: string; detail: string }>("SELECT status, detail FROM skill_versions WHERE skill = $1 AND version = $2", [
        skill,
        version,
      ]);
      const row = rows[0] as { status: string; detail: string };
      return SkillVersionMetaSchema.parse({ ...parsePayload(row.detail, SkillVersionDetailSchema, `version ${version} of ${skill}`), status: row.status });
    });
  }

  // ---- runs ----

  async putRun(run: Run): Promise<void> {
    const parsed = parseInput(RunSchema, run, "run");
    checkRunId(parsed.id);
    await upsertRun(this.pool, parsed);
  }

  async claimRun(id: string, claim: (current: Run) => Promise<Run>): Promise<Run> {
    checkRunId(id);
    // A claim holds a connection while its callback may use others (it reads the store): a few
    // claims at a time, so they never take every connection of the pool and wait on each other.
    return this.claims(() => this.claimOnce(id, claim));
  }

  private readonly claims = createLimiter(Math.max(1, POOL_SIZE - 4));

  private async claimOnce(id: string, claim: (current: Run) => Promise<Run>): Promise<Run> {
    return this.tx(async (c) => {
      const { rows } = await c.query<{ payload: string }>("SELECT payload FROM runs WHERE id = $1 FOR UPDATE", [id]);
      if (!rows[0]) throw new InvalidInputError(`Run "${id}" not found.`);
      const current = parsePayload(rows[0].payload, RunSchema, `run ${id}`);
      const next = parseInput(RunSchema, await claim(current), "run");
      await upsertRun(c, next);
      return next;
    });
  }

  async getRun(id: string): Promise<Run | null> {
    checkRunId(id);
    const { rows } = await this.q<{ payload: string }>("SELECT payload FROM runs WHERE id = $1", [id]);
    return rows[0] ? parsePayload(rows[0].payload, RunSchema, `run ${id}`) : null;
  }

  async listRuns(filter: { skill?: string } = {}): Promise<Run[]> {
    const { rows } =
      filter.skill === undefined
        ? await this.q<{ id: string; payload: string }>("SELECT id, payload FROM runs ORDER BY created_at, id")
        : await this.q<{ id: string; payload: string }>("SELECT id, payload FROM runs WHERE skill = $1 ORDER BY created_at, id", [filter.skill]);
    return rows.map((r) => parsePayload(r.payload, RunSchema, `run ${r.id}`));
  }

  async writeRunArtifact(runId: string, name: string, value: unknown): Promise<void> {
    checkRunId(runId);
    checkArtifactName(name);
    if (value === undefined) throw new InvalidInputError(`Run artefact "${name}" has no value; pass any JSON value.`);
    await this.q(
      "INSERT INTO run_artifacts (run_id, name, value) VALUES ($1, $2, $3) ON CONFLICT (run_id, name) DO UPDATE SET value = EXCLUDED.value",
      [runId, name, JSON.stringify(value)],
    );
  }

  async readRunArtifact<T = unknown>(runId: string, name: string): Promise<T | null> {
    checkRunId(runId);
    checkArtifactName(name);
    const { rows } = await this.q<{ value: string }>("SELECT value FROM run_artifacts WHERE run_id = $1 AND name = $2", [runId, name]);
    if (!rows[0]) return null;
    try {
      return JSON.parse(rows[0].value) as T;
    } catch {
      throw new StoreCorruptError(`Run artefact "${name}" of run ${runId} in ${this.location} is not valid JSON.`);
    }
  }
}

// ---- rows ----

interface RowOfTrajectory {
  id: string;
  skill: string | null;
  success: boolean | null;
  judged: TrajectoryRow["judged"];
  source: string;
  steps: number;
  tags: string[];
  created_at: string;
  bytes: number;
  skill_version: number | null;
}

function toTrajectoryRow(r: RowOfTrajectory): TrajectoryRow {
  return {
    id: r.id,
    skill: r.skill,
    success: r.success,
    source: r.source,
    steps: r.steps,
    tags: r.tags,
    createdAt: r.created_at,
    judged: r.judged ?? null,
    bytes: r.bytes,
    skillVersion: r.skill_version,
  };
}

/**
 * The columns of a run's row. Payloads are JSON text (escapes keep any character); the columns
 * only filter and sort, so text that PostgreSQL's text type refuses (NUL) or mangles (half a
 * surrogate pair) is made safe there, and the row itself is kept as JSON beside them.
 */
function rowValues(t: Trajectory): unknown[] {
  const payload = JSON.stringify(t);
  // Sized as the file store sizes it (its files are indented JSON), so both report the same bytes.
  const row = trajectoryRow(t, Buffer.byteLength(`${JSON.stringify(t, null, 2)}\n`));
  const safe = (text: string) => text.replace(/\u0000/g, "").replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
  return [
    row.id,
    row.skill,
    row.success,
    row.judged ? JSON.stringify(row.judged) : null,
    safe(row.source),
    row.steps,
    row.tags.map(safe),
    safe(row.createdAt),
    row.bytes,
    row.skillVersion ?? null,
    payload,
    JSON.stringify(row),
  ];
}

async function insertTrajectory(c: Queryable, t: Trajectory): Promise<boolean> {
  const res = await c.query(
    `INSERT INTO trajectories (id, skill, success, judged, source, steps, tags, created_at, bytes, skill_version, payload, row_json)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
    rowValues(t),
  );
  return (res.rowCount ?? 0) > 0;
}

async function lockTrajectory(c: Queryable, id: string): Promise<Trajectory | null> {
  const { rows } = await c.query<{ payload: string }>("SELECT payload FROM trajectories WHERE id = $1 FOR UPDATE", [id]);
  return rows[0] ? parsePayload(rows[0].payload, TrajectorySchema, `trajectory ${id}`) : null;
}

async function writeTrajectory(c: Queryable, t: Trajectory): Promise<void> {
  await c.query(
    `UPDATE trajectories SET skill = $2, success = $3, judged = $4, source = $5, steps = $6, tags = $7, created_at = $8, bytes = $9, skill_version = $10,
       payload = $11, row_json = $12
     WHERE id = $1`,
    rowValues(t),
  );
}

/** Makes `version` the active one, retiring the previously active version (the skill's row is locked by the caller). */
async function activate(c: Queryable, skill: string, version: number): Promise<void> {
  const { rows } = await c.query<{ active: number | null }>("SELECT active FROM skills WHERE name = $1", [skill]);
  const previous = rows[0]?.active ?? null;
  if (previous !== null && previous !== version) {
    await c.query("UPDATE skill_versions SET status = 'retired' WHERE skill = $1 AND version = $2", [skill, previous]);
  }
  await c.query("UPDATE skill_versions SET status = 'active' WHERE skill = $1 AND version = $2", [skill, version]);
  await c.query("UPDATE skills SET active = $2 WHERE name = $1", [skill, version]);
  await c.query("SELECT pg_notify($1, $2)", [ACTIVE_CHANNEL, skill]);
}

/** The channel every change of a skill's active version is NOTIFYed on (payload: the skill's name). */
const ACTIVE_CHANNEL = "trace2skill_active";

async function upsertRun(c: Queryable, run: Run): Promise<void> {
  await c.query(
    "INSERT INTO runs (id, skill, created_at, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET skill = EXCLUDED.skill, created_at = EXCLUDED.created_at, payload = EXCLUDED.payload",
    [run.id, run.skill, run.createdAt, JSON.stringify(run)],
  );
}

function parsePayload<T>(text: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: unknown } }, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StoreCorruptError(`The stored ${what} is not valid JSON.`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new StoreCorruptError(`The stored ${what} does not match its schema.`);
  return parsed.data;
}

/**
 * A connection string without its secrets, for messages and logs: postgres://user:secret@host/db
 * → postgres://user:***@host/db, and a `password` in the query string masked too. Works on
 * strings that do not parse as URLs (a mistyped scheme, stray spaces).
 */
export function redactUrl(url: string): string {
  let masked = url;
  // user:password@host, whatever the password holds (an @, a space): up to the last @.
  const at = masked.lastIndexOf("@");
  if (at > 0) {
    const head = masked.slice(0, at);
    // With a scheme (postgres://, postgres:/), the user comes after it; without, at the start.
    const user = /^\s*[a-z][\w+.-]*:\//i.test(head) ? /^\s*[a-z][\w+.-]*:\/+[^:/@\s]*:/i.exec(head) : /^[^:/@\s]*:/.exec(head);
    if (user) masked = `${head.slice(0, user[0].length)}***${masked.slice(at)}`;
  }
  masked = masked.replace(/([?&](?:password|pass|pwd|sslpassword)=)[^&\s"']*/gi, "$1***");
  return masked.length > 200 ? `${masked.slice(0, 199)}…` : masked;
}
