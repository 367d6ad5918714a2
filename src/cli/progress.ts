/**
 * One updating status line on stderr, for long CLI commands (ingest, evolve). Only on a
 * terminal: piped stderr and --json output get nothing, so logs and scripts stay clean.
 */

export interface Progress {
  /** Redraw the line; cheap to call often (redraws are throttled). */
  update(done: number, total: number, message?: string): void;
  /** Clear the line, and leave `summary` in its place when given. */
  done(summary?: string): void;
}

export interface ProgressOptions {
  /** --json given: never draw. */
  json?: boolean;
  stream?: NodeJS.WriteStream;
  /** Minimum time between redraws. */
  intervalMs?: number;
}

const NO_PROGRESS: Progress = { update() {}, done() {} };

export function createProgress(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.json || !stream.isTTY) return NO_PROGRESS;
  const intervalMs = options.intervalMs ?? 80;
  let lastDraw = 0;
  let drawn = false;
  let shown = { done: -1, total: -1 };

  const draw = (text: string): void => {
    const width = Math.max(20, (stream.columns || 80) - 1);
    stream.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    drawn = true;
  };

  return {
    update(done, total, message) {
      // The bar only moves forward: a late or out-of-order report of the same total is ignored.
      if (total === shown.total && done < shown.done) return;
      shown = { done, total };
      const now = Date.now();
      if (done < total && now - lastDraw < intervalMs) return;
      lastDraw = now;
      draw(formatProgressLine(label, done, total, message));
    },
    done(summary) {
      if (drawn) stream.write("\r\x1b[K");
      if (summary) stream.write(`${summary}\n`);
      drawn = false;
    },
  };
}

/** "ingest [#####-----] 12/24 files · 30 runs" */
export function formatProgressLine(label: string, done: number, total: number, message?: string): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(ratio * 20);
  const bar = `[${"#".repeat(filled)}${"-".repeat(20 - filled)}]`;
  return `${label} ${bar} ${done}/${total}${message ? ` · ${message}` : ""}`;
}
