import { planLevels } from "../consolidation/merge-tree.js";

/**
 * One forward-only progress per run. MCP requires every progress notification of a request
 * to carry a larger value than the one before, and a bar that jumps back tells a person
 * nothing: so a run fixes one total when it starts (analyses + merges + applying), each
 * stage maps its own counts into that range, and a value that would go back is not sent.
 */

export interface ProgressState {
  done: number;
  total: number;
  message: string;
}

/** Where each stage's units sit in the run's one range. */
export class ProgressPlan {
  readonly mergeLevels: number[];

  constructor(
    readonly analyses: number,
    patches: number,
    fanIn: number,
  ) {
    this.mergeLevels = planLevels(Math.max(0, patches), fanIn);
  }

  get merges(): number {
    return this.mergeLevels.reduce((a, b) => a + b, 0);
  }

  /** Analyses, merges, and one unit for placing, guarding, applying and validating. */
  get total(): number {
    return this.analyses + this.merges + 1;
  }

  analysed(done: number): number {
    return Math.min(done, this.analyses);
  }

  /** `done` groups of `level` (1-based) finished, every earlier level complete. */
  merged(level: number, done: number): number {
    const before = this.mergeLevels.slice(0, Math.max(0, level - 1)).reduce((a, b) => a + b, 0);
    return this.analyses + Math.min(this.merges, before + done);
  }

  applying(): number {
    return this.analyses + this.merges;
  }
}

/**
 * The progress of one run as it is persisted and reported. The total is fixed by the first
 * plan (a resumed run keeps it); `done` never decreases and stays below the total until the
 * run really finishes.
 */
export class ForwardProgress {
  private state: ProgressState;

  constructor(initial: ProgressState) {
    this.state = { ...initial };
  }

  get current(): ProgressState {
    return { ...this.state };
  }

  /** Fix the total, unless an earlier start of this run already did. */
  plan(total: number): void {
    if (this.state.total === 0) this.state = { ...this.state, total: Math.max(1, total) };
  }

  /** Move to `done` (clamped below the total); true when the value went forward. */
  advance(done: number, message: string): boolean {
    const ceiling = Math.max(0, this.state.total - 1);
    const next = Math.min(Math.max(this.state.done, Math.floor(done)), ceiling);
    const moved = next > this.state.done;
    this.state = { ...this.state, done: next, message };
    return moved;
  }

  /** The run is over: everything is done. */
  complete(message: string): boolean {
    const total = Math.max(1, this.state.total);
    const moved = this.state.done < total;
    this.state = { done: total, total, message };
    return moved;
  }
}
