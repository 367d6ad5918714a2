import { z } from "zod";
import type { Pricing } from "./config.js";

/** Token usage and cost, summed per run (or per analysis) from each model call. */

export const UsageSchema = z.object({
  inputTokens: z.number().int().nonnegative().default(0),
  outputTokens: z.number().int().nonnegative().default(0),
  costUsd: z.number().nonnegative().default(0),
  calls: z.number().int().nonnegative().default(0),
});
export type Usage = z.infer<typeof UsageSchema>;

/** Usage of nothing yet: the start of every sum. */
export const EMPTY_USAGE: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 });

export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 };
}

export function costOf(inputTokens: number, outputTokens: number, pricing?: Pricing): number {
  if (!pricing) return 0;
  return (inputTokens * pricing.inputPerMTok + outputTokens * pricing.outputPerMTok) / 1_000_000;
}

/** Usage of one model call. */
export function callUsage(inputTokens: number, outputTokens: number, pricing?: Pricing): Usage {
  return { inputTokens, outputTokens, costUsd: costOf(inputTokens, outputTokens, pricing), calls: 1 };
}

export function addUsage(a: Usage, b: Partial<Usage>): Usage {
  return {
    inputTokens: a.inputTokens + (b.inputTokens ?? 0),
    outputTokens: a.outputTokens + (b.outputTokens ?? 0),
    costUsd: a.costUsd + (b.costUsd ?? 0),
    calls: a.calls + (b.calls ?? 0),
  };
}

/**
 * A running total. `add` takes usage whose cost is already known (e.g. from callUsage or
 * a cached analysis); `record` prices raw token counts with the meter's pricing.
 */
export class UsageMeter {
  private total: Usage = emptyUsage();

  constructor(readonly pricing?: Pricing) {}

  add(usage: Partial<Usage>): void {
    this.total = addUsage(this.total, usage);
  }

  /** Count one call from its token counts; returns that call's usage. */
  record(inputTokens: number, outputTokens: number): Usage {
    const usage = callUsage(inputTokens, outputTokens, this.pricing);
    this.add(usage);
    return usage;
  }

  merge(other: UsageMeter | Usage): void {
    this.add(other instanceof UsageMeter ? other.snapshot() : other);
  }

  snapshot(): Usage {
    return { ...this.total };
  }
}
