import type { z } from "zod";
import { fitRun, MAX_RUN_BYTES } from "./fit.js";
import {
  errorMessage,
  InvalidNameError,
  InvalidTrajectoryError,
  PayloadTooLargeError,
  UnknownFormatError,
} from "../util/errors.js";
import { decodeRaw } from "./importers/raw.js";
import { FORMAT_NAMES, IMPORTERS, importerFor } from "./importers/index.js";
import { mergeSkipNotes } from "./importers/openai-messages.js";
import type { Importer, RawRun, SkipNote } from "./importers/types.js";
import { redactSecrets } from "../util/redact.js";
import {
  SkillNameSchema,
  StepRoleSchema,
  TrajectoryDraftSchema,
  finaliseTrajectory,
  type Outcome,
  type Trajectory,
  type TrajectoryDraftInput,
} from "./schema.js";

/**
 * The one path from what a submitter gave us to finalised trajectories: size check,
 * decoding, format import, caller options, validation, secret redaction (before the id is
 * computed, so nothing downstream ever sees a secret), and ids. Pure: nothing is stored.
 */

/**
 * One submission (a request, a file) may hold many runs: its limit only guards memory. Each run
 * is then held to MAX_RUN_BYTES, by cutting its longest outputs rather than refusing it (fit.ts).
 */
export const MAX_RAW_BYTES = 48 * 1024 * 1024;
export const CANONICAL_FORMAT = "canonical";

export interface IngestOptions {
  /** A format id (see FORMAT_NAMES) or "canonical"; detected from the shape when absent. */
  format?: string;
  /** The skill these runs are evidence for; overrides what the format says. */
  skill?: string | null;
  /** Merged over the importer's outcome (e.g. a CI verdict for a raw transcript). */
  outcome?: Partial<Outcome>;
  /** Added to the importer's tags. */
  tags?: string[];
  /**
   * The skill version the runs used, for runs that do not say: a number (the submitter's), or
   * per skill (the version an MCP session last read of the run's skill).
   */
  skillVersion?: number | null | ((skill: string | null) => number | undefined);
  fileName?: string;
  maxBytes?: number;
  /** Per-run limit (default MAX_RUN_BYTES). */
  maxRunBytes?: number;
  now?: Date;
}

export interface IngestResult {
  trajectories: Trajectory[];
  redactions: number;
  redactionKinds: Record<string, number>;
  skipped: SkipNote[];
  format: string;
}

/** Size in UTF-8 bytes of text as given, or of a JSON value as it would be sent. */
function payloadBytes(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(value, "utf8");
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidTrajectoryError(`The run is not a JSON value (${errorMessage(err)}). Submit JSON or JSON Lines.`);
  }
  return Buffer.byteLength(text ?? "", "utf8");
}

function assertSize(value: unknown, opts: IngestOptions): void {
  const limit = opts.maxBytes ?? MAX_RAW_BYTES;
  const size = payloadBytes(value);
  if (size > limit) throw new PayloadTooLargeError("The submission", size, limit);
}

function assertSkillName(skill: string | null | undefined): void {
  if (skill === undefined || skill === null) return;
  const parsed = SkillNameSchema.safeParse(skill);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => i.message).join("; ");
    throw new InvalidNameError(`Invalid skill name "${skill}": ${why}`);
  }
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === "string") return value.trim().length === 0;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

const CANONICAL_KEYS = new Set([...Object.keys(TrajectoryDraftSchema.shape), "id"]);
const STEP_ROLES = new Set<string>(StepRoleSchema.options);

/**
 * A trajectory in our own shape (e.g. one read back from trajectory://{id}): only known
 * top-level keys, and steps with canonical roles and no chat `content` member.
 */
function looksCanonical(value: unknown): boolean {
  // Many runs: a JSON array or JSON Lines of canonical runs (as `trace2skill runs --json` style exports write them).
  if (Array.isArray(value)) return value.length > 0 && value.every(looksCanonical);
  if (value === null || typeof value !== "object") return false;
  const obj = value as Record<string, unknown>;
  if (!Object.keys(obj).every((k) => CANONICAL_KEYS.has(k)) || !Array.isArray(obj.steps) || obj.steps.length === 0) {
    return false;
  }
  return obj.steps.every(
    (s: unknown) =>
      s !== null &&
      typeof s === "object" &&
      STEP_ROLES.has(String((s as Record<string, unknown>).role)) &&
      !("content" in s),
  );
}

/** The first importer (registry order) that recognises the shape. */
export function detectFormat(raw: RawRun): Importer {
  const found = IMPORTERS.find((importer) => importer.detect(raw));
  if (found) return found;
  const what = raw.fileName ? `"${raw.fileName}"` : "the submitted run";
  const hint = typeof raw.value === "string" ? " It is not JSON or JSON Lines." : "";
  throw new UnknownFormatError(
    `Could not recognise the format of ${what}.${hint} Pass the format explicitly: one of ` +
      `${FORMAT_NAMES.join(", ")}, or "${CANONICAL_FORMAT}" for a trajectory object ({task, steps, outcome}).`,
  );
}

function formatIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join(".");
    return `${path || "(root)"}: ${issue.message}`;
  });
  const more = error.issues.length > shown.length ? ` (and ${error.issues.length - shown.length} more)` : "";
  return shown.join("; ") + more;
}

function withoutUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Caller options win over what the format said; tags are unioned, outcome fields merged.
 * A malformed `tags` or `outcome` is passed through untouched so validation names it.
 */
function applyOptions(run: TrajectoryDraftInput, opts: IngestOptions): TrajectoryDraftInput {
  const runTags: unknown = run.tags ?? [];
  const runOutcome: unknown = run.outcome ?? { success: null };
  const tags = Array.isArray(runTags) ? [...new Set([...runTags, ...(opts.tags ?? [])])] : run.tags;
  const outcome =
    runOutcome !== null && typeof runOutcome === "object" && !Array.isArray(runOutcome)
      ? { ...runOutcome, ...withoutUndefined(opts.outcome ?? {}) }
      : run.outcome;
  const skill = opts.skill !== undefined ? opts.skill : typeof run.skill === "string" ? run.skill : null;
  const version = run.skillVersion ?? (typeof opts.skillVersion === "function" ? opts.skillVersion(skill) : opts.skillVersion) ?? undefined;
  return {
    ...run,
    ...(opts.skill !== undefined ? { skill: opts.skill } : {}),
    ...(version !== undefined && version !== null ? { skillVersion: version } : {}),
    tags,
    outcome,
  } as TrajectoryDraftInput;
}

interface Finalised {
  trajectories: Trajectory[];
  redactions: number;
  redactionKinds: Record<string, number>;
  /** What was cut from runs over the per-run limit. */
  cut: SkipNote[];
}

function finaliseRuns(runs: TrajectoryDraftInput[], opts: IngestOptions): Finalised {
  const trajectories: Trajectory[] = [];
  const redactionKinds: Record<string, number> = {};
  const cut: SkipNote[] = [];
  let redactions = 0;
  const runLimit = opts.maxRunBytes ?? MAX_RUN_BYTES;
  runs.forEach((run, index) => {
    const parsed = TrajectoryDraftSchema.safeParse(applyOptions(run, opts));
    if (!parsed.success) {
      const which = runs.length > 1 ? `run ${index}: ` : "";
      throw new InvalidTrajectoryError(`Invalid trajectory: ${which}${formatIssues(parsed.error)}`);
    }
    const redacted = redactSecrets(parsed.data);
    redactions += redacted.count;
    for (const [kind, n] of Object.entries(redacted.kinds)) redactionKinds[kind] = (redactionKinds[kind] ?? 0) + n;
    const fitted = fitRun(redacted.value, runLimit);
    const size = Buffer.byteLength(JSON.stringify(fitted.run), "utf8");
    if (size > runLimit) throw new PayloadTooLargeError(runs.length > 1 ? `Run ${index} (after cutting its longest texts)` : "The run (after cutting its longest texts)", size, runLimit);
    cut.push(...fitted.notes);
    trajectories.push(finaliseTrajectory(fitted.run, opts.now));
  });
  return { trajectories, redactions, redactionKinds, cut };
}

function badLineNote(badLines: number[]): SkipNote[] {
  if (badLines.length === 0) return [];
  const listed = badLines.slice(0, 10).join(", ") + (badLines.length > 10 ? ", ..." : "");
  return [{ what: "JSONL line", reason: `not valid JSON (line ${listed})`, count: badLines.length }];
}

function ingestCanonicalValue(obj: unknown, opts: IngestOptions): IngestResult {
  const runs = Array.isArray(obj) ? obj : [obj];
  if (runs.length === 0 || runs.some((r) => r === null || typeof r !== "object" || Array.isArray(r))) {
    throw new InvalidTrajectoryError(
      "A canonical trajectory is an object {task, steps: [{role, text, toolCalls, toolResult}], outcome}; a file may hold one, a JSON array of them, or one per line (JSON Lines).",
    );
  }
  const { cut, ...finalised } = finaliseRuns(runs as TrajectoryDraftInput[], opts);
  return { ...finalised, skipped: mergeSkipNotes(cut), format: CANONICAL_FORMAT };
}

/** Ingest a trajectory already in the canonical shape ({task, steps, outcome, ...}). */
export function ingestCanonical(obj: unknown, opts: IngestOptions = {}): IngestResult {
  assertSize(obj, opts);
  assertSkillName(opts.skill);
  return ingestCanonicalValue(obj, opts);
}

/** Ingest a run as the agent wrote it: a JSON value, JSON text or JSON Lines text. */
export function ingestRaw(raw: unknown, opts: IngestOptions = {}): IngestResult {
  assertSize(raw, opts);
  assertSkillName(opts.skill);
  const decoded = decodeRaw(raw, opts.fileName);
  if (isEmpty(decoded.value)) {
    throw new InvalidTrajectoryError(
      "Nothing to import: the submitted run is empty. Submit at least one message or step.",
    );
  }
  if (opts.format === CANONICAL_FORMAT || (opts.format === undefined && looksCanonical(decoded.value))) {
    const canonical = ingestCanonicalValue(decoded.value, opts);
    return { ...canonical, skipped: mergeSkipNotes([...canonical.skipped, ...badLineNote(decoded.badLines)]) };
  }
  const importer = opts.format !== undefined ? importerFor(opts.format) : detectFormat(decoded);
  const imported = importer.parse(decoded);
  if (imported.runs.length === 0) {
    throw new InvalidTrajectoryError(`No run found in the ${importer.format} input: it holds nothing to import.`);
  }
  const { cut, ...finalised } = finaliseRuns(imported.runs, opts);
  return {
    ...finalised,
    skipped: mergeSkipNotes([...imported.skipped, ...badLineNote(decoded.badLines), ...cut]),
    format: importer.format,
  };
}
