/**
 * A scripted analyst, merger and repairer for the fake OpenAI-compatible server: plausible,
 * deterministic replies computed from the request itself, so the whole method (analyse →
 * merge tree → repair) runs end to end through the real `openai` client code.
 *
 *   const { fake, modelConfig } = await startScriptedModel({ latencyMs: 20 });
 *   const engine = await Engine.open({ dataDir, skillsDir, modelConfig });
 *   ... fake.calls.count ...
 *   await fake.close();
 *
 * Stable API (other tests and the benchmark use it):
 *   scriptedResponder(options?)          → Responder for startFakeOpenAI / fake.script()
 *   startScriptedModel(options?)         → { fake, modelConfig } (modelConfig: a full ModelConfig)
 *   scriptedAnalysis(system, user)       → AnalysisReply  (also for agent-mode work items:
 *                                           system = item.instructions, user = item.rendered)
 *   scriptedMerge(user)                  → MergeReply     (agent mode: user = item.inputs)
 *   scriptedRepair(user)                 → RepairReply
 *   isGarbageCall(index, rate)           → whether call `index` is one of the `rate` share
 *
 * Which reply is made is keyed on `body.response_format.json_schema.name`:
 * - "analysis": reads the rendered run (trajectory id, tool calls and their step ids #N,
 *   error vs success analyst from the system prompt) and answers 1–2 lessons and 1–2
 *   `append_to_section` edits (or `add_section` when the base SKILL.md has no "## "
 *   heading). Wording comes from a small fixed rule table keyed on the tools seen, so many
 *   runs propose the very same edits: support recurs and merges have work to do. No value
 *   from the run is ever copied.
 * - "merge": groups the numbered input edits by (op, file, target, normalised content) —
 *   identical proposals become one edit citing all of them; `add_section` edits with the
 *   same heading are fused (their distinct lines united) — so every input is cited and the
 *   output never has more edits than the input has distinct ones.
 * - "repair": returns each failing file, with a frontmatter added to a SKILL.md that lacks
 *   one and trailing blank lines trimmed.
 * Options: `garbageRate` (0..1; that share of calls, spread evenly by call index, answer
 * non-JSON prose — never two in a row below 0.5, so a retry succeeds), `hangRate` (the same
 * for calls that never answer; the client's timeout fires), `latencyMs` (delay per answer).
 */
import type { AnalysisReply, EditReply, LessonKind } from "../../src/analysis/schema.js";
import type { MergeReply } from "../../src/consolidation/merge-reply.js";
import type { RepairReply } from "../../src/consolidation/repair.js";
import type { ModelConfig } from "../../src/llm/config.js";
import { startFakeOpenAI, type ChatRequestBody, type FakeOpenAI, type FakeReply, type Responder } from "./fake-openai.js";

export interface ScriptedModelOptions {
  garbageRate?: number;
  hangRate?: number;
  latencyMs?: number;
}

export interface StartScriptedModelOptions extends ScriptedModelOptions {
  /** Overrides for the returned ModelConfig (timeoutMs, maxRetries, concurrency, …). */
  config?: Partial<ModelConfig>;
}

/** True for `rate` of all call indices, spread evenly (deterministic, no randomness). */
export function isGarbageCall(index: number, rate: number): boolean {
  if (rate <= 0) return false;
  return Math.floor((index + 1) * rate) > Math.floor(index * rate);
}

// ---------------------------------------------------------------- the analyst

interface Rule {
  /** Tools whose presence in a run triggers the rule. */
  tools: string[];
  title: string;
  rule: string;
  appliesWhen: string;
  /** Bullet the error analyst adds (a pitfall) and the success analyst adds (a habit). */
  pitfall: string;
  habit: string;
}

const RULES: Rule[] = [
  {
    tools: ["update_reservation_flights"],
    title: "Re-read the booking before changing flights",
    rule: "Before changing the flights of a reservation, fetch it and check its cabin class, its payment methods and whether the change is allowed for that cabin.",
    appliesWhen: "A customer asks to change the flights or dates of an existing reservation",
    pitfall: "- Changing flights without first checking the cabin class and the payment methods stored on the reservation.",
    habit: "- Before a flight change, fetch the reservation and check its cabin class and payment methods.",
  },
  {
    tools: ["book_reservation"],
    title: "Read the whole booking back before booking",
    rule: "Before creating a booking, read back every passenger, flight, cabin, bag count and payment method, and book only after an explicit yes.",
    appliesWhen: "Creating a new reservation for a customer",
    pitfall: "- Booking before reading back passengers, flights, cabin, bags and payment split to the customer.",
    habit: "- Read the complete booking back to the customer and book only after an explicit yes.",
  },
  {
    tools: ["cancel_reservation"],
    title: "Check cancellation eligibility first",
    rule: "Cancel only when the policy allows it: check how long ago the booking was made, its cabin, its insurance and the stated reason before cancelling.",
    appliesWhen: "A customer asks to cancel a reservation",
    pitfall: "- Cancelling before checking booking age, cabin, insurance and the reason against the policy.",
    habit: "- Check booking age, cabin, insurance and reason against the policy before cancelling.",
  },
  {
    tools: ["update_reservation_baggages"],
    title: "Work out free bags from tier and cabin",
    rule: "Before adding bags, work out the free allowance from the membership tier and the cabin, and charge only for the bags beyond it.",
    appliesWhen: "A customer adds checked bags to a reservation",
    pitfall: "- Charging for bags without working out the free allowance from membership tier and cabin.",
    habit: "- Work out the free bag allowance from membership tier and cabin before charging for bags.",
  },
  {
    tools: ["transfer_to_human_agents"],
    title: "Transfer only with a reason and a summary",
    rule: "Transfer to a human agent only when the request is outside what policy and tools allow, and pass a short summary of the case.",
    appliesWhen: "A request cannot be handled with the available tools and policy",
    pitfall: "- Transferring to a human while the request could still be handled within policy and tools.",
    habit: "- Transfer to a human only for requests outside policy and tools, with a short case summary.",
  },
  {
    tools: ["calculate"],
    title: "Compute money with the calculator",
    rule: "Compute every price difference, refund and fee with the calculator tool and quote the computed figure, never a mental estimate.",
    appliesWhen: "Any answer involves adding, subtracting or splitting amounts",
    pitfall: "- Quoting totals or differences that were not computed with the calculator tool.",
    habit: "- Compute totals, differences and refunds with the calculator tool before quoting them.",
  },
  {
    tools: ["search_direct_flight", "search_onestop_flight"],
    title: "Compare options on the customer's criterion",
    rule: "When searching flights, compare the options on the criterion the customer named (time, price or cabin) before proposing one.",
    appliesWhen: "Searching flights for a booking or a change",
    pitfall: "- Proposing the first flight found instead of comparing options on the criterion the customer named.",
    habit: "- Compare the flight options on the customer's stated criterion before proposing one.",
  },
];

const FALLBACK_RULE: Rule = {
  tools: [],
  title: "Look things up before acting",
  rule: "Fetch the customer's profile and the relevant reservation before acting on what the customer says about them.",
  appliesWhen: "Any request about an existing booking or profile",
  pitfall: "- Acting on the customer's account of a booking without fetching it first.",
  habit: "- Fetch the profile and the reservation before acting on the customer's account of them.",
};

const LESSONS_SECTION = "Lessons from past runs";

interface RunFacts {
  trajectoryId: string;
  stepCount: number;
  /** Tool name → step ids where it was called (or appeared in a folded range). */
  calls: Map<string, number[]>;
  lastStep: number;
}

/** What the analyst "reads" in a rendering: its id, tool calls and their step ids. */
export function readRun(user: string): RunFacts {
  const trajectoryId = /^Trajectory (\S+)/m.exec(user)?.[1] ?? "unknown";
  const stepCount = Number(/^Steps: (\d+)/m.exec(user)?.[1] ?? "0");
  const calls = new Map<string, number[]>();
  const note = (name: string, step: number) => calls.set(name, [...(calls.get(name) ?? []), step]);
  let current = -1;
  for (const line of user.split("\n")) {
    const step = /^#(\d+) /.exec(line);
    if (step) current = Number(step[1]);
    const call = /^\s+→ ([\w.-]+)\(/.exec(line);
    if (call?.[1] && current >= 0) note(call[1], current);
    const folded = /^\[#(\d+)(?:–#\d+)?: .*tool calls: ([^;\]]+)/.exec(line);
    if (folded?.[2]) {
      for (const part of folded[2].split(", ")) note(part.replace(/×\d+$/, "").trim(), Number(folded[1]));
    }
  }
  return { trajectoryId, stepCount, calls, lastStep: Math.max(0, stepCount - 1) };
}

/** The base SKILL.md as the analyst prompt shows it, or null when the base has none. */
function baseSkillOf(system: string): string | null {
  const m = /<base_skill file="SKILL\.md">\n([\s\S]*?)\n<\/base_skill>/.exec(system);
  if (!m?.[1] || m[1].startsWith("(SKILL.md is missing")) return null;
  return m[1];
}

function headingsOf(markdown: string): string[] {
  let inFence = false;
  const out: string[] = [];
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const h = !inFence ? /^## (.+?)\s*$/.exec(line) : null;
    if (h?.[1]) out.push(h[1]);
  }
  return out;
}

function editFor(rule: Rule, isError: boolean, skillMd: string): EditReply {
  const content = isError ? rule.pitfall : rule.habit;
  const headings = headingsOf(skillMd).filter((h) => h !== LESSONS_SECTION);
  // Pitfalls go to the last section, habits to the first: where a human reviewer would put them.
  const section = isError ? headings.at(-1) : headings[0];
  if (section) return { op: "append_to_section", file: "SKILL.md", section, content };
  if (headingsOf(skillMd).includes(LESSONS_SECTION)) {
    return { op: "append_to_section", file: "SKILL.md", section: LESSONS_SECTION, content };
  }
  return { op: "add_section", file: "SKILL.md", heading: LESSONS_SECTION, level: 2, content, after: null };
}

/** The analyst: a reply for one rendered run against the base shown in `system`. */
export function scriptedAnalysis(system: string, user: string): AnalysisReply {
  const isError = /error analyst/i.test(system);
  const facts = readRun(user);
  const matched = RULES.filter((r) => r.tools.some((t) => facts.calls.has(t)));
  const chosen = (matched.length > 0 ? matched : [FALLBACK_RULE]).slice(0, 2);
  const kind: LessonKind = isError ? "failure-cause" : "success-habit";
  const lessons = chosen.map((r) => {
    const steps = [...new Set(r.tools.flatMap((t) => facts.calls.get(t) ?? []))].sort((a, b) => a - b).slice(0, 3);
    return {
      kind,
      title: r.title,
      rule: r.rule,
      appliesWhen: r.appliesWhen,
      evidence: [{ trajectoryId: facts.trajectoryId, stepIds: steps.length > 0 ? steps : [facts.lastStep] }],
      generalityNote: "The same situation comes up in many conversations of this kind, whatever the customer or booking.",
    };
  });
  const skillMd = baseSkillOf(system);
  // Two proposals for one new section would clash; a from-scratch base gets one.
  const editRules = skillMd !== null && headingsOf(skillMd).length > 0 ? chosen : chosen.slice(0, 1);
  const edits = skillMd === null ? [] : editRules.map((r) => editFor(r, isError, skillMd));
  const [first] = chosen;
  const diagnosis = isError
    ? { rootCause: `${first?.pitfall.replace(/^- /, "") ?? "The agent acted without checking."}`, firstWrongStep: lessons[0]?.evidence[0]?.stepIds[0] ?? null }
    : { rootCause: `${first?.habit.replace(/^- /, "") ?? "The agent checked before acting."}`, firstWrongStep: null };
  return { diagnosis, lessons, edits, changelog: chosen.map((r) => `${isError ? "Warn" : "Teach"}: ${r.title.toLowerCase()}.`) };
}

// ---------------------------------------------------------------- the reviewer

/**
 * The reviewer: reads the draft's SKILL.md from the request and reports a bullet that appears
 * twice as a duplicate (no fix: the test of fixes scripts its own reply), else the longest
 * bullet as a structure finding.
 */
export function scriptedReview(user: string): { findings: { kind: string; file: string; excerpt: string; detail: string }[]; edits: [] } {
  const draft = /<draft_skill file="SKILL\.md">\n([\s\S]*?)\n<\/draft_skill>/.exec(user)?.[1] ?? "";
  const bullets = draft.split("\n").filter((l) => l.startsWith("- "));
  const twice = bullets.find((b, i) => bullets.indexOf(b) !== i);
  if (twice) return { findings: [{ kind: "duplicate", file: "SKILL.md", excerpt: twice, detail: "The same bullet appears twice." }], edits: [] };
  const longest = [...bullets].sort((a, b) => b.length - a.length)[0];
  return {
    findings: longest ? [{ kind: "structure", file: "SKILL.md", excerpt: longest.slice(0, 600), detail: "This bullet is long; split it into two rules." }] : [],
    edits: [],
  };
}

// ---------------------------------------------------------------- the held-out judge

/**
 * The coverage judge: a rule of the skill addresses a held-out failure when it quotes an error
 * text (the heuristic's placeholders <n>, <id>, <value>, <date>, <time> match any value) that
 * the run shows; it is then quoted back exactly. Anything else is "no".
 */
export function scriptedCoverage(system: string, user: string): { cause: string; verdict: string; rule: string; file: string } {
  for (const block of system.matchAll(/<skill file="([^"]+)">\n([\s\S]*?)\n<\/skill>/g)) {
    for (const line of (block[2] ?? "").split("\n")) {
      for (const quoted of line.matchAll(/"(Error[^"]{5,160})"/g)) {
        const text = (quoted[1] ?? "").replace(/…$/, "");
        const pattern = text
          .split(/<(?:n|id|value|date|time)>/)
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
          .join(".{1,40}?");
        if (new RegExp(pattern).test(user)) {
          return { cause: `The call failed with "${text.slice(0, 100)}".`, verdict: "yes", rule: line.replace(/^\s*[-*]\s+/, "").trim(), file: block[1] ?? "SKILL.md" };
        }
      }
    }
  }
  // A scripted analyst's pitfall about a tool this run called addresses it, when the skill has it.
  const run = readRun(user);
  for (const rule of RULES) {
    if (!rule.tools.some((tool) => run.calls.has(tool))) continue;
    const text = rule.pitfall.replace(/^- /, "");
    for (const block of system.matchAll(/<skill file="([^"]+)">\n([\s\S]*?)\n<\/skill>/g)) {
      if ((block[2] ?? "").includes(text)) return { cause: `The run shows this pitfall: ${text}`, verdict: "yes", rule: text, file: block[1] ?? "SKILL.md" };
    }
  }
  return { cause: "The agent did not do what the task asked.", verdict: "no", rule: "", file: "" };
}

// ---------------------------------------------------------------- the merger

interface NumberedEdit {
  n: number;
  edit: EditReply;
}

/** The numbered inputs of a merge request ([N] support: …, then the edit as JSON). */
export function readMergeInputs(user: string): NumberedEdit[] {
  const block = /<input_edits>\n([\s\S]*?)\n<\/input_edits>/.exec(user)?.[1] ?? "";
  const parts = block.split(/^\[(\d+)\] support:.*$/m);
  const out: NumberedEdit[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) {
    // Per-bullet support lines ("  bullet …") may come before the edit's JSON.
    const body = (parts[i + 1] ?? "").trim();
    out.push({ n: Number(parts[i]), edit: JSON.parse(body.slice(body.indexOf("{"))) as EditReply });
  }
  return out;
}

const norm = (s: string): string => s.replace(/\s+/g, " ").trim().toLowerCase();

function groupKey(e: EditReply): string {
  switch (e.op) {
    case "add_section":
      return `add_section|${e.file}|${norm(e.heading)}`;
    case "append_to_section":
      return `append|${e.file}|${norm(e.section)}|${norm(e.content)}`;
    case "insert_after":
    case "insert_before":
      return `${e.op}|${e.file}|${norm(e.anchor)}|${norm(e.content)}`;
    case "replace_in_section":
      return `replace|${e.file}|${norm(e.section)}|${norm(e.find)}`;
    case "delete_section":
      return `delete_section|${e.file}|${norm(e.section)}`;
    case "create_file":
    case "delete_file":
      return `${e.op}|${e.file}`;
  }
}

function uniqueLines(contents: string[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const line of contents.flatMap((c) => c.split("\n"))) {
    const key = norm(line);
    if (key === "" || seen.has(key)) continue;
    seen.add(key);
    lines.push(line);
  }
  return lines.join("\n");
}

/** The merger: identical proposals become one, same-heading new sections are fused. */
export function scriptedMerge(user: string): MergeReply {
  const groups = new Map<string, NumberedEdit[]>();
  for (const input of readMergeInputs(user)) {
    const key = groupKey(input.edit);
    groups.set(key, [...(groups.get(key) ?? []), input]);
  }
  const edits = [...groups.values()].map((members) => {
    const first = members[0] as NumberedEdit;
    const edit: EditReply =
      first.edit.op === "add_section"
        ? { ...first.edit, content: uniqueLines(members.map((m) => (m.edit.op === "add_section" ? m.edit.content : ""))) }
        : first.edit;
    // A fused list says which inputs each of its bullets comes from.
    const bullets =
      first.edit.op === "add_section" && members.length > 1
        ? edit.op === "add_section"
          ? edit.content
              .split("\n")
              .filter((l) => /^\s*[-*]\s+/.test(l))
              .map((l) => ({
                opening: l.replace(/^\s*[-*]\s+/, "").slice(0, 60),
                sources: members.filter((m) => m.edit.op === "add_section" && m.edit.content.split("\n").some((x) => norm(x) === norm(l))).map((m) => m.n),
              }))
              .filter((b) => b.opening.length >= 3 && b.sources.length > 0)
          : []
        : [];
    return { sources: members.map((m) => m.n), edit, bullets };
  });
  const changelog = [...groups.values()]
    .slice(0, 10)
    .map((members) => `Merged ${members.length} proposal(s) for ${groupKey((members[0] as NumberedEdit).edit).split("|")[0]}.`);
  return { edits, changelog };
}

// ---------------------------------------------------------------- the repairer

/** The repairer: each failing file back, SKILL.md with a frontmatter if it lacks one. */
export function scriptedRepair(user: string): RepairReply {
  const name = /^Skill folder name: (\S+)/m.exec(user)?.[1] ?? "skill";
  const files: RepairReply["files"] = [];
  for (const m of user.matchAll(/<file path="([^"]+)">\n([\s\S]*?)\n<\/file>/g)) {
    const path = m[1] as string;
    let content = (m[2] ?? "").replace(/\s+$/, "") || "(empty)";
    if (path === "SKILL.md" && !content.startsWith("---")) {
      content = `---\nname: ${name}\ndescription: Instructions for ${name.replace(/-/g, " ")} tasks.\n---\n\n${content}`;
    }
    files.push({ path, content: `${content}\n` });
  }
  if (files.length === 0) files.push({ path: "SKILL.md", content: `---\nname: ${name}\ndescription: Instructions for ${name} tasks.\n---\n` });
  return { files, note: "normalised the failing files" };
}

// ---------------------------------------------------------------- the server side

function messageText(body: ChatRequestBody, role: "system" | "user"): string {
  return body.messages
    .filter((m) => m.role === role)
    .map((m) => m.content ?? "")
    .join("\n");
}

/** First user message: retries append feedback turns, the request itself stays first. */
function firstUser(body: ChatRequestBody): string {
  return body.messages.find((m) => m.role === "user")?.content ?? "";
}

function reply(body: ChatRequestBody): FakeReply {
  const name = body.response_format?.json_schema?.name;
  switch (name) {
    case "analysis":
      return { json: scriptedAnalysis(messageText(body, "system"), firstUser(body)) };
    case "merge":
      return { json: scriptedMerge(firstUser(body)) };
    case "repair":
      return { json: scriptedRepair(firstUser(body)) };
    case "review":
      return { json: scriptedReview(firstUser(body)) };
    case "coverage":
      return { json: scriptedCoverage(messageText(body, "system"), firstUser(body)) };
    default:
      return { status: 400, message: `scripted-model: no script for response_format "${String(name)}"` };
  }
}

export function scriptedResponder(options: ScriptedModelOptions = {}): Responder {
  const { garbageRate = 0, hangRate = 0, latencyMs = 0 } = options;
  return async (body, index) => {
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (isGarbageCall(index, hangRate)) return { hang: true };
    if (isGarbageCall(index, garbageRate)) return { content: "I looked at the run and I think the agent did fine {not json" };
    return reply(body);
  };
}

export async function startScriptedModel(
  options: StartScriptedModelOptions = {},
): Promise<{ fake: FakeOpenAI; modelConfig: ModelConfig }> {
  const fake = await startFakeOpenAI({ responder: scriptedResponder(options) });
  const modelConfig: ModelConfig = {
    baseURL: fake.url,
    apiKey: "test",
    model: "fake-model",
    timeoutMs: 10_000,
    maxRetries: 2,
    concurrency: 8,
    maxValidationRetries: 2,
    ...options.config,
  };
  return { fake, modelConfig };
}
