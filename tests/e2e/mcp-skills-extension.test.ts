import { createHash } from "node:crypto";
import { cp, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { Engine } from "../../src/engine.js";
import { REPO_ROOT, callTool, connectInMemory, openTestEngine, tempDir } from "../helpers/mcp.js";

const SKILL = "airline-support";
const SOURCE = path.join(REPO_ROOT, "skills", SKILL);
const SKILL_URI = `skill://${SKILL}/SKILL.md`;
const PINNED_V2_URI = `skill://${SKILL}/v2/${SKILL}/SKILL.md`;

// The wire shapes written out here on purpose, independent of the server's own schemas.
const SkillWire = z.object({
  uri: z.string(),
  frontmatter: z.looseObject({ name: z.string(), description: z.string() }),
  resources: z.array(z.strictObject({ uri: z.string(), digest: z.string(), size: z.number() })),
});
const ListWire = z.looseObject({ skills: z.array(SkillWire), nextCursor: z.string().optional() });
const GetWire = z.looseObject({ skill: SkillWire });
type SkillWire = z.infer<typeof SkillWire>;

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Every file under a folder as relative path → bytes, read straight from disk. */
async function filesOnDisk(root: string, prefix = ""): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(path.join(root, prefix), { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) for (const [p, b] of await filesOnDisk(root, relative)) out.set(p, b);
    else out.set(relative, await readFile(path.join(root, relative)));
  }
  return out;
}

function expectedResources(files: Map<string, Buffer>, skillPath: string) {
  return [...files].map(([p, bytes]) => ({ uri: `skill://${skillPath}/${p}`, digest: sha256(bytes), size: bytes.length }));
}

function frontmatterOf(skillMd: string): unknown {
  const match = /^---\n([\s\S]*?)\n---\n/.exec(skillMd);
  if (!match) throw new Error("no frontmatter");
  return parseYaml(match[1]!);
}

async function listSkills(client: Client, params: Record<string, unknown> = {}) {
  return client.request({ method: "skills/list", params }, ListWire);
}

async function getSkill(client: Client, uri: string): Promise<SkillWire> {
  return (await client.request({ method: "skills/get", params: { uri } }, GetWire)).skill;
}

/** The bytes a resources/read returned, whether as text or as a base64 blob. */
async function readBytes(client: Client, uri: string): Promise<{ bytes: Buffer; mimeType?: string; blob: boolean }> {
  const { contents } = await client.readResource({ uri });
  expect(contents).toHaveLength(1);
  const content = contents[0]!;
  if ("blob" in content && typeof content.blob === "string") return { bytes: Buffer.from(content.blob, "base64"), mimeType: content.mimeType, blob: true };
  return { bytes: Buffer.from((content as { text: string }).text, "utf8"), mimeType: content.mimeType, blob: false };
}

function sortByUri<T extends { uri: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.uri.localeCompare(b.uri));
}

describe("MCP Skills extension, resource subscriptions and completions", () => {
  let engine: Engine;
  let client: Client;
  let v1Files: Map<string, Buffer>;
  let v2Dir: string;
  let v2Files: Map<string, Buffer>;
  let chartDir: string;
  const updated: string[] = [];
  let listChanged = 0;

  beforeAll(async () => {
    engine = await openTestEngine();
    await engine.importSkill(SOURCE);
    v1Files = await filesOnDisk(SOURCE);

    // A second skill with a binary asset: not valid UTF-8 and holding NUL bytes.
    chartDir = path.join(await tempDir(), "chart-reading");
    await mkdir(path.join(chartDir, "assets"), { recursive: true });
    await writeFile(
      path.join(chartDir, "SKILL.md"),
      "---\nname: chart-reading\ndescription: Read bar and line charts from images and report their values. Use when a task hands over a chart.\nmetadata:\n  owner: tests\n---\n\n# Chart reading\n\nLook at the legend in [the legend](assets/legend.png) first.\n",
    );
    await writeFile(path.join(chartDir, "assets", "legend.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x00]));
    await engine.importSkill(chartDir);

    // Version 2 of the airline skill, imported as a draft.
    v2Dir = path.join(await tempDir(), SKILL);
    await cp(SOURCE, v2Dir, { recursive: true });
    const skillMd = await readFile(path.join(v2Dir, "SKILL.md"), "utf8");
    await writeFile(path.join(v2Dir, "SKILL.md"), `${skillMd}\n## Added in v2\n\nConfirm the refund amount before you cancel.\n`);
    v2Files = await filesOnDisk(v2Dir);

    client = await connectInMemory(engine);
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      listChanged += 1;
    });
  });
  afterAll(async () => {
    await client.close();
  });

  it("declares the skills extension, resource subscriptions and completions", () => {
    const caps = client.getServerCapabilities();
    expect(caps?.extensions).toEqual({ "io.modelcontextprotocol/skills": {} });
    expect(caps?.resources).toMatchObject({ subscribe: true, listChanged: true });
    expect(caps?.completions).toBeDefined();
  });

  it("skills/list describes each active skill: frontmatter verbatim, every file with its sha256 digest and size", async () => {
    const { skills, nextCursor } = await listSkills(client);
    expect(nextCursor).toBeUndefined();
    expect(skills.map((s) => s.uri)).toEqual([SKILL_URI, "skill://chart-reading/SKILL.md"]);

    const airline = skills[0]!;
    expect(airline.frontmatter).toEqual(frontmatterOf(v1Files.get("SKILL.md")!.toString("utf8")));
    expect(airline.frontmatter).toMatchObject({ name: SKILL, license: "MIT" });
    expect(sortByUri(airline.resources)).toEqual(sortByUri(expectedResources(v1Files, SKILL)));
    expect(airline.resources.map((r) => r.uri)).toContain(`skill://${SKILL}/references/request-checks.md`);

    const chart = skills[1]!;
    expect(chart.frontmatter).toEqual({
      name: "chart-reading",
      description: expect.stringMatching(/^Read bar and line charts/),
      metadata: { owner: "tests" },
    });
    expect(sortByUri(chart.resources)).toEqual(sortByUri(expectedResources(await filesOnDisk(chartDir), "chart-reading")));
  });

  it("skills/get returns the listed entry, and refuses unknown, missing or non-SKILL.md uris with -32602", async () => {
    const { skills } = await listSkills(client);
    expect(await getSkill(client, SKILL_URI)).toEqual(skills[0]);

    await expect(getSkill(client, "skill://no-such-skill/SKILL.md")).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining("No skill is served at skill://no-such-skill/SKILL.md"),
    });
    await expect(getSkill(client, `skill://${SKILL}/v9/${SKILL}/SKILL.md`)).rejects.toMatchObject({ code: -32602 });
    await expect(getSkill(client, `skill://${SKILL}/references/request-checks.md`)).rejects.toMatchObject({ code: -32602 });
    await expect(getSkill(client, "https://example.com/SKILL.md")).rejects.toMatchObject({ code: -32602 });
    await expect(client.request({ method: "skills/get", params: {} }, GetWire)).rejects.toMatchObject({ code: -32602 });
    await expect(client.request({ method: "skills/get", params: { uri: 42 } }, GetWire)).rejects.toMatchObject({ code: -32602 });
    await expect(listSkills(client, { cursor: "not-a-cursor" })).rejects.toMatchObject({ code: -32602 });
  });

  it("serves every listed file through resources/read with the listed digest, a binary one as a blob", async () => {
    const { skills } = await listSkills(client);
    const listedResources = (await client.listResources()).resources;
    for (const entry of skills) {
      for (const resource of entry.resources) {
        const read = await readBytes(client, resource.uri);
        expect(sha256(read.bytes), resource.uri).toBe(resource.digest);
        expect(read.bytes.length, resource.uri).toBe(resource.size);
        expect(listedResources.map((r) => r.uri), resource.uri).toContain(resource.uri);
      }
    }
    const png = await readBytes(client, "skill://chart-reading/assets/legend.png");
    expect(png).toMatchObject({ blob: true, mimeType: "image/png" });
    expect((await readBytes(client, SKILL_URI)).mimeType).toBe("text/markdown");

    const skillMd = listedResources.find((r) => r.uri === SKILL_URI);
    expect(skillMd).toMatchObject({ name: SKILL, mimeType: "text/markdown", description: skills[0]!.frontmatter.description });
    await expect(client.readResource({ uri: `skill://${SKILL}/references/nothing-here.md` })).rejects.toMatchObject({ code: -32002 });
  });

  it("keeps drafts out of skills/list unless includeDrafts, then serves each at a version-pinned uri", async () => {
    const imported = await engine.importSkill(v2Dir, { activate: false });
    expect(imported).toMatchObject({ version: 2, status: "draft" });

    const plain = await listSkills(client);
    expect(plain.skills.map((s) => s.uri)).toEqual([SKILL_URI, "skill://chart-reading/SKILL.md"]);
    expect(plain.skills[0]!.resources.find((r) => r.uri === SKILL_URI)?.digest).toBe(sha256(v1Files.get("SKILL.md")!));

    const withDrafts = await listSkills(client, { includeDrafts: true });
    expect(withDrafts.skills.map((s) => s.uri)).toEqual([SKILL_URI, PINNED_V2_URI, "skill://chart-reading/SKILL.md"]);
    const draft = withDrafts.skills[1]!;
    expect(draft.frontmatter.name).toBe(SKILL);
    expect(sortByUri(draft.resources)).toEqual(sortByUri(expectedResources(v2Files, `${SKILL}/v2/${SKILL}`)));
    expect(await getSkill(client, PINNED_V2_URI)).toEqual(draft);
    for (const resource of draft.resources) {
      expect(sha256((await readBytes(client, resource.uri)).bytes), resource.uri).toBe(resource.digest);
    }
    // A pinned uri reaches any version, listed or not.
    expect((await getSkill(client, `skill://${SKILL}/v1/${SKILL}/SKILL.md`)).resources).toEqual(
      plain.skills[0]!.resources.map((r) => ({ ...r, uri: r.uri.replace(`skill://${SKILL}/`, `skill://${SKILL}/v1/${SKILL}/`) })),
    );
  });

  it("tells a subscriber when the active version changes, and stops after unsubscribe", async () => {
    await client.subscribeResource({ uri: SKILL_URI });
    await client.subscribeResource({ uri: `skill://${SKILL}/v1/${SKILL}/SKILL.md` });
    await expect(client.subscribeResource({ uri: `trajectory://${"0".repeat(64)}` })).rejects.toMatchObject({ code: -32602 });
    const listChangedBefore = listChanged;

    await engine.promote(SKILL, 2, { export: false });
    await expect.poll(() => updated).toEqual([SKILL_URI]);
    await expect.poll(() => listChanged).toBeGreaterThan(listChangedBefore);

    const now = await getSkill(client, SKILL_URI);
    expect(sortByUri(now.resources)).toEqual(sortByUri(expectedResources(v2Files, SKILL)));
    expect(now.resources.find((r) => r.uri === SKILL_URI)?.digest).not.toBe(sha256(v1Files.get("SKILL.md")!));
    expect((await readBytes(client, SKILL_URI)).bytes.equals(v2Files.get("SKILL.md")!)).toBe(true);

    await client.unsubscribeResource({ uri: SKILL_URI });
    const listChangedAfterUnsubscribe = listChanged;
    await engine.rollback(SKILL, { export: false });
    // The list change travels with any update, so once it has arrived no update is on its way.
    await expect.poll(() => listChanged).toBeGreaterThan(listChangedAfterUnsubscribe);
    expect(updated).toEqual([SKILL_URI]);
    expect(sortByUri((await getSkill(client, SKILL_URI)).resources)).toEqual(sortByUri(expectedResources(v1Files, SKILL)));
  });

  it("completes skill names and file paths of the skill-file template", async () => {
    const ref = { type: "ref/resource" as const, uri: "skill://{name}/{+path}" };
    const names = await client.complete({ ref, argument: { name: "name", value: "air" } });
    expect(names.completion.values).toEqual([SKILL]);
    const all = await client.complete({ ref, argument: { name: "name", value: "" } });
    expect(all.completion.values).toEqual([SKILL, "chart-reading"]);

    const paths = await client.complete({ ref, argument: { name: "path", value: "ref" }, context: { arguments: { name: SKILL } } });
    expect(paths.completion.values).toEqual(["references/request-checks.md"]);
    const versions = await client.complete({ ref, argument: { name: "path", value: "v" }, context: { arguments: { name: SKILL } } });
    expect(versions.completion.values).toEqual([`v1/${SKILL}/SKILL.md`, `v2/${SKILL}/SKILL.md`]);
    const pinned = await client.complete({ ref, argument: { name: "path", value: "v2/" }, context: { arguments: { name: SKILL } } });
    expect(pinned.completion.values).toEqual([`v2/${SKILL}/SKILL.md`, `v2/${SKILL}/references/request-checks.md`]);
  });
});

describe("skills/list pagination", () => {
  it("pages through many skills with an opaque cursor, each skill exactly once", async () => {
    const engine = await openTestEngine();
    const root = await tempDir();
    const names = Array.from({ length: 57 }, (_, i) => `skill-${String(i).padStart(2, "0")}`);
    for (const name of names) {
      await mkdir(path.join(root, name));
      await writeFile(path.join(root, name, "SKILL.md"), `---\nname: ${name}\ndescription: Test skill number ${name} used to check that the listing pages.\n---\n\n# ${name}\n`);
      await engine.importSkill(path.join(root, name));
    }
    const client = await connectInMemory(engine);
    try {
      const first = await listSkills(client);
      expect(first.skills).toHaveLength(50);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await listSkills(client, { cursor: first.nextCursor });
      expect(second.nextCursor).toBeUndefined();
      expect([...first.skills, ...second.skills].map((s) => s.frontmatter.name)).toEqual(names);
    } finally {
      await client.close();
    }
  });
});

describe("the version a run used, from the session's last read (issue 12, item 1)", () => {
  it("fills in skillVersion for a run submitted after get_skill, and only in that session", async () => {
    const engine = await openTestEngine();
    await engine.importSkill(path.join(REPO_ROOT, "skills", "airline-support"));
    const reader = await connectInMemory(engine);
    const other = await connectInMemory(engine);
    const got = await callTool(reader, "get_skill", { skill: "airline-support" });
    expect(got.isError).toBeFalsy();
    const run = (task: string) => ({ skill: "airline-support", trajectory: { task, steps: [{ role: "user", text: task }] } });
    const mine = await callTool(reader, "submit_trajectory", run("after reading"));
    const theirs = await callTool(other, "submit_trajectory", run("without reading"));
    const said = await callTool(reader, "submit_trajectory", { skill: "airline-support", trajectory: { task: "says", skillVersion: 7, steps: [{ role: "user", text: "says" }] } });
    const version = async (res: Awaited<ReturnType<typeof callTool>>) => (await engine.getTrajectory((res.structuredContent as { id: string }).id)).skillVersion;
    expect(await version(mine)).toBe(1);
    expect(await version(theirs)).toBeNull();
    expect(await version(said)).toBe(7);
    await reader.close();
    await other.close();
  });

  it("also when the skill is named only inside the run, and takes a version given as an argument (review, session 4)", async () => {
    const engine = await openTestEngine();
    await engine.importSkill(path.join(REPO_ROOT, "skills", "airline-support"));
    const client = await connectInMemory(engine);
    expect((await callTool(client, "get_skill", { skill: "airline-support" })).isError).toBeFalsy();
    const inside = await callTool(client, "submit_trajectory", { trajectory: { skill: "airline-support", task: "inside", steps: [{ role: "user", text: "inside" }] } });
    const given = await callTool(client, "submit_trajectory", { skill: "airline-support", skillVersion: 3, trajectory: { task: "given", steps: [{ role: "user", text: "given" }] } });
    const version = async (res: Awaited<ReturnType<typeof callTool>>) => (await engine.getTrajectory((res.structuredContent as { id: string }).id)).skillVersion;
    expect(await version(inside)).toBe(1);
    expect(await version(given)).toBe(3);
    await client.close();
  });
});
