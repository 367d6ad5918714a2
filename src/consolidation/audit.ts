import type { DraftAudit as Audit, ProvenanceEntry } from "../skill/types.js";
import type { Trajectory } from "../trajectory/schema.js";

/**
 * The over-fitting audit of a draft: what in it may be one run's story rather than a rule.
 * - literals (ids, codes, numbers, file names, quoted values) in an added passage that occur in
 *   only one of its supporting runs;
 * - passages backed by a single run;
 * - passages that rewrite or remove what the base said (replace / delete) on thin support.
 * It decides nothing: the findings go in the draft's record for whoever reviews it.
 */

/** Changing what the base says needs more runs than adding to it. */
const MIN_SUPPORT_TO_CHANGE_BASE = 3;

const LITERAL = /`[^`\n]{2,60}`|"[^"\n]{2,60}"|\b[A-Z]{2,}[0-9]{2,}[A-Z0-9]*\b|\b\d{3,}\b|\b[\w-]+\.(?:py|ts|js|json|md|txt|csv|yaml|yml|sh)\b/g;

function literalsOf(text: string): string[] {
  return [...new Set(text.match(LITERAL) ?? [])].map((l) => l.replace(/^[`"]|[`"]$/g, "")).filter((l) => l.length >= 2);
}

function runText(t: Trajectory): string {
  return [t.task, ...t.steps.flatMap((s) => [s.text ?? "", s.toolResult?.content ?? "", ...(s.toolCalls ?? []).map((c) => `${c.name} ${JSON.stringify(c.arguments ?? "")}`)])].join("\n");
}

export function auditDraft(provenance: readonly ProvenanceEntry[], runs: ReadonlyMap<string, Trajectory>): Audit {
  const audit: Audit = { singleRunLiterals: [], singleSupport: [], thinChanges: [] };
  const texts = new Map<string, string>();
  const textOf = (id: string) => {
    if (!texts.has(id)) {
      const t = runs.get(id);
      texts.set(id, t ? runText(t) : "");
    }
    return texts.get(id) as string;
  };
  for (const p of provenance) {
    const support = [...new Set(p.support)];
    if (support.length === 1) audit.singleSupport.push({ file: p.file, excerpt: p.excerpt, trajectoryId: support[0] as string });
    if ((p.op === "replace_in_section" || p.op === "delete_section" || p.op === "delete_file") && support.length < MIN_SUPPORT_TO_CHANGE_BASE) {
      audit.thinChanges.push({ file: p.file, op: p.op, excerpt: p.excerpt, support: support.length });
    }
    for (const literal of literalsOf(p.excerpt)) {
      const seenIn = support.filter((id) => textOf(id).includes(literal));
      if (seenIn.length === 1) audit.singleRunLiterals.push({ literal, file: p.file, excerpt: p.excerpt, trajectoryId: seenIn[0] as string });
    }
  }
  return audit;
}

export function describeAudit(a: Audit): string | null {
  const parts = [
    a.singleRunLiterals.length > 0 ? `${a.singleRunLiterals.length} literal(s) seen in only one supporting run (${a.singleRunLiterals.slice(0, 3).map((l) => `"${l.literal}"`).join(", ")})` : "",
    a.singleSupport.length > 0 ? `${a.singleSupport.length} passage(s) backed by a single run` : "",
    a.thinChanges.length > 0 ? `${a.thinChanges.length} change(s) to the base's own text on fewer than ${MIN_SUPPORT_TO_CHANGE_BASE} runs` : "",
  ].filter(Boolean);
  return parts.length > 0 ? `Over-fitting audit: ${parts.join("; ")}. Review these before promoting.` : null;
}
