import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { formatRate as pct } from "../../stats/version-stats.js";
import { z } from "zod";
import type { Engine } from "../../engine.js";
import { defineTool } from "../define-tool.js";
import { NextStepSchema } from "../next.js";
import { RegressionSchema, SkillName, ValidationOutput, VersionMetaOutput } from "../shapes.js";
import { InvalidInputError } from "../../util/errors.js";
import { isInside, resolveUserPath } from "../../util/user-path.js";
import { toolRoots } from "./versions.js";
import type { SkillReads } from "../skill-reads.js";
import { describeRegression } from "../../stats/regression.js";

export function registerGetSkillTool(server: McpServer, engine: Engine, reads?: SkillReads): void {
  defineTool(server, {
    name: "get_skill",
    title: "Get a skill",
    description:
      "Read a skill: its SKILL.md (default), or one `file` of it such as references/x.md, plus its file list. " +
      "Without `version` you get the active version (else the newest draft).",
    input: {
      skill: SkillName,
      version: z.number().int().positive().optional().describe("Version number; default the active one"),
      file: z.string().optional().describe('Relative path inside the skill, e.g. "references/booking.md"'),
    },
    output: {
      skill: z.string(),
      version: z.number(),
      status: z.string(),
      description: z.string(),
      files: z.array(z.object({ path: z.string(), bytes: z.number() })),
      file: z.object({ path: z.string(), content: z.string() }),
      validation: ValidationOutput,
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
    async handle(args) {
      const view = await engine.getSkill(args.skill, { version: args.version, file: args.file });
      reads?.note(view.skill, view.version);
      return {
        structured: view,
        text: `${view.skill} v${view.version} (${view.status}) — ${view.file.path}:\n\n${view.file.content}`,
      };
    },
  });
}

const IntervalSchema = z.object({ low: z.number(), high: z.number() });

export function registerSkillStatsTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "skill_stats",
    title: "Skill statistics per version",
    description:
      "Whether a version helps: per version, its runs, success rate with a 95% interval, mean score, steps, tokens, and the change from its parent.",
    input: { skill: SkillName },
    output: {
      skill: z.string(),
      versions: z.array(
        z.object({
          version: z.number().nullable().describe("null: runs that did not say which version they used"),
          parent: z.number().nullable(),
          status: z.string().nullable(),
          runs: z.number(),
          successes: z.number(),
          failures: z.number(),
          unknown: z.number(),
          successRate: z.number().nullable(),
          interval: IntervalSchema.nullable().describe("Wilson 95% interval of the success rate"),
          judged: z.object({ successes: z.number(), failures: z.number() }).describe("Judges' verdicts on unlabelled runs, not in the rate"),
          meanScore: z.number().nullable(),
          meanSteps: z.number().nullable(),
          meanTokens: z.number().nullable(),
          vsParent: z.object({ parent: z.number(), difference: z.number(), separate: z.boolean(), worse: z.boolean() }).nullable(),
        }),
      ),
      regression: RegressionSchema.nullable(),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
    async handle(args) {
      const [versions, regression] = await Promise.all([engine.skillStats(args.skill), engine.regression(args.skill)]);
      const lines = versions.map(
        (v) =>
          `${v.version === null ? "?" : `v${v.version}`}: ${v.successes}/${v.successes + v.failures} succeeded (${pct(v.successRate)}` +
          `${v.interval ? `, 95% ${pct(v.interval.low)}–${pct(v.interval.high)}` : ""}), ${v.runs} run(s)` +
          `${v.meanScore !== null ? `, mean score ${v.meanScore.toFixed(2)}` : ""}${v.meanSteps !== null ? `, mean steps ${v.meanSteps.toFixed(1)}` : ""}` +
          `${v.meanTokens !== null ? `, mean tokens ${Math.round(v.meanTokens)}` : ""}` +
          (v.vsParent ? `; ${v.vsParent.difference >= 0 ? "+" : ""}${(v.vsParent.difference * 100).toFixed(1)} pts vs v${v.vsParent.parent}${v.vsParent.separate ? " (beyond the intervals)" : ""}` : ""),
      );
      return {
        structured: { skill: args.skill, versions, regression },
        text: [...lines, ...(regression ? [`REGRESSION: ${describeRegression(regression)}`] : [])].join("\n"),
      };
    },
  });
}

export function registerListSkillsTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "list_skills",
    title: "List skills",
    description: "List every known skill with its active version, drafts waiting for review, and how many runs (successes / failures / unknown) back it.",
    input: {},
    output: {
      skills: z.array(
        z.object({
          name: z.string(),
          activeVersion: z.number().nullable(),
          versions: z.number(),
          drafts: z.array(z.number()),
          trajectories: z.object({ total: z.number(), successes: z.number(), failures: z.number(), unknown: z.number() }),
          regression: RegressionSchema.nullable().describe("The active version does worse than its parent beyond the 95% intervals"),
        }),
      ),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
    async handle() {
      const skills = await engine.listSkills();
      const text =
        skills.length === 0
          ? "No skills yet. Import one with import_skill, or submit runs with a `skill` and evolve it."
          : skills
              .map(
                (s) =>
                  `${s.name}: active v${s.activeVersion ?? "-"}, ${s.versions} version(s), ${s.trajectories.total} run(s) (${s.trajectories.successes} ok / ${s.trajectories.failures} failed)` +
                  (s.regression ? ` — REGRESSION: ${describeRegression(s.regression)}` : ""),
              )
              .join("\n");
      return { structured: { skills }, text };
    },
  });
}

export function registerImportSkillTool(server: McpServer, engine: Engine): void {
  defineTool(server, {
    name: "import_skill",
    title: "Import a skill folder",
    description:
      "Import a skill folder (SKILL.md with frontmatter, optional references/, scripts/, assets/) from a local `path` as a new active version, " +
      "the base evolution deepens. It must pass Agent Skills validation; problems are listed.",
    input: {
      path: z.string().describe("Local path of the skill folder on the server's machine"),
      name: z.string().optional().describe("Skill name; default the folder name"),
    },
    output: { ...VersionMetaOutput.shape, validation: ValidationOutput, next: NextStepSchema },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handle(args) {
      // A tool call reads only where it may write: the project, ~/.claude/skills and the skills dir.
      const dir = resolveUserPath(args.path, "path");
      const roots = [...toolRoots(), engine.skillsDir];
      if (!(await isInside(dir, roots))) {
        throw new InvalidInputError(
          `import_skill may read only under the server's folder (${process.cwd()}), ~/.claude/skills and the skills dir (${engine.skillsDir}); ` +
            `"${args.path}" is elsewhere (symlinks followed). Copy the folder there, or import it from the CLI: trace2skill import <path>.`,
        );
      }
      const meta = await engine.importSkill(dir, { name: args.name });
      const warnings = meta.validation.problems.filter((p) => p.severity === "warning").length;
      return {
        structured: {
          ...meta,
          next: { tool: "evolve_skill", arguments: { skill: meta.skill }, reason: "Evolve it from the runs submitted for it (submit_trajectory with this skill)." },
        },
        text: `Imported ${meta.skill} as v${meta.version} (${meta.status})${warnings ? `, ${warnings} warning(s)` : ""}.`,
      };
    },
  });
}
