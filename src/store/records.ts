import { z } from "zod";
import { InvalidInputError, InvalidSkillError, InvalidTrajectoryError } from "../util/errors.js";
import { safeRelativePath } from "../util/fsx.js";
import type { SkillFolder } from "../skill/types.js";
import { TrajectorySchema, trajectoryId, type Trajectory } from "../trajectory/schema.js";
import type { TrajectoryRow } from "./store.js";

/**
 * What every store backend checks and derives the same way (file-store.ts, postgres/pg-store.ts):
 * a trajectory's id against its content, input shapes, a run's index row, a skill folder's paths.
 */

/** `bytes`: the size of the run's file as written (known to the writer, no second serialisation). */
export function trajectoryRow(t: Trajectory, bytes: number): TrajectoryRow {
  const decided = t.judged && t.judged.verdict !== "unknown" ? t.judged.verdict === "success" : null;
  return {
    id: t.id,
    skill: t.skill,
    success: t.outcome.success,
    source: t.source,
    steps: t.steps.length,
    tags: t.tags,
    createdAt: t.createdAt,
    judged: t.judged ? { success: decided, judge: t.judged.judge, confidence: t.judged.confidence } : null,
    bytes,
    skillVersion: t.skillVersion,
  };
}

export function checkTrajectory(t: Trajectory): Trajectory {
  const parsed = TrajectorySchema.safeParse(t);
  if (!parsed.success) throw new InvalidTrajectoryError(`The trajectory is not valid: ${z.prettifyError(parsed.error)}`);
  const expected = trajectoryId(parsed.data);
  if (parsed.data.id !== expected) {
    throw new InvalidTrajectoryError(
      `Trajectory id ${parsed.data.id} does not match its content (expected ${expected}); build trajectories with finaliseTrajectory().`,
    );
  }
  return parsed.data;
}

export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidInputError(`The ${what} is not valid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export interface SnapshotEntry {
  relative: string;
  data: string | Buffer;
  binary: boolean;
}

/** Every path checked (and file/folder clashes refused) before anything is written. */
export function snapshotEntries(folder: SkillFolder): SnapshotEntry[] {
  const entries = [
    ...Object.entries(folder.files).map(([p, text]) => ({ relative: safeRelativePath(p, "file path"), data: text, binary: false })),
    ...Object.entries(folder.binaries).map(([p, b64]) => ({
      relative: safeRelativePath(p, "file path"),
      data: Buffer.from(b64, "base64"),
      binary: true,
    })),
  ];
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.relative)) throw new InvalidSkillError(`The file "${e.relative}" appears twice (as text and as binary); keep one.`);
    seen.add(e.relative);
  }
  for (const e of entries) {
    const segments = e.relative.split("/");
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join("/");
      if (seen.has(parent)) throw new InvalidSkillError(`"${parent}" is both a file and the folder of "${e.relative}"; rename one.`);
    }
  }
  return entries;
}
