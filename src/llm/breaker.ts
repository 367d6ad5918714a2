import { ModelError } from "../util/errors.js";

/**
 * Stop early when a model is down. Each failed attempt (an HTTP error, a timeout, a reply that
 * does not fit the schema) is counted by kind, except a rate limit that says how long to wait;
 * after `threshold` failures in a row across all calls, with no valid reply between, the
 * breaker opens: further calls fail at once with a message that names what the failures were
 * (rate limits, server errors, timeouts, unreachable, invalid replies), instead of each call
 * paying its own retries for minutes. After `cooldownMs` one call is let through again; a
 * success closes the breaker.
 */

export const DEFAULT_BREAKER_THRESHOLD = 12;
export const DEFAULT_BREAKER_COOLDOWN_MS = 30_000;

const KIND_NAMES: Record<string, string> = {
  rate_limit: "rate limited (HTTP 429)",
  server: "server errors (HTTP 5xx)",
  timeout: "timed out",
  connection: "could not connect",
  auth: "credentials refused",
  not_found: "not found (HTTP 404)",
  rejected: "request rejected",
  invalid_reply: "replies that did not fit the schema",
  unknown: "other errors",
};

export function describeKind(kind: string): string {
  return KIND_NAMES[kind] ?? kind;
}

export class OutageBreaker {
  private streak: { kind: string; message: string }[] = [];
  private openedAt: number | null = null;

  constructor(
    private readonly threshold = DEFAULT_BREAKER_THRESHOLD,
    private readonly cooldownMs = DEFAULT_BREAKER_COOLDOWN_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws when open (and not yet cooled down). */
  check(where: string): void {
    if (this.openedAt === null) return;
    if (this.now() - this.openedAt >= this.cooldownMs) {
      // Half-open: this call goes through; one more failure opens the breaker again.
      this.openedAt = null;
      this.streak = this.streak.slice(-(this.threshold - 1));
      return;
    }
    throw new ModelError(this.describe(where), false, "outage");
  }

  success(): void {
    this.streak = [];
    this.openedAt = null;
  }

  failure(kind: string, message: string): void {
    this.streak.push({ kind, message });
    if (this.streak.length >= this.threshold && this.openedAt === null) this.openedAt = this.now();
  }

  get isOpen(): boolean {
    return this.openedAt !== null;
  }

  /** "the last 6 calls failed: rate limited (HTTP 429) ×4, server errors (HTTP 5xx) ×2". */
  describe(where: string): string {
    const counts = new Map<string, number>();
    for (const f of this.streak) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    const kinds = [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([kind, n]) => `${describeKind(kind)} ×${n}`)
      .join(", ");
    const last = this.streak.at(-1)?.message ?? "";
    return (
      `Stopped calling the model at ${where}: the last ${this.streak.length} calls failed (${kinds}), so the rest were not tried. ` +
      `Last error: ${last}`
    );
  }
}
