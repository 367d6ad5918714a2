import type { Analysis } from "../../src/analysis/schema.js";
import type { SkillFolder } from "../../src/skill/types.js";
import type { Run } from "../../src/store/run.js";
import type { NewSkillVersion } from "../../src/store/store.js";
import { finaliseTrajectory, TrajectoryDraftSchema, type Outcome, type Trajectory } from "../../src/trajectory/schema.js";

/** Small stored shapes for the store tests (both backends). */

export function trajectory(task: string, outcome: Outcome = { success: null }, skill: string | null = "airline"): Trajectory {
  return finaliseTrajectory(
    TrajectoryDraftSchema.parse({
      skill,
      task,
      outcome,
      tags: ["t"],
      steps: [
        { role: "user", text: task },
        { role: "assistant", toolCalls: [{ id: "c1", name: "lookup", arguments: { q: task } }] },
        { role: "tool", toolResult: { callId: "c1", content: "ok" } },
      ],
    }),
  );
}

/** The run the fixture analyses are made from: store it first (a store refuses analyses of runs it lacks). */
export const ANALYSED_RUN = trajectory("the analysed run", { success: false });

export function analysis(id: string, overrides: Partial<Analysis> = {}): Analysis {
  return {
    id,
    skill: "airline",
    trajectoryIds: [ANALYSED_RUN.id],
    baseVersion: 1,
    baseHash: "base-1",
    analyst: "error",
    configHash: "cfg",
    provider: "heuristic",
    lessons: [],
    patch: { edits: [], changelog: ["nothing"] },
    usage: { inputTokens: 1, outputTokens: 2, costUsd: 0, calls: 1 },
    createdAt: "2026-01-01T00:00:00.000Z",
    ...overrides,
  };
}

export function folder(name: string, body: string, extra: Partial<SkillFolder> = {}): SkillFolder {
  return {
    name,
    files: { "SKILL.md": `---\nname: ${name}\ndescription: test\n---\n${body}\n`, "references/notes.md": "notes\n" },
    binaries: { "assets/logo.bin": Buffer.from([0, 255, 1, 254]).toString("base64") },
    ...extra,
  };
}

export function newVersion(name: string, body: string, status: NewSkillVersion["detail"]["status"] = "draft"): NewSkillVersion {
  return {
    skill: name,
    folder: folder(name, body),
    detail: {
      parent: null,
      status,
      origin: "import",
      changelog: [`imported ${body}`],
      runId: null,
      valid: true,
      diff: "",
      provenance: [],
      validation: { valid: true, problems: [] },
      usage: null,
      dropped: [],
    },
  };
}

export function run(id: string, skill = "airline", createdAt = "2026-01-01T00:00:00.000Z"): Run {
  return {
    id,
    skill,
    kind: "evolve",
    stage: "queued",
    config: { fanIn: 5 },
    progress: { done: 0, total: 3, message: "queued" },
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 },
    resultVersion: null,
    errors: [],
    createdAt,
    updatedAt: createdAt,
  };
}

