import type { Analysis, Edit, Patch, RuleVerdict } from "../analysis/schema.js";
import { holdsRule, locateRule } from "../skill/rule-text.js";
import type { ProvenanceEntry, RuleRetirement, SkillFolder } from "../skill/types.js";
import type { Store } from "../store/store.js";

/**
 * Rule lifecycle (issue 12, item 4): a learned rule stays while the evidence behind it stands.
 *
 * A rule of the base that an earlier evolve added has its supporting runs (its provenance).
 * Analysts of later runs say, with a quote the code checks, when following one of the base's
 * rules is what led the agent wrong ("misled") or what made a run go right ("helped"). Only a
 * run that used a version holding the rule counts: the run's `skillVersion` must be known and
 * that version must contain the rule's text. When the runs a rule misled reach the minimum
 * support and outnumber its supporting runs plus those it helped, its retirement is proposed as
 * a delete edit. That edit joins the analysts' patches as one more input of the same merge tree,
 * then the same guards and review: nothing here writes the skill.
 *
 * Rules without provenance (written by a person, or imported) are never proposed for
 * retirement: there are no runs to outweigh, and the author's word is not evidence code can
 * count. Their verdicts still appear in the weighing.
 */

/** One analysed run's verdicts, with the version of the skill that run used (null: unknown). */
export interface RunVerdicts {
  trajectoryId: string;
  usedVersion: number | null;
  verdicts: readonly RuleVerdict[];
}

export interface WeighInput {
  base: { version: number; folder: SkillFolder };
  /** The base version's provenance: its learned rules, each with the runs behind it. */
  rules: readonly ProvenanceEntry[];
  runs: readonly RunVerdicts[];
  /** Whether version `version` of the skill holds the rule (its file contains the rule's text). */
  held: (version: number, file: string, text: string) => boolean;
  minSupport: number;
}

export function weighRules(input: WeighInput): RuleRetirement[] {
  const out: RuleRetirement[] = [];
  const seen = new Set<string>();
  for (const rule of input.rules) {
    const located = locateRule(input.base.folder, rule.excerpt, rule.file);
    if (!located) continue;
    const key = `${located.file}\u0000${located.block}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const since = rule.since ?? input.base.version;
    const support = [...new Set(rule.support)];
    const misled = new Set<string>();
    const helped = new Set<string>();
    const why: string[] = [];
    let uncounted = 0;
    for (const run of input.runs) {
      for (const v of run.verdicts) {
        const target = locateRule(input.base.folder, v.quote, v.file);
        if (!target || target.file !== located.file || target.block !== located.block) continue;
        // Evidence counts only from a run that had the rule; its own supporting runs cannot turn on it.
        const exposed = run.usedVersion !== null && input.held(run.usedVersion, rule.file, rule.excerpt);
        if (!exposed || support.includes(run.trajectoryId)) {
          uncounted++;
          continue;
        }
        if (v.effect === "misled") {
          misled.add(run.trajectoryId);
          if (why.length < 2) why.push(v.why);
        } else {
          helped.add(run.trajectoryId);
        }
      }
    }
    if (misled.size === 0 && helped.size === 0 && uncounted === 0) continue;
    const outweighed = misled.size >= input.minSupport && misled.size > support.length + helped.size;
    out.push({
      file: located.file,
      excerpt: rule.excerpt,
      since,
      support,
      helped: [...helped].sort(),
      misled: [...misled].sort(),
      uncounted,
      why,
      proposed: outweighed && located.section !== null,
    });
  }
  return out;
}

/** The delete edits of the rules proposed for retirement, as one patch for the merge tree (null: none). */
export function retirementPatch(folder: SkillFolder, weighed: readonly RuleRetirement[]): Patch | null {
  const edits: Edit[] = [];
  const changelog: string[] = [];
  for (const r of weighed.filter((w) => w.proposed)) {
    const located = locateRule(folder, r.excerpt, r.file);
    if (!located?.section) continue;
    edits.push({ op: "replace_in_section", file: r.file, section: located.section, find: located.block, replace: "", support: r.misled, lessonIds: [] });
    changelog.push(describeRetirement(r));
  }
  return edits.length > 0 ? { edits, changelog } : null;
}

export function describeRetirement(r: RuleRetirement): string {
  const excerpt = r.excerpt.length > 80 ? `${r.excerpt.slice(0, 79)}…` : r.excerpt;
  const backing = `${r.support.length} supporting run(s)${r.helped.length > 0 ? ` and ${r.helped.length} it helped` : ""}`;
  return `Retire "${excerpt}" (since v${r.since}): ${r.misled.length} later run(s) it misled outweigh ${backing}.`;
}

/**
 * The weighing of the base's learned rules from the chosen analyses of an evolve: reads the
 * base's provenance, the version each analysed run used, and those versions' files.
 */
export async function weighBaseRules(
  store: Store,
  skill: string,
  base: { version: number; folder: SkillFolder },
  analyses: readonly Analysis[],
  minSupport: number,
): Promise<RuleRetirement[]> {
  const withVerdicts = analyses.filter((a) => (a.ruleVerdicts ?? []).length > 0 && a.trajectoryIds.length === 1);
  if (withVerdicts.length === 0 || base.version === 0) return [];
  const rules = (await store.getSkillVersion(skill, base.version))?.meta.provenance ?? [];
  if (rules.length === 0) return [];
  const runs: RunVerdicts[] = [];
  for (const a of withVerdicts) {
    const id = a.trajectoryIds[0] as string;
    const t = await store.getTrajectory(id);
    runs.push({ trajectoryId: id, usedVersion: t?.skillVersion ?? null, verdicts: a.ruleVerdicts ?? [] });
  }
  const folders = new Map<number, SkillFolder | null>([[base.version, base.folder]]);
  for (const v of new Set(runs.map((r) => r.usedVersion).filter((v): v is number => v !== null))) {
    if (!folders.has(v)) folders.set(v, (await store.getSkillVersion(skill, v))?.folder ?? null);
  }
  return weighRules({
    base,
    rules,
    runs,
    held: (version, file, text) => {
      const folder = folders.get(version);
      return folder !== null && folder !== undefined && holdsRule(folder, file, text);
    },
    minSupport,
  });
}

/** After the merge and review: which proposed retirements the stored draft carries out (it no longer holds the rule). */
export function settleRetirements(weighed: readonly RuleRetirement[], draft: SkillFolder): RuleRetirement[] {
  return weighed.map((r) => (r.proposed ? { ...r, retired: !holdsRule(draft, r.file, r.excerpt) } : r));
}

/** Changelog lines: each rule retired, and each proposal the merge or the review kept out. */
export function describeRetirements(weighed: readonly RuleRetirement[]): string[] {
  return weighed
    .filter((r) => r.proposed)
    .map((r) => (r.retired ? describeRetirement(r) : `Kept, though proposed for retirement by the runs it misled: ${describeRetirement(r).replace(/^Retire /, "")}`));
}
