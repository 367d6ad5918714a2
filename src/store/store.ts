import type { Analysis } from "../analysis/schema.js";
import type { Judgment, Outcome, Trajectory } from "../trajectory/schema.js";
import type { SkillFolder, SkillVersionDetail, SkillVersionDetailInput, SkillVersionMeta, VersionStatus } from "../skill/types.js";
import type { Run } from "./run.js";

/** Small index row of a trajectory (the payload lives in its own file). */
export interface TrajectoryRow {
  id: string;
  skill: string | null;
  success: boolean | null;
  source: string;
  steps: number;
  tags: string[];
  createdAt: string;
  /** A judge's verdict when no outcome was submitted (rows written before judging existed lack it). */
  judged?: { success: boolean | null; judge: string; confidence: number } | null;
  /** Size of the stored run in bytes. */
  bytes?: number;
  /** The skill version the run used (rows written before it was kept lack the key: read the run). */
  skillVersion?: number | null;
}

/** The outcome evolution uses: the submitted one, else a judge's decided verdict. */
export function effectiveSuccess(row: Pick<TrajectoryRow, "success" | "judged">): boolean | null {
  return row.success ?? row.judged?.success ?? null;
}

export interface DeleteTrajectoriesResult {
  deleted: string[];
  /** Ids that were not stored (already deleted, or never). */
  missing: string[];
  /** Analyses removed because they were derived from a deleted run. */
  analysesRemoved: number;
}

export interface PutTrajectoryResult {
  id: string;
  /** false when the same run was already stored (idempotent re-submit). */
  created: boolean;
  /** true when a re-submit brought an outcome and the stored one was unknown. */
  outcomeUpdated: boolean;
}

export interface NewSkillVersion {
  skill: string;
  folder: SkillFolder;
  detail: Omit<SkillVersionDetailInput, "version" | "createdAt" | "contentHash" | "fileCount" | "skill">;
}

/**
 * Persistence port. The default implementation (FileStore) keeps a small lowdb index plus
 * one file per payload in a data directory, with a cross-process lock around every mutation.
 * A server-grade backend can implement the same interface without touching the domain.
 */
export interface Store {
  readonly dataDir: string;

  putTrajectory(t: Trajectory): Promise<PutTrajectoryResult>;
  /** Many at once under one lock: the path for bulk ingest. */
  putTrajectories(ts: Trajectory[]): Promise<PutTrajectoryResult[]>;
  getTrajectory(id: string): Promise<Trajectory | null>;
  listTrajectories(filter?: { skill?: string; success?: boolean | null }): Promise<TrajectoryRow[]>;
  setOutcome(id: string, outcome: Outcome): Promise<Trajectory>;
  /** Merge a partial outcome into the stored one: read, merge and write in one step under the lock. */
  mergeOutcome(id: string, patch: Partial<Outcome>): Promise<Trajectory>;
  /** Store a judge's verdict beside the submitted outcome. */
  setJudgment(id: string, judgment: Judgment): Promise<Trajectory>;
  /** Remove runs: payload, index row, and every analysis derived from them. */
  deleteTrajectories(ids: string[]): Promise<DeleteTrajectoriesResult>;

  putAnalysis(a: Analysis): Promise<void>;
  getAnalysis(id: string): Promise<Analysis | null>;
  listAnalyses(filter: { skill: string; baseHash?: string }): Promise<Analysis[]>;

  /** Writes an immutable snapshot and returns its meta; version numbers are allocated under the lock. */
  addSkillVersion(v: NewSkillVersion): Promise<SkillVersionMeta>;
  getSkillVersion(skill: string, version: number): Promise<{ meta: SkillVersionDetail; folder: SkillFolder } | null>;
  listSkillVersions(skill: string): Promise<SkillVersionMeta[]>;
  listSkills(): Promise<string[]>;
  /** The active version number, or null when none is active. */
  getActiveVersion(skill: string): Promise<number | null>;
  /** Sets statuses atomically: the given version becomes `status`, the previous active one `retired` when activating. */
  setVersionStatus(skill: string, version: number, status: VersionStatus): Promise<SkillVersionMeta>;

  putRun(run: Run): Promise<void>;
  /**
   * Read-decide-write of one run under the store's lock: `claim` sees the stored run and
   * returns what to store (or throws to leave it as it is). Two processes resuming one run
   * at once: exactly one claim succeeds.
   */
  claimRun(id: string, claim: (current: Run) => Promise<Run>): Promise<Run>;
  getRun(id: string): Promise<Run | null>;
  listRuns(filter?: { skill?: string }): Promise<Run[]>;
  /** Run artefacts (merge levels, final patch, report) as JSON files under runs/<id>/. */
  writeRunArtifact(runId: string, name: string, value: unknown): Promise<void>;
  readRunArtifact<T = unknown>(runId: string, name: string): Promise<T | null>;

  /**
   * Optional: be told at once when another process changes a skill's active version (the
   * PostgreSQL store's LISTEN/NOTIFY). Without it the engine polls. Returns the unsubscribe.
   */
  watchActiveVersions?(onChange: (skill: string) => void): Promise<() => Promise<void>>;
}
