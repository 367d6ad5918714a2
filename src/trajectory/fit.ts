import { formatBytes } from "../util/errors.js";
import type { SkipNote } from "./importers/types.js";
import type { TrajectoryDraft } from "./schema.js";

/**
 * A run over the per-run limit is stored with its longest texts cut rather than refused: a
 * long coding session is still evidence, and what made it long is nearly always a few huge
 * tool outputs (a build log, a file dump). Tool outputs are cut first, longest first, down to
 * one common cap; step texts only if that is not enough. Each cut keeps the head and the tail
 * and says how many bytes went, so an analyst knows something was there.
 */

export const MAX_RUN_BYTES = 8 * 1024 * 1024;

/** Head and tail kept of every cut text, at least. */
const MIN_KEEP_CHARS = 2_000;

export interface FitResult {
  run: TrajectoryDraft;
  /** What was cut, for the submitter's report (empty when the run fitted). */
  notes: SkipNote[];
}

function sizeOf(run: TrajectoryDraft): number {
  return Buffer.byteLength(JSON.stringify(run), "utf8");
}

interface Slot {
  get(): string;
  set(text: string): void;
}

function cutMarker(bytes: number, limit: number): string {
  return `\n[… ${bytes} bytes cut here: the run was over the ${formatBytes(limit)} per-run limit …]\n`;
}

/** `text` cut to about `cap` chars: head, marker, tail. Returns the cut text and the bytes removed. */
function cutTo(text: string, cap: number, limit: number): { text: string; removed: number } {
  if (text.length <= cap) return { text, removed: 0 };
  const keep = Math.max(MIN_KEEP_CHARS, cap);
  const head = text.slice(0, Math.ceil(keep / 2));
  const tail = text.slice(text.length - Math.floor(keep / 2));
  const removed = Buffer.byteLength(text, "utf8") - Buffer.byteLength(head + tail, "utf8");
  return { text: head + cutMarker(removed, limit) + tail, removed };
}

/** The largest cap at which cutting every slot longer than it frees at least `excess` chars. */
function capFor(lengths: number[], excess: number): number {
  let lo = MIN_KEEP_CHARS;
  let hi = Math.max(MIN_KEEP_CHARS, ...lengths);
  const freed = (cap: number) => lengths.reduce((sum, n) => sum + Math.max(0, n - cap - 120), 0);
  if (freed(lo) < excess) return lo;
  while (hi - lo > 64) {
    const mid = Math.floor((lo + hi) / 2);
    if (freed(mid) >= excess) lo = mid;
    else hi = mid;
  }
  return lo;
}

function shrink(run: TrajectoryDraft, slots: Slot[], limit: number): { cut: number; removed: number } {
  const excess = sizeOf(run) - limit;
  if (excess <= 0 || slots.length === 0) return { cut: 0, removed: 0 };
  // JSON escaping makes bytes ≥ chars for most text: a char-based cap with 10 % head-room.
  const cap = capFor(slots.map((s) => s.get().length), Math.ceil(excess * 1.1));
  let cut = 0;
  let removed = 0;
  for (const slot of slots) {
    const result = cutTo(slot.get(), cap, limit);
    if (result.removed > 0) {
      slot.set(result.text);
      cut++;
      removed += result.removed;
    }
  }
  return { cut, removed };
}

export function fitRun(input: TrajectoryDraft, limit = MAX_RUN_BYTES): FitResult {
  if (sizeOf(input) <= limit) return { run: input, notes: [] };
  const run: TrajectoryDraft = structuredClone(input);
  const outputs: Slot[] = run.steps.flatMap((step) =>
    step.toolResult ? [{ get: () => step.toolResult!.content, set: (t: string) => (step.toolResult!.content = t) }] : [],
  );
  const texts: Slot[] = run.steps.flatMap((step) => (step.text ? [{ get: () => step.text!, set: (t: string) => (step.text = t) }] : []));
  const notes: SkipNote[] = [];
  // Tool outputs first; step texts only if that was not enough.
  for (const [what, slots] of [["tool output", outputs], ["step text", texts]] as const) {
    const { cut, removed } = shrink(run, slots, limit);
    if (cut === 0) continue;
    notes.push({
      what,
      reason: `cut to fit the ${formatBytes(limit)} per-run limit (${formatBytes(removed)} removed; each cut is marked in the text)`,
      count: cut,
    });
  }
  return { run, notes };
}
