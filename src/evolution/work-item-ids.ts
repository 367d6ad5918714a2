import { InvalidInputError } from "../util/errors.js";

/**
 * Agent-mode ids say what they are for, so any server process can rebuild an item from its
 * id and check a reply against it: no session state. Work handed out by a run carries the
 * run id, so whoever submits it can be told how to continue that run.
 *
 *   judge:<skill>:<version>:<trajectoryId>         an outcome verdict for an unlabelled run
 *   judge:<runId>:<trajectoryId>                   the same, for an evolve run
 *   analysis:<skill>:<version>:<trajectoryId>      an analysis against a base version
 *   analysis:<runId>:<trajectoryId>                the same, for an evolve run
 *   merge:<runId>:<level>:<index>:<inputHash12>    one merge of a run's tree
 *   review:<runId>:<draftHash12>                   the review of a run's draft
 *   holdout:<runId>:<trajectoryId>:<base|draft>    one held-out failure checked against one version
 *   brief:<skill>:<version>:<kind>                 what every item of a stage shares
 *   brief:<runId>:<kind>
 */

export type WorkScope = { runId: string } | { skill: string; version: number };
export type BriefKind = "judge" | "error-analyst" | "success-analyst" | "merger" | "reviewer" | "coverage-base" | "coverage-draft";
const BRIEF_KINDS = "judge|error-analyst|success-analyst|merger|reviewer|coverage-base|coverage-draft";

export type ParsedWorkItemId =
  | { kind: "judge"; scope: WorkScope; trajectoryId: string }
  | { kind: "analysis"; scope: WorkScope; trajectoryId: string }
  | { kind: "merge"; runId: string; level: number; index: number; inputHash: string }
  | { kind: "review"; runId: string; draftHash: string }
  | { kind: "holdout"; runId: string; trajectoryId: string; version: "base" | "draft" }
  | { kind: "brief"; scope: WorkScope; brief: BriefKind };

const SKILL = "[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?";
const RUN = "[A-Za-z0-9][A-Za-z0-9_-]{0,127}";
const TRAJECTORY = "[0-9a-f]{64}";

function scopePrefix(scope: WorkScope): string {
  return "runId" in scope ? scope.runId : `${scope.skill}:${scope.version}`;
}

export function analysisWorkItemId(scope: WorkScope, trajectoryId: string): string {
  return `analysis:${scopePrefix(scope)}:${trajectoryId}`;
}

export function judgeWorkItemId(scope: WorkScope, trajectoryId: string): string {
  return `judge:${scopePrefix(scope)}:${trajectoryId}`;
}

export function mergeWorkItemId(runId: string, level: number, index: number, inputHash: string): string {
  return `merge:${runId}:${level}:${index}:${inputHash.slice(0, 12)}`;
}

export function reviewWorkItemId(runId: string, draftHash: string): string {
  return `review:${runId}:${draftHash.slice(0, 12)}`;
}

export function holdoutWorkItemId(runId: string, trajectoryId: string, version: "base" | "draft"): string {
  return `holdout:${runId}:${trajectoryId}:${version}`;
}

export function briefId(scope: WorkScope, kind: BriefKind): string {
  return `brief:${scopePrefix(scope)}:${kind}`;
}

const PATTERNS: [RegExp, (m: RegExpExecArray) => ParsedWorkItemId][] = [
  [
    new RegExp(`^(analysis|judge):(${SKILL}):(\\d{1,9}):(${TRAJECTORY})$`),
    (m) => ({ kind: m[1] === "judge" ? "judge" : "analysis", scope: { skill: m[2]!, version: Number(m[3]) }, trajectoryId: m[4]! }),
  ],
  [new RegExp(`^(analysis|judge):(${RUN}):(${TRAJECTORY})$`), (m) => ({ kind: m[1] === "judge" ? "judge" : "analysis", scope: { runId: m[2]! }, trajectoryId: m[3]! })],
  [
    new RegExp(`^merge:(${RUN}):(\\d{1,3}):(\\d{1,6}):([0-9a-f]{12})$`),
    (m) => ({ kind: "merge", runId: m[1]!, level: Number(m[2]), index: Number(m[3]), inputHash: m[4]! }),
  ],
  [new RegExp(`^review:(${RUN}):([0-9a-f]{12})$`), (m) => ({ kind: "review", runId: m[1]!, draftHash: m[2]! })],
  [
    new RegExp(`^holdout:(${RUN}):(${TRAJECTORY}):(base|draft)$`),
    (m) => ({ kind: "holdout", runId: m[1]!, trajectoryId: m[2]!, version: m[3] as "base" | "draft" }),
  ],
  [
    new RegExp(`^brief:(${SKILL}):(\\d{1,9}):(${BRIEF_KINDS})$`),
    (m) => ({ kind: "brief", scope: { skill: m[1]!, version: Number(m[2]) }, brief: m[3] as BriefKind }),
  ],
  [new RegExp(`^brief:(${RUN}):(${BRIEF_KINDS})$`), (m) => ({ kind: "brief", scope: { runId: m[1]! }, brief: m[2] as BriefKind })],
];

export function parseWorkItemId(id: string): ParsedWorkItemId {
  for (const [pattern, build] of PATTERNS) {
    const m = pattern.exec(id);
    if (m) return build(m);
  }
  throw new InvalidInputError(
    `"${id.slice(0, 200)}" is not a work item id. Use a workItemId from list_work_items (or a briefId it names).`,
  );
}
