import type { Pool, PoolClient } from "pg";
import { log } from "../../util/log.js";

/**
 * Versioned migrations of the PostgreSQL store, applied in order on start. Each runs in its own
 * transaction, under an advisory lock, so replicas starting at once apply each exactly once;
 * a database newer than this code is refused rather than written to.
 *
 * Payloads (runs, analyses, version records, run records, artefacts) are stored as the JSON text
 * the file store writes, validated by the same zod schemas on the way in and out; the columns
 * beside them are what queries filter and sort on.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
CREATE TABLE trajectories (
  id            text PRIMARY KEY,
  skill         text,
  success       boolean,
  judged        jsonb,
  source        text NOT NULL,
  steps         integer NOT NULL,
  tags          text[] NOT NULL,
  created_at    text NOT NULL,
  bytes         integer NOT NULL,
  skill_version integer,
  payload       text NOT NULL
);
CREATE INDEX trajectories_by_skill ON trajectories (skill);

CREATE TABLE analyses (
  id             text PRIMARY KEY,
  skill          text NOT NULL,
  base_hash      text NOT NULL,
  trajectory_ids text[] NOT NULL,
  created_at     text NOT NULL,
  payload        text NOT NULL
);
CREATE INDEX analyses_by_skill_base ON analyses (skill, base_hash);
CREATE INDEX analyses_by_trajectory ON analyses USING gin (trajectory_ids);

CREATE TABLE skills (
  name   text PRIMARY KEY,
  active integer
);

CREATE TABLE skill_versions (
  skill   text NOT NULL REFERENCES skills (name),
  version integer NOT NULL,
  status  text NOT NULL,
  detail  text NOT NULL,
  folder  text NOT NULL,
  PRIMARY KEY (skill, version)
);

CREATE TABLE runs (
  id         text PRIMARY KEY,
  skill      text NOT NULL,
  created_at text NOT NULL,
  payload    text NOT NULL
);
CREATE INDEX runs_by_skill ON runs (skill);

CREATE TABLE run_artifacts (
  run_id text NOT NULL,
  name   text NOT NULL,
  value  text NOT NULL,
  PRIMARY KEY (run_id, name)
);
`,
  },
  {
    version: 2,
    name: "worker presence",
    sql: `
CREATE TABLE trace2skill_workers (
  id           text PRIMARY KEY,
  host         text NOT NULL,
  pid          integer NOT NULL,
  model        text NOT NULL,
  concurrency  integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 3,
    name: "jobs held by workers",
    sql: `
CREATE TABLE trace2skill_worker_jobs (
  job_id     text PRIMARY KEY,
  worker_id  text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 4,
    name: "runs listed in the order they were stored, rows as JSON",
    sql: `
ALTER TABLE trajectories ADD COLUMN seq bigserial;
ALTER TABLE trajectories ADD COLUMN row_json text;
CREATE INDEX trajectories_by_seq ON trajectories (seq);
`,
  },
];

/** Any fixed number: the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 72_615_002;

export async function migrate(pool: Pool): Promise<{ applied: number[]; current: number }> {
  const client = await pool.connect();
  try {
    // Up to date already: nothing to create, so a user with rights on the tables alone may open it.
    const known = MIGRATIONS.at(-1)?.version ?? 0;
    const exists = await client.query<{ t: string | null }>("SELECT to_regclass('trace2skill_migrations')::text AS t");
    if (exists.rows[0]?.t) {
      const { rows } = await client.query<{ v: number | null }>("SELECT max(version) AS v FROM trace2skill_migrations");
      if ((rows[0]?.v ?? 0) === known) return { applied: [], current: known };
    }
    // One process at a time, from creating the bookkeeping table to the last migration.
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      await client.query(
        "CREATE TABLE IF NOT EXISTS trace2skill_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
      );
      const { rows } = await client.query<{ v: number | null }>("SELECT max(version) AS v FROM trace2skill_migrations");
      const before = rows[0]?.v ?? 0;
      const known = MIGRATIONS.at(-1)?.version ?? 0;
      if (before > known) {
        throw new Error(
          `The database is at schema version ${before}, newer than this trace2skill knows (${known}). Upgrade trace2skill on this machine before pointing it at that database.`,
        );
      }
      const applied: number[] = [];
      for (const m of MIGRATIONS.filter((m) => m.version > before)) {
        await applyOne(client, m);
        applied.push(m.version);
      }
      if (applied.length > 0) log.info("PostgreSQL store migrated", { applied, version: known });
      return { applied, current: Math.max(before, ...applied) };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

async function applyOne(client: PoolClient, m: Migration): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query(m.sql);
    await client.query("INSERT INTO trace2skill_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw new Error(`PostgreSQL migration ${m.version} (${m.name}) failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
