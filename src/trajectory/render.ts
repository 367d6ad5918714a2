import { z } from "zod";
import type { Step, Trajectory } from "./schema.js";

/**
 * Rendering a trajectory for an analyst, within a token budget.
 *
 * Token estimate: characters / 4 (rounded up). It is the usual rule of thumb for English
 * text with BPE tokenisers; JSON-heavy observations tokenise a little denser, which is one
 * reason the default budget keeps head-room (see DEFAULT_RENDER_BUDGET_TOKENS).
 *
 * What is kept, in order of priority: the header (task, outcome), every step's id "#N"
 * (its index, which lessons cite), every error step and the last steps whole, the tool
 * result read right before each write call as whole as the opening, then the
 * other steps with their long texts truncated by explicit "[… N chars truncated …]"
 * markers — the middle of the run more aggressively than its opening — and, only when a
 * run is so long that even one line per step is too much, ranges of middle steps folded
 * into one line that still names their ids and tool calls.
 */

/**
 * Default budget for one rendered trajectory, sized for current models (32k-token contexts
 * and up): at 3,500 tokens, measured on the tau-bench fixture, several runs lost the evidence
 * a decision hinged on (a profile's balances, search results, the original itinerary). With
 * the analyst prompt (~1,100), the whole base skill (a few thousand) and a shared system
 * prompt (~1,550), a request stays under ~20k tokens. Configurable per call.
 */
export const DEFAULT_RENDER_BUDGET_TOKENS = 12_000;

/** Tool calls that change something: the result read right before one is what the decision hinged on. */
const WRITE_CALL = /book|cancel|update|create|delete|remove|write|edit|send|post|put|patch|apply|transfer|refund|pay|modify|set_|commit|push|deploy/i;

/** The last this-many steps are always rendered whole: how a run ends is what the outcome judges. */
export const TAIL_STEPS = 6;

/** Texts shorter than this are not worth replacing by a shared-context marker. */
const MIN_SHARED_CHARS = 200;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export const SharedBlockSchema = z.object({
  id: z.string().describe('Marker id, e.g. "S1"'),
  text: z.string(),
  runs: z.number().int().positive().describe("How many of the scanned runs contain it"),
});
export const SharedContextSchema = z.object({
  blocks: z.array(SharedBlockSchema),
  runs: z.number().int().nonnegative().describe("How many runs were scanned"),
});
export type SharedContext = z.infer<typeof SharedContextSchema>;
export type SharedBlock = z.infer<typeof SharedBlockSchema>;

/**
 * Step texts (typically the system prompt) identical in at least half of the runs (and in
 * two at least): each is given once, and renderings replace it by a marker.
 */
export function findSharedContext(ts: readonly Trajectory[]): SharedContext {
  const runsPerText = new Map<string, number>();
  const firstSeen: string[] = [];
  for (const t of ts) {
    const texts = new Set(t.steps.map((s) => s.text).filter((x): x is string => !!x && x.length >= MIN_SHARED_CHARS));
    for (const text of texts) {
      if (!runsPerText.has(text)) firstSeen.push(text);
      runsPerText.set(text, (runsPerText.get(text) ?? 0) + 1);
    }
  }
  const needed = Math.max(2, Math.ceil(ts.length / 2));
  const blocks = firstSeen
    .filter((text) => (runsPerText.get(text) ?? 0) >= needed)
    .map((text, i) => ({ id: `S${i + 1}`, text, runs: runsPerText.get(text) ?? 0 }));
  return { blocks, runs: ts.length };
}

export function sharedMarker(block: Pick<SharedBlock, "id">): string {
  return `[shared context ${block.id} — shown once above]`;
}

/** The shared blocks as one text, to place once before the renderings that point to it. */
export function renderSharedContext(shared: SharedContext): string {
  if (shared.blocks.length === 0) return "";
  return shared.blocks
    .map((b) => `=== shared context ${b.id} (identical in ${b.runs}/${shared.runs} runs) ===\n${b.text}\n=== end ${b.id} ===`)
    .join("\n\n");
}

export interface RenderOptions {
  budgetTokens?: number;
  shared?: SharedContext;
  /** Show `outcome.expected` (ground truth). Only the error analyst gets it, for diagnosis. */
  showExpected?: boolean;
}

export interface Rendering {
  text: string;
  /** Estimate for the naive rendering: every step whole, shared texts inline. */
  tokensBefore: number;
  tokensAfter: number;
  /** Steps whose content was shortened or folded away. */
  truncated: number;
}

/** How one step is shown. `cap` limits each long text of the step (text, result, call args). */
type StepMode = { kind: "whole" } | { kind: "cap"; textCap: number; resultCap: number; argsCap: number } | { kind: "fold" };

/** Observation caps tried in turn for the steps that are not protected. */
const RESULT_CAPS = [2000, 1200, 700, 400, 200, 100] as const;
/** Caps for protected steps, only when the unprotected ones are already folded. */
const PROTECTED_CAPS = [2000, 800, 300] as const;
/** The opening steps are truncated less than the middle: they set up the task. */
const OPENING_STEPS = 3;

export function renderTrajectory(t: Trajectory, opts: RenderOptions = {}): Rendering {
  const budget = opts.budgetTokens ?? DEFAULT_RENDER_BUDGET_TOKENS;
  const blocks = opts.shared?.blocks ?? [];
  const header = renderHeader(t, opts.showExpected === true);
  const steps = t.steps.map((s) => substituteShared(s, blocks));
  const tokensBefore = estimateTokens(header + renderSteps(t.steps, t.steps.map(() => ({ kind: "whole" }))).text);

  let best: { text: string; cut: number } | undefined;
  for (const modes of plans(t.steps)) {
    const body = renderSteps(steps, modes);
    const text = header + body.text;
    best = { text, cut: body.cut };
    if (estimateTokens(text) <= budget) break;
  }
  const chosen = best ?? { text: header, cut: 0 };
  return { text: chosen.text, tokensBefore, tokensAfter: estimateTokens(chosen.text), truncated: chosen.cut };
}

/** One step exactly as it was, nothing cut: what the agentic analyst's `get_step` returns. */
export function renderFullStep(t: Trajectory, index: number): string {
  const step = t.steps[index];
  if (!step) throw new RangeError(`Trajectory ${t.id} has no step #${index}.`);
  return renderStep(step, index, { kind: "whole" }).text;
}

function substituteShared(step: Step, blocks: readonly SharedBlock[]): Step {
  if (!step.text) return step;
  for (const block of blocks) {
    if (step.text === block.text) return { ...step, text: sharedMarker(block) };
    if (step.text.startsWith(block.text)) return { ...step, text: `${sharedMarker(block)}\n${step.text.slice(block.text.length)}` };
  }
  return step;
}

function isErrorStep(step: Step): boolean {
  return step.toolResult?.isError === true;
}

/** The last tool result before each write call: kept whole, since the write was decided on it. */
function resultsBeforeWrites(steps: readonly Step[]): Set<number> {
  const kept = new Set<number>();
  let lastResult = -1;
  steps.forEach((step, i) => {
    if ((step.toolCalls ?? []).some((c) => WRITE_CALL.test(c.name)) && lastResult >= 0) kept.add(lastResult);
    if (step.toolResult) lastResult = i;
  });
  return kept;
}

/**
 * Rendering plans from the gentlest to the most aggressive; the first that fits wins.
 * Protected = error steps and the tail. Middle = neither protected nor in the opening.
 */
function* plans(steps: readonly Step[]): Generator<StepMode[]> {
  const n = steps.length;
  const isProtected = steps.map((s, i) => isErrorStep(s) || i >= n - TAIL_STEPS);
  // The result read before a write is cut as little as the opening, and never folded away.
  const beforeWrite = resultsBeforeWrites(steps);
  const isMiddle = steps.map((_, i) => !isProtected[i] && i >= OPENING_STEPS && !beforeWrite.has(i));
  const whole: StepMode = { kind: "whole" };

  yield steps.map(() => whole);
  for (const cap of RESULT_CAPS) {
    yield steps.map((_, i) => {
      if (isProtected[i]) return whole;
      const c = isMiddle[i] ? Math.floor(cap / 2) : cap;
      return { kind: "cap", resultCap: c, textCap: c * 2, argsCap: c * 2 };
    });
  }
  const oneLine: StepMode = { kind: "cap", resultCap: 0, textCap: 80, argsCap: 80 };
  const opening: StepMode = { kind: "cap", resultCap: 100, textCap: 200, argsCap: 200 };
  const squeezed: StepMode[] = steps.map((_, i) => (isProtected[i] ? whole : isMiddle[i] ? oneLine : opening));
  yield squeezed;

  // Fold middle steps from the centre outwards: the ends of a run say the most.
  const middle = steps.map((_, i) => i).filter((i) => isMiddle[i]);
  const centre = Math.floor(middle.length / 2);
  const byDistance = middle
    .map((idx, k) => ({ idx, d: Math.abs(k - centre) }))
    .sort((a, b) => a.d - b.d || a.idx - b.idx)
    .map((x) => x.idx);
  const folded: StepMode[] = [...squeezed];
  const chunk = Math.max(1, Math.ceil(byDistance.length / 8));
  for (let k = 0; k < byDistance.length; k += chunk) {
    for (const idx of byDistance.slice(k, k + chunk)) folded[idx] = { kind: "fold" };
    yield [...folded];
  }

  // Last resort: even protected steps are truncated, error steps after the tail.
  for (const cap of PROTECTED_CAPS) {
    yield folded.map((m, i) =>
      isProtected[i] && !isErrorStep(steps[i] as Step) ? { kind: "cap", resultCap: cap, textCap: cap, argsCap: cap } : m,
    );
  }
  for (const cap of PROTECTED_CAPS) {
    yield folded.map((m, i) => (isProtected[i] ? { kind: "cap", resultCap: cap, textCap: cap, argsCap: cap } : m));
  }
  yield steps.map(() => ({ kind: "fold" }));
}

function renderHeader(t: Trajectory, showExpected: boolean): string {
  const lines = [`Trajectory ${t.id}`];
  const meta = [
    t.skill ? `skill: ${t.skill}` : null,
    `source: ${t.source}`,
    t.agent ? `agent: ${t.agent}` : null,
    t.model ? `model: ${t.model}` : null,
    t.skillVersion !== null ? `skill version used: ${t.skillVersion}` : null,
  ].filter((x): x is string => x !== null);
  lines.push(meta.join(" | "));
  lines.push(`Outcome: ${outcomeLabel(t)}`);
  if (t.outcome.feedback) lines.push(`Feedback: ${truncateText(t.outcome.feedback, 1500).text}`);
  if (t.task) lines.push(`Task: ${truncateText(t.task, 3000).text}`);
  if (showExpected && t.outcome.expected) {
    lines.push(
      "Expected outcome (ground truth — for diagnosis only; never copy it or its values into a lesson or an edit):",
      truncateText(t.outcome.expected, 3000).text,
    );
  }
  lines.push(`Steps: ${t.steps.length} (cite them by their ids #0–#${t.steps.length - 1})`, "");
  return lines.join("\n") + "\n";
}

function outcomeLabel(t: Trajectory): string {
  const s = t.outcome.success;
  const label = s === true ? "SUCCESS" : s === false ? "FAILURE" : "UNKNOWN";
  return t.outcome.score !== undefined ? `${label} (score ${t.outcome.score})` : label;
}

function renderSteps(steps: readonly Step[], modes: readonly StepMode[]): { text: string; cut: number } {
  const out: string[] = [];
  let cut = 0;
  let foldStart = -1;
  const flushFold = (end: number) => {
    if (foldStart < 0) return;
    out.push(foldLine(steps, foldStart, end));
    cut += end - foldStart + 1;
    foldStart = -1;
  };
  steps.forEach((step, i) => {
    const mode = modes[i] ?? { kind: "whole" };
    if (mode.kind === "fold") {
      if (foldStart < 0) foldStart = i;
      return;
    }
    flushFold(i - 1);
    const r = renderStep(step, i, mode);
    out.push(r.text);
    if (r.cut) cut++;
  });
  flushFold(steps.length - 1);
  return { text: out.join("\n"), cut };
}

function foldLine(steps: readonly Step[], from: number, to: number): string {
  const counts = new Map<string, number>();
  let errors = 0;
  for (const s of steps.slice(from, to + 1)) {
    for (const c of s.toolCalls ?? []) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
    if (isErrorStep(s)) errors++;
  }
  const calls = [...counts].map(([name, c]) => (c > 1 ? `${name}×${c}` : name)).join(", ");
  const ids = from === to ? `#${from}` : `#${from}–#${to}`;
  const n = to - from + 1;
  return `[${ids}: ${n} step${n > 1 ? "s" : ""} folded to fit the budget${calls ? `; tool calls: ${calls}` : ""}${errors ? `; ${errors} error(s)` : ""}]`;
}

function renderStep(step: Step, index: number, mode: StepMode): { text: string; cut: boolean } {
  const capOf = (which: "text" | "result" | "args"): number =>
    mode.kind === "cap" ? (which === "text" ? mode.textCap : which === "result" ? mode.resultCap : mode.argsCap) : Infinity;
  let cut = false;
  const clip = (s: string, cap: number) => {
    const r = truncateText(s, cap);
    cut ||= r.cut;
    return r.text;
  };

  const who = [step.role, step.source && step.source !== step.role ? `(${step.source})` : "", step.sidechain ? "[sidechain]" : ""]
    .filter(Boolean)
    .join(" ");
  const lines: string[] = [];
  if (step.toolResult) {
    const r = step.toolResult;
    const label = `#${index} ${who}${r.name ? ` ${r.name}` : ""}${r.isError ? " ERROR" : ""}:`;
    lines.push(`${label} ${clip(r.content, capOf("result"))}`);
    if (step.text) lines.push(`   ${clip(step.text, capOf("text"))}`);
  } else {
    lines.push(`#${index} ${who}:${step.text ? ` ${clip(step.text, capOf("text"))}` : ""}`);
  }
  for (const call of step.toolCalls ?? []) {
    lines.push(`   → ${call.name}(${clip(argsJson(call.arguments), capOf("args"))})`);
  }
  return { text: lines.join("\n"), cut };
}

function argsJson(args: unknown): string {
  if (typeof args === "string") return args;
  if (args === undefined) return "";
  return JSON.stringify(args) ?? "";
}

/**
 * Keep the head (most of the budget) and the tail of a long text, with an explicit marker
 * in between. A cap of 0 keeps only the marker.
 */
export function truncateText(text: string, cap: number): { text: string; cut: boolean } {
  if (text.length <= cap) return { text, cut: false };
  const head = Math.floor(cap * 0.7);
  const tail = cap - head;
  const removed = text.length - head - tail;
  const marker = `[… ${removed} chars truncated …]`;
  return { text: `${text.slice(0, head)}${marker}${tail > 0 ? text.slice(text.length - tail) : ""}`, cut: true };
}
