import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

/**
 * A fresh database on the test run's PostgreSQL cluster (tests/setup/postgres.ts), one per call:
 * tests never share state. `pgUrl` is null where PostgreSQL is missing; `pgMissing` says why.
 */
export const pgUrl: string | null = inject("pgUrl");
export const pgMissing: string = inject("pgMissing");

export async function freshDatabase(): Promise<string> {
  if (!pgUrl) throw new Error(`No PostgreSQL for the tests: ${pgMissing}`);
  const name = `t2s_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
