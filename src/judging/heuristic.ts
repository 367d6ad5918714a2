import type { Step, Trajectory } from "../trajectory/schema.js";
import type { JudgeReply } from "./schema.js";

/**
 * The no-model judge: reads what a transcript shows about its own outcome. Each signal adds
 * or removes points; only a clear balance gives a verdict, anything else stays unknown. It
 * never guesses from how long or how busy a run was.
 */

/** Bumped when the rules change, so runs are judged again. */
export const HEURISTIC_JUDGE_VERSION = 1;

interface Signal {
  points: number;
  why: string;
}

const USER_REJECTS = [
  /\b(is|are|everything'?s?|it'?s|now) (all |now )?broken\b/i,
  /\b(no|nope),? (that'?s|this is|it'?s) (wrong|not)/i,
  /\bthat'?s (wrong|not (it|right|what I))/i,
  /\b(still|again) (fail(s|ing)?|broken|doesn'?t work|not working|the same error)/i,
  /\b(doesn'?t|didn'?t|does not|did not) (work|help|fix)/i,
  /\bnot what I (asked|wanted|meant)/i,
  /\b(revert|undo|roll ?back) (that|this|it|your|the change)/i,
  /\byou (broke|deleted|removed|ignored)/i,
  /\bwrong (file|answer|fix|approach)/i,
];
const USER_APPROVES = [/\b(thanks|thank you|great|perfect|awesome|lgtm|looks good|works now|that works|nice)\b/i];
const AGENT_SUCCESS = [
  /\ball (the )?tests (now )?pass/i,
  /\btests? (are |is )?(now )?passing\b/i,
  /\b(fixed|resolved|implemented|done|completed)\b.*[.!]?$/im,
  /\bsuccessfully\b/i,
];
const AGENT_FAILURE = [
  /\bnot (yet )?(fixed|resolved|working|done)\b/i,
  /\b(isn'?t|is not|aren'?t|are not) (fixed|resolved|working|passing)( yet)?\b/i,
  /\bI (couldn'?t|could not|was unable to|am unable to|can'?t|cannot|wasn'?t able to)\b/i,
  /\b(still|remains?) (failing|broken)\b/i,
  /\bunable to (fix|resolve|complete|find)\b/i,
  /\bI gave up\b|\bgiving up\b/i,
];
const OUTPUT_FAILED = [
  /\b[1-9]\d* (tests? )?(failed|errors?)\b/i,
  /\bFAIL(ED)?\b/,
  /\bTraceback \(most recent call last\)/,
  /\bnpm ERR!/,
  /\b(error|Error)(\[\w+\])?: /,
  /\bexit(ed)? (with )?(code|status) [1-9]/i,
  /\bcommand not found\b/,
];
const OUTPUT_PASSED = [/\b\d+ passed\b/i, /\btest result: ok\b/i, /\ball tests passed\b/i, /^OK\b/m];
const REVERTS = /\bgit (checkout --|restore|revert|reset --hard|stash)\b/;
const TEST_COMMAND = /\b(test|pytest|jest|vitest|mocha|go test|cargo test|npm (run )?test|make (test|check)|tsc|build)\b/i;
/** Tools that run commands: only their calls can be test or build runs (reading a test file is not). */
const COMMAND_TOOL = /bash|shell|terminal|command|exec|run/i;

function matchesAny(text: string, patterns: RegExp[]): RegExp | undefined {
  return patterns.find((p) => p.test(text));
}

function quote(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}

function callText(step: Step): string {
  return (step.toolCalls ?? []).map((c) => (typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments ?? ""))).join(" ");
}

export function judgeHeuristically(t: Trajectory): JudgeReply {
  const signals: Signal[] = [];
  const steps = t.steps.map((step, id) => ({ step, id }));
  // The first user message is the task; later ones are the user's reactions.
  const firstUser = steps.find((s) => s.step.role === "user" && s.step.text)?.id ?? -1;

  for (const { step, id } of steps) {
    if (step.role !== "user" || !step.text || id === firstUser || step.toolResult) continue;
    const rejected = matchesAny(step.text, USER_REJECTS);
    if (rejected) signals.push({ points: -2, why: `the user objected at #${id} ("${quote(step.text)}")` });
    else if (matchesAny(step.text, USER_APPROVES) && id > firstUser) signals.push({ points: 1, why: `the user approved at #${id}` });
  }

  // The last checks: the final tool results, and the last test/build run in particular.
  const results = steps.filter((s) => s.step.toolResult);
  const tail = results.slice(-3);
  const last = results.at(-1);
  // Alone, one failed call (a grep with no match) says little: weak evidence.
  if (last?.step.toolResult?.isError) signals.push({ points: -1, why: `the last tool result (#${last.id}) is an error` });
  let lastCheck: { id: number; passed: boolean } | undefined;
  for (const { step, id } of steps) {
    if (!step.toolResult) continue;
    const caller = steps.slice(0, id).reverse().find((s) => s.step.toolCalls?.length);
    const commands = (caller?.step.toolCalls ?? []).filter((c) => COMMAND_TOOL.test(c.name));
    if (!caller || commands.length === 0 || !TEST_COMMAND.test(callText({ ...caller.step, toolCalls: commands }))) continue;
    const content = step.toolResult.content;
    // "120 passed, 0 failed" passes; any non-zero failure count, FAIL or an error exit fails.
    if (step.toolResult.isError || matchesAny(content, OUTPUT_FAILED)) lastCheck = { id, passed: false };
    else if (matchesAny(content, OUTPUT_PASSED)) lastCheck = { id, passed: true };
  }
  if (lastCheck) {
    signals.push(
      lastCheck.passed
        ? { points: 2, why: `the last test or build run (#${lastCheck.id}) passed` }
        : { points: -3, why: `the last test or build run (#${lastCheck.id}) failed` },
    );
  } else if (tail.some((s) => s.step.toolResult && matchesAny(s.step.toolResult.content, OUTPUT_FAILED))) {
    const at = tail.find((s) => s.step.toolResult && matchesAny(s.step.toolResult.content, OUTPUT_FAILED));
    signals.push({ points: -1, why: `errors in the last tool output (#${at?.id})` });
  }

  const reverted = steps.slice(-Math.max(4, Math.ceil(steps.length / 4))).find((s) => REVERTS.test(callText(s.step)));
  if (reverted) signals.push({ points: -1, why: `edits were reverted near the end (#${reverted.id})` });

  const finalWords = [...steps].reverse().find((s) => s.step.role === "assistant" && s.step.text);
  if (finalWords?.step.text) {
    if (matchesAny(finalWords.step.text, AGENT_FAILURE)) signals.push({ points: -2, why: `the agent said it did not get there (#${finalWords.id})` });
    else if (matchesAny(finalWords.step.text, AGENT_SUCCESS)) signals.push({ points: 1, why: `the agent claimed success (#${finalWords.id})` });
  }

  const score = signals.reduce((sum, s) => sum + s.points, 0);
  const strongest = [...signals].sort((a, b) => Math.abs(b.points) - Math.abs(a.points)).slice(0, 3).map((s) => s.why);
  if (score >= 2) return { verdict: "success", confidence: Math.min(0.85, 0.5 + score * 0.1), reason: `Success: ${strongest.join("; ")}.` };
  if (score <= -2) return { verdict: "failure", confidence: Math.min(0.9, 0.5 + -score * 0.1), reason: `Failure: ${strongest.join("; ")}.` };
  return {
    verdict: "unknown",
    confidence: 0.3,
    reason: signals.length > 0 ? `Mixed or weak evidence: ${strongest.join("; ")}.` : "The run shows no evidence of its outcome.",
  };
}
