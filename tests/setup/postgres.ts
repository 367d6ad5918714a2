import type { TestProject } from "vitest/node";
import { clusterUnavailable, startCluster } from "../helpers/pg-cluster.js";

/**
 * vitest globalSetup: one private PostgreSQL cluster for the whole test run (helpers/pg-cluster.ts),
 * stopped and removed at the end. `TRACE2SKILL_TEST_PG` (a postgres:// URL of a server where
 * the user may create databases) is used instead when set. Without either, the PostgreSQL
 * tests are skipped and say so, unless TRACE2SKILL_REQUIRE_PG is set (CI), which fails instead.
 */

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string | null;
    pgMissing: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const given = process.env.TRACE2SKILL_TEST_PG;
  if (given) {
    project.provide("pgUrl", given);
    project.provide("pgMissing", "");
    return () => undefined;
  }
  const missing = clusterUnavailable();
  if (missing) {
    if (process.env.TRACE2SKILL_REQUIRE_PG) throw new Error(`TRACE2SKILL_REQUIRE_PG is set but ${missing}.`);
    project.provide("pgUrl", null);
    project.provide("pgMissing", `${missing}, and TRACE2SKILL_TEST_PG is not set`);
    return () => undefined;
  }
  const cluster = await startCluster();
  project.provide("pgUrl", cluster.url);
  project.provide("pgMissing", "");
  return () => cluster.stop();
}
