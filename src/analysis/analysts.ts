import { z } from "zod";
import { systemAndUser, type ChatMessage, type LanguageModel, type ModelTool } from "../llm/port.js";
import { locateRule } from "../skill/rule-text.js";
import type { SkillFolder } from "../skill/types.js";
import { renderFullStep, renderSharedContext, renderTrajectory, type SharedContext } from "../trajectory/render.js";
import type { Trajectory } from "../trajectory/schema.js";
import { InvalidInputError, errorMessage } from "../util/errors.js";
import { safeRelativePath } from "../util/fsx.js";
import { sha256 } from "../util/hash.js";
import { renderSkillFiles } from "../skill/render.js";
import { findLeak, groundTruthLiterals } from "./ground-truth.js";
import { fillPrompt, loadPrompt } from "./prompts.js";
import {
  AnalysisReplySchema,
  type AnalysisReply,
  type Diagnosis,
  type Edit,
  type EditReply,
  type Lesson,
  type LessonReply,
  type Patch,
  type RuleVerdict,
  type RuleVerdictReply,
} from "./schema.js";
import type { Usage } from "../llm/usage.js";

/**
 * Model-based analysts: one trajectory, one frozen base skill, one structured reply.
 * Everything around the model call — choosing the analyst, building the request, and
 * turning a reply into stored lessons and edits — is shared with agent mode
 * (work-items.ts), so a reply is judged the same whoever wrote it.
 */

export const MAX_LESSONS_PER_TRAJECTORY = 3;

export type ModelAnalystKind = "error" | "success";

/** Which analyst reads this run, or why none does. */
export function analystFor(t: Trajectory): { kind: ModelAnalystKind } | { skip: string } {
  if (t.outcome.success === false) return { kind: "error" };
  if (t.outcome.success === true) return { kind: "success" };
  return {
    skip:
      `Trajectory ${t.id} has no known outcome (success is null), so neither the error nor the success analyst ` +
      `can judge it. Record its outcome (submit it again with outcome.success) and analyse it then.`,
  };
}

export interface AnalystRequest {
  kind: ModelAnalystKind;
  /** Filled analyst prompt with the base skill and the shared context. */
  instructions: string;
  /** The rendered trajectory (with the ground truth for the error analyst). */
  rendered: string;
  messages: ChatMessage[];
}

export interface BuildRequestOptions {
  shared?: SharedContext;
  budgetTokens?: number;
  /** Tell the analyst it may fetch steps in full (agentic mode). */
  agentic?: boolean;
}

/** The analyst's system prompt: role, the frozen base skill, the context shared by the runs. */
export function analystInstructions(kind: ModelAnalystKind, base: SkillFolder, opts: Omit<BuildRequestOptions, "budgetTokens"> = {}): string {
  const shared = opts.shared && opts.shared.blocks.length > 0 ? opts.shared : undefined;
  return fillPrompt(loadPrompt(kind === "error" ? "error-analyst" : "success-analyst"), {
    skill_name: base.name,
    skill_files: Object.keys(base.files).sort().join(", ") || "(none)",
    base_skill: renderSkillFiles(base),
    shared_context: shared
      ? `# Context shared by the runs\n\nThese texts were identical in most runs (typically the agent's system prompt). ` +
        `The run below shows a marker in their place.\n\n${renderSharedContext(shared)}`
      : "",
    agentic_note: opts.agentic
      ? " You can call the `get_step` tool to read any step in full when the shortened view is not enough."
      : "",
  });
}

export function buildAnalystRequest(t: Trajectory, base: SkillFolder, opts: BuildRequestOptions = {}): AnalystRequest {
  const choice = analystFor(t);
  if ("skip" in choice) throw new InvalidInputError(choice.skip);
  const kind = choice.kind;
  const shared = opts.shared && opts.shared.blocks.length > 0 ? opts.shared : undefined;
  const instructions = analystInstructions(kind, base, opts);
  const rendering = renderTrajectory(t, { budgetTokens: opts.budgetTokens, shared, showExpected: kind === "error" });
  const rendered = rendering.text;
  const ask =
    kind === "error"
      ? "Find the root cause of this failure and propose lessons and edits as instructed."
      : "Find the lean path and the habits behind this success and propose lessons and edits as instructed.";
  return {
    kind,
    instructions,
    rendered,
    messages: systemAndUser(instructions, `${rendered}\n\n${ask}`),
  };
}

export interface ProcessedReply {
  lessons: Lesson[];
  patch: Patch;
  /** The diagnosis, ground-truth values masked, step id checked. */
  diagnosis: Diagnosis;
  /** Rules of the base the run shows misleading or helping the agent, each found in the base. */
  ruleVerdicts: RuleVerdict[];
  /** What was thrown away, each with its reason (leaked ground truth, unsafe path, …). */
  dropped: string[];
}

/**
 * Turn a validated reply into stored shapes. Code, not the analyst, decides ids, support
 * (this one trajectory), evidence ids, and what is unacceptable: ground-truth values,
 * paths outside the skill folder, edits of files that do not exist.
 */
export function processReply(reply: AnalysisReply, t: Trajectory, base: SkillFolder): ProcessedReply {
  const dropped: string[] = [];
  const literals = groundTruthLiterals(t.outcome.expected);
  const leak = (...texts: Array<string | null | undefined>) => findLeak(texts.filter(Boolean).join("\n"), literals);

  const lessons: Lesson[] = [];
  reply.lessons.forEach((l, index) => {
    if (lessons.length >= MAX_LESSONS_PER_TRAJECTORY) {
      dropped.push(`lesson "${l.title}": over the limit of ${MAX_LESSONS_PER_TRAJECTORY} lessons per trajectory`);
      return;
    }
    const leaked = leak(l.title, l.rule, l.appliesWhen, l.generalityNote);
    if (leaked) {
      dropped.push(`lesson "${l.title}": contains the ground-truth value "${leaked}"`);
      return;
    }
    lessons.push(toLesson(l, index, t, dropped));
  });

  const lessonIds = lessons.map((l) => l.id);
  const edits: Edit[] = [];
  const created = new Set<string>();
  for (const e of reply.edits) {
    const problem = editProblem(e, base, created) ?? leakProblem(e, leak);
    if (problem) {
      dropped.push(`${e.op} on ${e.file}: ${problem}`);
      continue;
    }
    const file = safeRelativePath(e.file);
    if (e.op === "create_file") created.add(file);
    edits.push({ ...e, file, support: [t.id], lessonIds });
  }

  const changelog = reply.changelog.filter((line) => {
    const leaked = leak(line);
    if (leaked) dropped.push(`changelog line: contains the ground-truth value "${leaked}"`);
    return !leaked;
  });
  let rootCause = reply.diagnosis.rootCause;
  for (let leaked = leak(rootCause); leaked; leaked = leak(rootCause)) rootCause = rootCause.split(leaked).join("<ground truth>");
  const step = reply.diagnosis.firstWrongStep;
  const firstWrongStep = step !== null && step < t.steps.length ? step : null;
  if (step !== null && firstWrongStep === null) dropped.push(`diagnosis: step #${step} does not exist (the run has ${t.steps.length} steps)`);
  const ruleVerdicts = checkVerdicts(reply.ruleVerdicts ?? [], t, base, leak, dropped);
  return { lessons, patch: { edits, changelog }, diagnosis: { rootCause, firstWrongStep }, ruleVerdicts, dropped };
}

/**
 * A verdict on a rule counts only when the rule is in the base as quoted, and when it fits the
 * run: a failed run can show a rule misleading, a successful one a rule helping.
 */
function checkVerdicts(
  verdicts: readonly RuleVerdictReply[],
  t: Trajectory,
  base: SkillFolder,
  leak: (...texts: Array<string | null | undefined>) => string | null,
  dropped: string[],
): RuleVerdict[] {
  const out: RuleVerdict[] = [];
  for (const v of verdicts) {
    const label = `rule verdict "${v.quote.slice(0, 60)}"`;
    const found = locateRule(base, v.quote);
    if (!found) {
      dropped.push(`${label}: no such rule in the base skill (quote it as written)`);
      continue;
    }
    const fits = v.effect === "misled" ? t.outcome.success === false : t.outcome.success === true;
    if (!fits) {
      dropped.push(`${label}: a rule can mislead only in a failed run, and help only in a successful one`);
      continue;
    }
    const leaked = leak(v.why);
    out.push({ ...v, why: leaked ? v.why.split(leaked).join("<ground truth>") : v.why, file: found.file });
  }
  return out;
}

function toLesson(l: LessonReply, index: number, t: Trajectory, dropped: string[]): Lesson {
  const cited = [...new Set(l.evidence.flatMap((e) => e.stepIds))].sort((a, b) => a - b);
  const valid = cited.filter((s) => s < t.steps.length);
  if (valid.length < cited.length) {
    const bad = cited.filter((s) => s >= t.steps.length).map((s) => `#${s}`);
    dropped.push(`lesson "${l.title}": step ids ${bad.join(", ")} do not exist (the run has ${t.steps.length} steps)`);
  }
  return {
    ...l,
    id: `lesson-${sha256(`${t.id}\0${index}\0${l.title}`).slice(0, 16)}`,
    evidence: [{ trajectoryId: t.id, stepIds: valid }],
    support: [t.id],
  };
}

function editProblem(e: EditReply, base: SkillFolder, created: ReadonlySet<string>): string | null {
  let file: string;
  try {
    file = safeRelativePath(e.file, "edit path");
  } catch (err) {
    return errorMessage(err);
  }
  const exists = file in base.files || file in base.binaries || created.has(file);
  if (e.op === "create_file") {
    if (file === "SKILL.md") return "SKILL.md cannot be created, only edited";
    if (exists) return "the file already exists; edit it instead of creating it";
    return null;
  }
  if (e.op === "delete_file" && file === "SKILL.md") return "SKILL.md cannot be deleted";
  if (!exists) return "no such file in the base skill";
  return null;
}

function leakProblem(e: EditReply, leak: (...texts: Array<string | null | undefined>) => string | null): string | null {
  const texts: Array<string | null | undefined> = [e.file];
  switch (e.op) {
    case "insert_after":
    case "insert_before":
    case "append_to_section":
      texts.push(e.content);
      break;
    case "replace_in_section":
      texts.push(e.replace);
      break;
    case "add_section":
      texts.push(e.heading, e.content);
      break;
    case "create_file":
      texts.push(e.content, e.linkText);
      break;
    case "delete_section":
    case "delete_file":
      break;
  }
  const leaked = leak(...texts);
  return leaked ? `contains the ground-truth value "${leaked}"` : null;
}

/** The agentic analyst's one tool: any step of the run, in full. */
export function getStepTool(t: Trajectory): ModelTool {
  return {
    name: "get_step",
    description: `Return step #N of the trajectory in full (no truncation). Steps are numbered 0 to ${t.steps.length - 1}.`,
    parameters: z.object({ step: z.number().int().nonnegative().describe("The step id N, as in #N") }),
    run: async (args: unknown) => {
      const parsed = z.object({ step: z.number().int() }).safeParse(args);
      if (!parsed.success) return `Give {"step": N} with N a whole number from 0 to ${t.steps.length - 1}.`;
      const step = parsed.data.step;
      if (step < 0 || step >= t.steps.length) return `There is no step #${step}; steps are #0 to #${t.steps.length - 1}.`;
      return renderFullStep(t, step);
    },
  };
}

export interface AnalyseOptions {
  model: LanguageModel;
  trajectory: Trajectory;
  base: SkillFolder;
  shared?: SharedContext;
  budgetTokens?: number;
  agentic?: boolean;
  signal?: AbortSignal;
}

export interface AnalystResult extends ProcessedReply {
  kind: ModelAnalystKind;
  usage: Usage;
  model: string;
}

export async function analyseTrajectory(opts: AnalyseOptions): Promise<AnalystResult> {
  const agentic = opts.agentic === true && opts.model.supportsTools;
  const request = buildAnalystRequest(opts.trajectory, opts.base, {
    shared: opts.shared,
    budgetTokens: opts.budgetTokens,
    agentic,
  });
  const result = await opts.model.generate({
    schemaName: "analysis",
    schema: AnalysisReplySchema,
    messages: request.messages,
    tools: agentic ? [getStepTool(opts.trajectory)] : undefined,
    signal: opts.signal,
  });
  const processed = processReply(result.value, opts.trajectory, opts.base);
  return { ...processed, kind: request.kind, usage: result.usage, model: result.model };
}
