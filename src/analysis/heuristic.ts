import type { Step, Trajectory } from "../trajectory/schema.js";
import type { SkillFolder } from "../skill/types.js";
import { findSection } from "../skill/markdown.js";
import { sha256 } from "../util/hash.js";
import type { Edit, Evidence, Lesson, LessonKind } from "./schema.js";

/**
 * The heuristic analyst: no model, only counting over the runs of one skill whose outcome is
 * known. It is the zero-setup baseline, and it writes into the skill only what counting can
 * justify:
 * - a recurring tool-error signature, as a check before the call (error text and support quoted);
 * - where the same task ran several times with different outcomes, the first action where
 *   failed attempts parted from successful ones (unless the base skill prescribes that step).
 * Correlations of tool use with outcome (which tasks were hard, not what went wrong) are
 * reported as observations and never become rules.
 *
 * Features are generic — tool names, positions and error texts, never domain names:
 * - `call`    a tool was called at all;
 * - `before`  among runs that call Y, X was called before the first Y;
 * - `reply`   among runs that call X, the first X call came right after the user answered
 *             a message of the agent (e.g. a confirmation it asked for);
 * - `multi`   some assistant turn made more than one tool call;
 * - `error`   a tool returned an error; `errsig` the same normalised error text recurred.
 * A feature becomes a lesson when its rate differs between successes and failures with a
 * one-sided Fisher exact p < 0.05 and a gap of at least 15 points, backed by at least
 * `minSupport` runs. A recurring error signature is a pitfall whatever the outcome: it
 * needs only the support, and up to a third of the lessons go to the most frequent ones.
 */

export interface HeuristicOptions {
  /** Fewest runs that must show a pattern (default 3). */
  minSupport?: number;
  /** Most lessons to keep, strongest first (default 12). */
  maxLessons?: number;
  /** Base skill: decides between append_to_section and add_section for the edits. */
  base?: SkillFolder;
}

export interface HeuristicResult {
  /** Rules: recurring error signatures and within-task divergences. */
  lessons: Lesson[];
  edits: Edit[];
  /** Correlations of tool use with outcome: for the run's report, never for the skill. */
  observations: string[];
}

export const PITFALLS_SECTION = "Pitfalls";
export const HABITS_SECTION = "Habits that work";

const P_THRESHOLD = 0.05;
const MIN_GAP = 0.15;

type FeatureKind = "call" | "before" | "reply" | "multi" | "error" | "errsig" | "diverge";

interface Feature {
  key: string;
  kind: FeatureKind;
  /** Tool names the feature is about (X, or X then Y). */
  tools: string[];
  /** For errsig: the normalised error text. */
  signature?: string;
  /** For conditional features: the tool whose presence defines the population. */
  condition?: string;
}

/** Where a feature shows in one run: the step ids to cite. */
type Observations = Map<string, { feature: Feature; steps: number[] }>;

interface Group {
  total: number;
  ids: string[];
}

interface Scored {
  feature: Feature;
  success: Group;
  failure: Group;
  /** Which outcome the feature goes with. */
  favours: "success" | "failure";
  p: number;
  evidence: Map<string, number[]>;
  /** For a divergence: in how many tasks it was seen. */
  tasks?: number;
}

export function mineHeuristicLessons(ts: readonly Trajectory[], opts: HeuristicOptions = {}): HeuristicResult {
  const minSupport = opts.minSupport ?? 3;
  const maxLessons = opts.maxLessons ?? 12;
  const known = ts.filter((t) => t.outcome.success !== null);
  const successes = known.filter((t) => t.outcome.success === true);
  const failures = known.filter((t) => t.outcome.success === false);

  const perRun = new Map(known.map((t) => [t.id, observe(t)]));
  const calledBy = (t: Trajectory, tool: string) => perRun.get(t.id)?.has(`call:${tool}`) ?? false;

  const features = new Map<string, Feature>();
  for (const obs of perRun.values()) for (const [key, o] of obs) features.set(key, o.feature);

  const scored: Scored[] = [];
  for (const feature of features.values()) {
    const inPopulation = (t: Trajectory) => (feature.condition ? calledBy(t, feature.condition) : true);
    const s = successes.filter(inPopulation);
    const f = failures.filter(inPopulation);
    const shows = (t: Trajectory) => perRun.get(t.id)?.has(feature.key) ?? false;
    const success: Group = { total: s.length, ids: s.filter(shows).map((t) => t.id) };
    const failure: Group = { total: f.length, ids: f.filter(shows).map((t) => t.id) };
    const evidence = new Map<string, number[]>();
    for (const id of [...success.ids, ...failure.ids]) evidence.set(id, perRun.get(id)?.get(feature.key)?.steps ?? []);
    const judged = judge(feature, success, failure, minSupport);
    if (judged) scored.push({ feature, success, failure, evidence, ...judged });
  }

  const signatures = scored
    .filter((s) => s.feature.kind === "errsig")
    .sort((a, b) => supportOf(b).length - supportOf(a).length || byStrength(a, b));
  const divergences = mineDivergences(known, minSupport, opts.base);
  const chosen = [...signatures, ...divergences].slice(0, maxLessons);
  const lessons = chosen.map(toLesson);
  const observations = dropRedundant(scored.filter((s) => s.feature.kind !== "errsig").sort(byStrength))
    .slice(0, maxLessons)
    .map((s) => {
      const w = word(s);
      return `${w.title} — ${w.rule}`;
    });
  return { lessons, edits: toEdits(chosen, lessons, opts.base), observations };
}

interface CallAt {
  name: string;
  step: number;
}

function callSequence(t: Trajectory): CallAt[] {
  return t.steps.flatMap((step, i) => (step.toolCalls ?? []).map((c) => ({ name: c.name, step: i })));
}

/**
 * Tasks tried several times (trials, pass@k loops) with different outcomes: walk each failed
 * attempt's calls alongside the successful attempts' and note the first call where no
 * successful attempt did the same. A point where attempts part recurring across runs is
 * evidence of what mattered, not only of which tasks were hard.
 */
function mineDivergences(known: readonly Trajectory[], minSupport: number, base: SkillFolder | undefined): Scored[] {
  const byTask = new Map<string, Trajectory[]>();
  for (const t of known) {
    const task = t.task.trim();
    if (task) byTask.set(task, [...(byTask.get(task) ?? []), t]);
  }
  const found = new Map<string, { feature: Feature; success: Set<string>; failure: Set<string>; tasks: Set<string>; evidence: Map<string, number[]> }>();
  for (const [task, runs] of byTask) {
    const wins = runs.filter((t) => t.outcome.success === true).map((t) => ({ t, seq: callSequence(t) }));
    const losses = runs.filter((t) => t.outcome.success === false);
    if (wins.length === 0 || losses.length === 0) continue;
    for (const loss of losses) {
      const seq = callSequence(loss);
      let k = 0;
      let alike = wins;
      for (; k < seq.length; k++) {
        const next = alike.filter((w) => w.seq[k]?.name === seq[k]?.name);
        if (next.length === 0) break;
        alike = next;
      }
      const failed = seq[k]?.name ?? null;
      const counts = new Map<string, number>();
      for (const w of alike) {
        const name = w.seq[k]?.name;
        if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      const succeeded = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
      if (succeeded === null || succeeded === failed) continue;
      const after = k > 0 ? (seq[k - 1]?.name ?? null) : null;
      const key = `diverge:${after ?? "^"}>${succeeded}|${failed ?? "$"}`;
      const entry = found.get(key) ?? {
        feature: { key, kind: "diverge" as const, tools: [after ?? "", succeeded, failed ?? ""] },
        success: new Set<string>(),
        failure: new Set<string>(),
        tasks: new Set<string>(),
        evidence: new Map<string, number[]>(),
      };
      entry.failure.add(loss.id);
      entry.tasks.add(task);
      entry.evidence.set(loss.id, [seq[k]?.step ?? Math.max(0, loss.steps.length - 1)]);
      for (const w of alike.filter((a) => a.seq[k]?.name === succeeded)) {
        entry.success.add(w.t.id);
        entry.evidence.set(w.t.id, [w.seq[k]?.step ?? 0]);
      }
      found.set(key, entry);
    }
  }
  const skillMd = base?.files["SKILL.md"] ?? "";
  const prescribed = (after: string, failed: string) =>
    failed !== "" && skillMd.split("\n").some((line) => line.includes(failed) && (after === "" || line.includes(after)));
  return [...found.values()]
    .filter((d) => d.tasks.size >= 2 && d.failure.size + d.success.size >= minSupport)
    // A rule that would steer away from a step the base skill prescribes is not ours to write.
    .filter((d) => !prescribed(d.feature.tools[0] ?? "", d.feature.tools[2] ?? ""))
    .map((d) => ({
      feature: d.feature,
      success: { total: d.success.size, ids: [...d.success] },
      failure: { total: d.failure.size, ids: [...d.failure] },
      favours: "failure" as const,
      p: 1 / (d.failure.size + d.success.size),
      evidence: d.evidence,
      tasks: d.tasks.size,
    }))
    .sort((a, b) => b.failure.ids.length + b.success.ids.length - (a.failure.ids.length + a.success.ids.length) || a.feature.key.localeCompare(b.feature.key));
}

/** Whether a feature is a lesson, and which way it points. */
function judge(
  feature: Feature,
  success: Group,
  failure: Group,
  minSupport: number,
): { favours: "success" | "failure"; p: number } | null {
  if (feature.kind === "errsig") {
    const runs = success.ids.length + failure.ids.length;
    return runs >= minSupport ? { favours: "failure", p: fisherOneSided(failure, success) } : null;
  }
  if (success.total === 0 || failure.total === 0) return null;
  const rs = success.ids.length / success.total;
  const rf = failure.ids.length / failure.total;
  const favours = rs >= rf ? "success" : "failure";
  const [hi, lo] = favours === "success" ? [success, failure] : [failure, success];
  if (hi.ids.length < minSupport || Math.abs(rs - rf) < MIN_GAP) return null;
  const p = fisherOneSided(hi, lo);
  return p < P_THRESHOLD ? { favours, p } : null;
}

function byStrength(a: Scored, b: Scored): number {
  return a.p - b.p || a.feature.key.localeCompare(b.feature.key);
}

/** A feature backed by exactly the runs of a stronger one on the same side adds nothing. */
function dropRedundant(sorted: Scored[]): Scored[] {
  const kept: Scored[] = [];
  const supportKey = (s: Scored) => `${s.favours}:${supportOf(s).slice().sort().join(",")}`;
  const seen = new Set<string>();
  for (const s of sorted) {
    const key = supportKey(s);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(s);
  }
  return kept;
}

/** The runs that show the pattern on the side it points to; for an error signature or a divergence, every run involved. */
function supportOf(s: Scored): string[] {
  if (s.feature.kind === "errsig" || s.feature.kind === "diverge") return [...s.success.ids, ...s.failure.ids];
  return s.favours === "success" ? s.success.ids : s.failure.ids;
}

/** The features one run shows, each with the steps that show it. */
function observe(t: Trajectory): Observations {
  const obs: Observations = new Map();
  const add = (feature: Feature, steps: number[]) => {
    const existing = obs.get(feature.key);
    if (existing) existing.steps.push(...steps.filter((s) => !existing.steps.includes(s)));
    else obs.set(feature.key, { feature, steps: [...steps] });
  };

  const firstCall = new Map<string, number>();
  t.steps.forEach((step, i) => {
    const calls = step.toolCalls ?? [];
    for (const call of calls) {
      add({ key: `call:${call.name}`, kind: "call", tools: [call.name] }, [i]);
      if (!firstCall.has(call.name)) firstCall.set(call.name, i);
    }
    if (calls.length > 1) add({ key: "multi", kind: "multi", tools: [] }, [i]);
    const result = step.toolResult;
    if (result?.isError) {
      const tool = result.name ?? toolOfResult(t.steps, i) ?? "a tool";
      add({ key: "error", kind: "error", tools: [] }, [i]);
      const signature = normaliseError(result.content);
      add({ key: `errsig:${tool}:${signature}`, kind: "errsig", tools: [tool], signature }, [i]);
    }
  });

  for (const [y, yAt] of firstCall) {
    for (const [x, xAt] of firstCall) {
      if (x !== y && xAt < yAt) add({ key: `before:${x}>${y}`, kind: "before", tools: [x, y], condition: y }, [xAt, yAt]);
    }
    const reply = replyBefore(t.steps, yAt);
    if (reply) add({ key: `reply:${y}`, kind: "reply", tools: [y], condition: y }, [...reply, yAt]);
  }
  return obs;
}

/** Name of the tool a result answers, from the call with the same id (or the latest call). */
function toolOfResult(steps: readonly Step[], at: number): string | undefined {
  const callId = steps[at]?.toolResult?.callId;
  for (let i = at - 1; i >= 0; i--) {
    const calls = steps[i]?.toolCalls ?? [];
    const match = callId ? calls.find((c) => c.id === callId) : calls[calls.length - 1];
    if (match) return match.name;
  }
  return undefined;
}

/**
 * Did this call come right after the user answered the agent? The step before the call
 * must be a user message replying to an assistant message with text — the shape of "here
 * is what I will do, shall I?" / "yes". Phrasing is not inspected: it varies too much
 * ("Please confirm…" has no question mark). Returns [agent message, user reply].
 */
function replyBefore(steps: readonly Step[], callAt: number): [number, number] | null {
  const answer = steps[callAt - 1];
  const message = steps[callAt - 2];
  if (answer?.role !== "user" || message?.role !== "assistant" || !hasText(message)) return null;
  return [callAt - 2, callAt - 1];
}

function hasText(step: Step | undefined): boolean {
  return !!step?.text && step.text.trim().length > 0;
}

/**
 * Error text with its run-specific values replaced, so the same failure in different runs
 * has one signature: quoted strings, dates, times, ids mixing letters and digits, numbers.
 */
export function normaliseError(text: string): string {
  return text
    .split("\n")[0]!
    .slice(0, 300)
    .replace(/"[^"]*"|'[^']*'/g, "<value>")
    .replace(/\b\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+Z?)?\b/g, "<date>")
    .replace(/\b\d{1,2}:\d{2}(?::\d{2})?\b/g, "<time>")
    .replace(/\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{3,}\b/g, "<id>")
    .replace(/\b\d+(?:\.\d+)?\b/g, "<n>")
    .replace(/\s+/g, " ")
    .trim();
}

/** One-sided Fisher exact test: P(at least this many in `hi`) given the margins. */
export function fisherOneSided(hi: Group, lo: Group): number {
  const a = hi.ids.length;
  const b = hi.total - a;
  const c = lo.ids.length;
  const d = lo.total - c;
  const row1 = a + b;
  const col1 = a + c;
  const n = a + b + c + d;
  let p = 0;
  for (let x = a; x <= Math.min(row1, col1); x++) {
    p += Math.exp(logChoose(row1, x) + logChoose(n - row1, col1 - x) - logChoose(n, col1));
  }
  return Math.min(1, p);
}

function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity;
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

function logFactorial(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log(i);
  return s;
}

function rate(g: Group): string {
  return `${g.ids.length}/${g.total}`;
}

function pct(g: Group): string {
  return g.total === 0 ? "0%" : `${Math.round((100 * g.ids.length) / g.total)}%`;
}

const code = (name: string) => `\`${name}\``;

interface Wording {
  kind: LessonKind;
  title: string;
  rule: string;
  appliesWhen: string;
}

/** Text of a lesson, written from its statistic. */
function word(s: Scored): Wording {
  const { feature: f, success: S, failure: F } = s;
  const rates = `in ${rate(S)} successful runs (${pct(S)}) vs ${rate(F)} failed runs (${pct(F)})`;
  const stat = "Statistical pattern (heuristic baseline, a correlation, not a proven cause):";
  const good = s.favours === "success";
  const [x = "", y = ""] = f.tools;
  switch (f.kind) {
    case "call":
      return good
        ? {
            kind: "tool-usage",
            title: `Runs that use ${code(x)} succeed more often`,
            rule: `${stat} ${code(x)} was called ${rates}. Consider it whenever its purpose matches the request rather than working around it.`,
            appliesWhen: `When a request could be handled with ${code(x)}`,
          }
        : {
            kind: "failure-cause",
            title: `Runs that call ${code(x)} fail more often`,
            rule: `${stat} ${code(x)} was called ${rates}. Before calling it, re-check its preconditions and every argument against what the user asked and what the tools returned.`,
            appliesWhen: `Before calling ${code(x)}`,
          };
    case "before":
      return good
        ? {
            kind: "success-habit",
            title: `Call ${code(x)} before ${code(y)}`,
            rule: `${stat} among runs that call ${code(y)}, ${code(x)} came first ${rates}.`,
            appliesWhen: `Before the first ${code(y)} call`,
          }
        : {
            kind: "failure-cause",
            title: `Calling ${code(x)} before ${code(y)} goes with failure`,
            rule: `${stat} among runs that call ${code(y)}, ${code(x)} came first ${rates}. Check whether that order is really needed.`,
            appliesWhen: `When planning a sequence that ends in ${code(y)}`,
          };
    case "reply":
      return good
        ? {
            kind: "success-habit",
            title: `Get the user's reply right before calling ${code(x)}`,
            rule: `${stat} among runs that call ${code(x)}, the first call came right after the user answered the agent ${rates}. State what you are about to do and wait for the user's explicit go-ahead.`,
            appliesWhen: `Before calling ${code(x)}`,
          }
        : {
            kind: "failure-cause",
            title: `Calling ${code(x)} straight after a user reply goes with failure`,
            rule: `${stat} among runs that call ${code(x)}, the first call came right after the user answered the agent ${rates}. Check that the reply really gave everything the call needs before making it.`,
            appliesWhen: `Before calling ${code(x)}`,
          };
    case "multi":
      return {
        kind: good ? "success-habit" : "failure-cause",
        title: good ? "Several tool calls in one turn go with success" : "Several tool calls in one turn go with failure",
        rule: `${stat} some turn made more than one tool call ${rates}.${good ? "" : " Make one call at a time and read its result before the next."}`,
        appliesWhen: "When more than one tool call seems needed",
      };
    case "error":
      return {
        kind: good ? "success-habit" : "failure-cause",
        title: good ? "Runs with a tool error still succeed more often" : "Tool errors go with failed runs",
        rule: `${stat} at least one tool returned an error ${rates}.${good ? "" : " Check arguments and preconditions before each call, and read an error before retrying."}`,
        appliesWhen: "Before any tool call, and after a tool error",
      };
    case "errsig":
      return {
        kind: "tool-usage",
        title: `Check before calling ${code(x)}: it failed with "${shorten(f.signature ?? "", 60)}"`,
        rule: `${code(x)} returned the error "${shorten(f.signature ?? "", 160)}" in ${S.ids.length + F.ids.length} runs (${S.ids.length} successful, ${F.ids.length} failed). Before calling ${code(x)}, check the condition that error names.`,
        appliesWhen: `Before calling ${code(x)}`,
      };
    case "diverge": {
      const [after, succeeded, failed] = f.tools;
      const point = after ? `after ${code(after ?? "")}` : "at the first call";
      return {
        kind: "failure-cause",
        title: `Where retries of a task split, ${point} successful attempts called ${code(succeeded ?? "")}`,
        rule:
          `In ${s.tasks ?? 2} tasks tried several times, failed attempts parted from successful ones at the same point: ${point}, ` +
          `the successful attempts called ${code(succeeded ?? "")} where the failed ones ${failed ? `called ${code(failed)}` : "stopped calling tools"} ` +
          `(${F.ids.length} failed, ${S.ids.length} successful runs). At that point, check whether ${code(succeeded ?? "")} is what the task needs.`,
        appliesWhen: after ? `Right after calling ${code(after)}` : "Before the first tool call",
      };
    }
  }
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function lessonId(feature: Feature): string {
  return `heuristic-${sha256(feature.key).slice(0, 16)}`;
}

function toLesson(s: Scored): Lesson {
  const w = word(s);
  const support = supportOf(s);
  const evidence: Evidence[] = support.slice(0, 5).map((id) => ({ trajectoryId: id, stepIds: s.evidence.get(id) ?? [] }));
  return {
    id: lessonId(s.feature),
    kind: w.kind,
    title: shorten(w.title, 120),
    rule: shorten(w.rule, 600),
    appliesWhen: shorten(w.appliesWhen, 300),
    evidence,
    generalityNote: shorten(
      s.feature.kind === "errsig"
        ? `The same error (run-specific values masked) recurred in ${support.length} runs; the check it calls for holds whatever the task.`
        : s.feature.kind === "diverge"
          ? `Attempts at the same task differ mainly in what they did; the same parting point recurred in ${s.tasks ?? 2} tasks.`
          : `Seen across ${support.length} runs (one-sided Fisher exact p = ${s.p.toPrecision(2)}); mined by counting, so it is a lead to confirm, not a rule read from any single run.`,
      400,
    ),
    support,
  };
}

/**
 * One edit per lesson: pitfalls and habits go to their own SKILL.md sections. When the
 * section is missing, the first lesson creates it (add_section) and the next ones append
 * to it, so the patch reads in order.
 */
function toEdits(chosen: readonly Scored[], lessons: readonly Lesson[], base: SkillFolder | undefined): Edit[] {
  const skillMd = base?.files["SKILL.md"] ?? "";
  const present = new Set([PITFALLS_SECTION, HABITS_SECTION].filter((h) => findSection(skillMd, h) !== undefined));
  return chosen.map((s, i) => {
    const lesson = lessons[i] as Lesson;
    const section = s.favours === "success" ? HABITS_SECTION : PITFALLS_SECTION;
    const content = `- **${lesson.title}.** ${lesson.rule}`;
    const meta = { support: lesson.support, lessonIds: [lesson.id] };
    if (present.has(section)) return { op: "append_to_section", file: "SKILL.md", section, content, ...meta };
    present.add(section);
    return { op: "add_section", file: "SKILL.md", heading: section, level: 2, content, after: null, ...meta };
  });
}
