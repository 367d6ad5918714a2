import type { VersionReport } from "../evolution/checks-summary.js";
import { formatRate as pct } from "../stats/version-stats.js";
import type { SkillVersionDetail } from "../skill/types.js";
import { describeFlag, type Flag, type Regression } from "../stats/regression.js";
import type { Run } from "../store/run.js";
import type { VersionStats } from "../stats/version-stats.js";

/**
 * One self-contained HTML page per skill (issue 12, item 5): the version timeline, the success
 * rate of each version with its 95 % interval as a chart, and the latest evolved version's
 * diff, rule support and diagnoses, review findings, held-out coverage, audit and cost. No
 * script and nothing fetched: it opens from a file, offline. Every text is escaped.
 */

export interface ReportInput {
  skill: string;
  generatedAt: string;
  versions: SkillVersionDetail[];
  stats: VersionStats[];
  regression: Regression | null;
  /** Every version its runs show worse than its parent (the flag history). */
  flags: Flag[];
  /** The skill's evolve, consolidate and analyse runs, oldest first: what each cost. */
  runs: Run[];
  /** The newest evolved version and its report, if any. */
  latest: { detail: SkillVersionDetail; report: VersionReport } | null;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}


/** Success rate per version with its interval, as an inline SVG bar chart. */
function rateChart(stats: VersionStats[]): string {
  const rows = stats.filter((s) => s.version !== null);
  if (rows.length === 0) return '<p class="muted">No run says which version it used yet.</p>';
  const w = 720;
  const barH = 22;
  const gap = 10;
  const left = 70;
  // Room on the right for the label, which sits past the bar and its interval, never on them.
  const scale = (x: number) => left + x * (w - left - 140);
  const h = rows.length * (barH + gap) + 30;
  const bars = rows
    .map((r, i) => {
      const y = 10 + i * (barH + gap);
      const rate = r.successRate ?? 0;
      const ci = r.interval ? `<line x1="${scale(r.interval.low)}" x2="${scale(r.interval.high)}" y1="${y + barH / 2}" y2="${y + barH / 2}" class="ci"/>` : "";
      return (
        `<g data-version="${r.version}"><text x="4" y="${y + barH * 0.7}">v${r.version}</text>` +
        `<rect x="${left}" y="${y}" width="${Math.max(0, scale(rate) - left)}" height="${barH}" class="bar${r.vsParent?.worse ? " worse" : ""}"/>` +
        `${ci}<text x="${scale(Math.max(rate, r.interval?.high ?? 0)) + 6}" y="${y + barH * 0.7}" class="label">${pct(r.successRate)} of ${r.successes + r.failures}</text></g>`
      );
    })
    .join("");
  const axis = [0, 0.25, 0.5, 0.75, 1].map((t) => `<text x="${scale(t)}" y="${h - 4}" text-anchor="middle" class="axis">${t * 100}%</text>`).join("");
  return `<svg id="rate-chart" role="img" aria-label="Success rate per version with 95% intervals" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${bars}${axis}</svg>`;
}

function table(head: string[], rows: string[][], id?: string): string {
  return (
    `<table${id ? ` id="${id}"` : ""}><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("") +
    "</tbody></table>"
  );
}

export function renderReport(input: ReportInput): string {
  const e = escapeHtml;
  const timeline = table(
    ["version", "status", "origin", "from", "created", "changelog"],
    [...input.versions]
      .sort((a, b) => b.version - a.version)
      .map((v) => [`v${v.version}`, e(v.status), e(v.origin), v.parent ? `v${v.parent}` : "", e(v.createdAt.slice(0, 19).replace("T", " ")), e(v.changelog[0] ?? "")]),
    "timeline",
  );
  const stats = table(
    ["version", "runs", "succeeded", "failed", "unknown", "rate", "95% interval", "vs parent"],
    input.stats.map((s) => [
      s.version === null ? "?" : `v${s.version}`,
      String(s.runs),
      String(s.successes),
      String(s.failures),
      String(s.unknown),
      pct(s.successRate),
      s.interval ? `${pct(s.interval.low)}–${pct(s.interval.high)}` : "—",
      s.vsParent ? `${s.vsParent.difference >= 0 ? "+" : ""}${(s.vsParent.difference * 100).toFixed(1)} pts${s.vsParent.worse ? " <strong>worse</strong>" : s.vsParent.separate ? " better" : ""}` : "",
    ]),
    "stats",
  );
  const regression = input.regression
    ? `<p class="alert" id="regression">v${input.regression.version} does worse than v${input.regression.parent}: ${pct(input.regression.successRate)} of ${input.regression.runs} runs against ${pct(input.regression.parentRate)} of ${input.regression.parentRuns}, beyond the 95% intervals.</p>`
    : "";
  const flags =
    input.flags.length > 0
      ? `<ul id="flags">${input.flags.map((f) => `<li>${e(describeFlag(f))}</li>`).join("")}</ul>`
      : '<p class="muted" id="flags">No version has done worse than its parent beyond the intervals.</p>';
  const money = (usd: number) => `$${usd.toFixed(4)}`;
  const runs =
    input.runs.length > 0
      ? table(
          ["run", "kind", "started", "stage", "version made", "model calls", "input tokens", "output tokens", "cost"],
          input.runs.map((r) => [
            e(r.id),
            e(r.kind),
            e(r.createdAt.slice(0, 19).replace("T", " ")),
            e(r.stage),
            r.resultVersion ? `v${r.resultVersion}` : "",
            String(r.usage.calls),
            r.usage.inputTokens.toLocaleString("en-US"),
            r.usage.outputTokens.toLocaleString("en-US"),
            money(r.usage.costUsd),
          ]),
          "runs",
        ) +
        `<p class="muted">Total: ${input.runs.reduce((n, r) => n + r.usage.calls, 0)} model call(s), ${money(input.runs.reduce((n, r) => n + r.usage.costUsd, 0))}.</p>`
      : '<p class="muted" id="runs">No evolve run yet.</p>';
  let latest = '<p class="muted">No evolved version yet.</p>';
  if (input.latest) {
    const { detail, report } = input.latest;
    const u = detail.usage;
    latest = [
      `<h2 id="latest">v${detail.version} (${e(detail.status)}), evolved from v${detail.parent ?? "?"}</h2>`,
      `<ul id="checks">${report.summary.map((line) => `<li>${e(line)}</li>`).join("")}</ul>`,
      `<h3>Diff</h3><pre id="diff">${e(detail.diff || "(no differences)")}</pre>`,
      `<h3>Added rules: support and diagnoses</h3>`,
      table(
        ["file", "rule", "runs", "added in", "why those runs went as they did"],
        report.passages.map((p) => [e(p.file), e(p.excerpt), String(p.support), p.since ? `v${p.since}` : `v${detail.version}`, p.diagnoses.map(e).join("<br>")]),
        "provenance",
      ),
      `<h3>Rule lifecycle: learned rules weighed against later runs</h3>`,
      report.rules.length > 0
        ? table(
            ["file", "rule", "added in", "runs behind it", "later runs it helped", "later runs it misled", "outcome", "how it misled"],
            report.rules.map((r) => [e(r.file), e(r.excerpt), `v${r.since}`, String(r.support), String(r.helped), String(r.misled), e(r.outcome), r.why.map(e).join("<br>")]),
            "lifecycle",
          )
        : '<p class="muted" id="lifecycle">No later run gave a verdict on a learned rule of the parent.</p>',
      `<h3>Review findings</h3>`,
      report.findings.length > 0 ? table(["kind", "file", "finding"], report.findings.map((f) => [e(f.kind), e(f.file), e(f.detail)]), "review") : '<p class="muted" id="review">No finding (or no review: heuristic provider).</p>',
      `<h3>Held-out failures</h3>`,
      report.heldOut.length > 0
        ? table(["run", "cause", "base", "draft", "rule credited"], report.heldOut.map((h) => [e(h.trajectoryId.slice(0, 12)), e(h.cause), e(h.base), e(h.draft), e(h.rule)]), "holdout")
        : '<p class="muted" id="holdout">No failures were held out.</p>',
      `<h3>Over-fitting audit</h3>`,
      detail.audit
        ? `<ul id="audit"><li>${detail.audit.singleRunLiterals.length} literal(s) seen in only one supporting run</li><li>${detail.audit.singleSupport.length} passage(s) backed by a single run</li><li>${detail.audit.thinChanges.length} change(s) to the base's own text on thin support</li></ul>`
        : '<p class="muted" id="audit">No audit.</p>',
      `<h3>Cost</h3><p id="cost">${u ? `${u.calls} model call(s), ${u.inputTokens.toLocaleString("en-US")} input and ${u.outputTokens.toLocaleString("en-US")} output tokens, $${u.costUsd.toFixed(4)}` : "No model usage recorded."}</p>`,
    ].join("\n");
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${e(input.skill)} — trace2skill report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{border:1px solid #dde;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f8}pre{background:#f6f8fa;padding:.8rem;overflow:auto;max-height:28rem;font-size:12px}
.muted{color:#667}.alert{background:#fde8e8;border:1px solid #f5a3a3;padding:.6rem}
svg .bar{fill:#4a7fd4}svg .bar.worse{fill:#d45a4a}svg .ci{stroke:#1d2330;stroke-width:2}svg text{font-size:12px}svg .axis{fill:#667}
</style></head><body>
<h1>${e(input.skill)}</h1>
<p class="muted">trace2skill report, generated ${e(input.generatedAt)}</p>
${regression}
<h2>Versions</h2>${timeline}
<h2>Outcomes per version</h2>${rateChart(input.stats)}${stats}
<h3>Regression flags</h3>${flags}
<h2>Evolve runs and their cost</h2>${runs}
${latest}
</body></html>
`;
}
