/**
 * Typed domain errors. Every message must tell the user what was wrong and how to fix it;
 * the MCP and CLI surfaces show `message` as is (isError result / non-zero exit).
 */
export class Trace2SkillError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends Trace2SkillError {
  constructor(message: string) {
    super(message, "invalid_input");
  }
}

export class InvalidTrajectoryError extends Trace2SkillError {
  constructor(message: string) {
    super(message, "invalid_trajectory");
  }
}

export class UnknownFormatError extends Trace2SkillError {
  constructor(message: string) {
    super(message, "unknown_format");
  }
}

export class PayloadTooLargeError extends Trace2SkillError {
  constructor(what: string, size: number, limit: number) {
    super(
      `${what} is ${formatBytes(size)}, over the limit of ${formatBytes(limit)}. ` +
        `Split the run into smaller parts or truncate long tool outputs before submitting.`,
      "payload_too_large",
    );
  }
}

export class InvalidNameError extends Trace2SkillError {
  constructor(message: string) {
    super(message, "invalid_name");
  }
}

export class UnsafePathError extends Trace2SkillError {
  constructor(message: string) {
    super(message, "unsafe_path");
  }
}

export class SkillNotFoundError extends Trace2SkillError {
  constructor(skill: string, version?: number) {
    super(
      version === undefined
        ? `Skill "${skill}" not found. List the known skills (list_skills, or trace2skill skills), or add one (import_skill, or trace2skill import <folder>).`
        : `Skill "${skill}" has no version ${version}. List its versions with skill_history (CLI: trace2skill history ${skill}).`,
      "skill_not_found",
    );
  }
}

export class TrajectoryNotFoundError extends Trace2SkillError {
  constructor(id: string) {
    super(
      `Trajectory "${id}" not found. Use the id returned by submit_trajectory or printed by ingest (the full 64 hex digits, or a unique prefix of at least 8).`,
      "trajectory_not_found",
    );
  }
}

export class InvalidSkillError extends Trace2SkillError {
  constructor(message: string, readonly problems: string[] = []) {
    super(message, "invalid_skill");
  }
}

export class ModelError extends Trace2SkillError {
  /** What went wrong, when known: rate_limit, server, timeout, connection, auth, invalid_reply, outage, … */
  constructor(
    message: string,
    readonly retryable = false,
    readonly kind?: string,
  ) {
    super(message, "model_error");
  }
}

export class ConflictError extends Trace2SkillError {
  constructor(message: string) {
    super(message, "conflict");
  }
}

/** A store file (index or payload) that cannot be parsed; nothing was changed. */
export class StoreCorruptError extends Trace2SkillError {
  constructor(message: string) {
    super(message, "store_corrupt");
  }
}

/** The store cannot be reached right now (the database is down or refuses connections); retry later. */
export class StoreUnavailableError extends Trace2SkillError {
  constructor(message: string) {
    super(message, "store_unavailable");
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Message for any thrown value, without a stack for our own errors. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
