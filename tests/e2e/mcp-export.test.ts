import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ExportReport } from "../../src/skill/export-report.js";
import { REPO_ROOT, callTool, connectInMemory, openTestEngine, tempDir, textOf } from "../helpers/mcp.js";

/**
 * promote_skill_version and rollback_skill through a real MCP client: they say they can
 * delete, and their answers carry the export report naming what was kept and removed.
 */

const SAMPLE_SKILL = path.join(REPO_ROOT, "skills/airline-support");
const SKILL = "airline-support";

describe("promote and rollback report what their export did", () => {
  it("announces destructiveHint, keeps the user's file and names it, removes only what an export wrote", async () => {
    const engine = await openTestEngine();
    const client = await connectInMemory(engine);
    try {
      const tools = (await client.listTools()).tools;
      for (const name of ["promote_skill_version", "rollback_skill"]) {
        const tool = tools.find((t) => t.name === name);
        expect(tool?.annotations?.destructiveHint, name).toBe(true);
        expect(tool?.description, name).toContain("never deletes other files");
      }

      await engine.importSkill(SAMPLE_SKILL);
      const v2 = path.join(await tempDir("t2s-mcp-export-"), SKILL);
      await cp(SAMPLE_SKILL, v2, { recursive: true });
      await writeFile(path.join(v2, "references", "extra.md"), "# Extra\n\nMore detail.\n");
      await writeFile(path.join(v2, "SKILL.md"), (await readFile(path.join(v2, "SKILL.md"), "utf8")) + "\nSee [extra](references/extra.md).\n");
      await engine.importSkill(v2);
      const promoted = await callTool(client, "promote_skill_version", { skill: SKILL, version: 2 });
      expect(promoted.isError, textOf(promoted)).toBeFalsy();
      const exportedTo = (promoted.structuredContent as { exportedTo: string }).exportedTo;
      await writeFile(path.join(exportedTo, "my-notes.md"), "mine");

      const back = await callTool(client, "rollback_skill", { skill: SKILL });
      expect(back.isError, textOf(back)).toBeFalsy();
      const report = (back.structuredContent as { exportReport: ExportReport }).exportReport;
      expect(report).toMatchObject({ version: 1, dryRun: false, removed: ["references/extra.md"], kept: ["my-notes.md"] });
      expect(report.counts).toMatchObject({ removed: 1, kept: 1, overwritten: 0 });
      expect(textOf(back)).toContain("kept 1 file trace2skill did not write: my-notes.md");
      expect(await readFile(path.join(exportedTo, "my-notes.md"), "utf8")).toBe("mine");
    } finally {
      await client.close();
    }
  });
});
