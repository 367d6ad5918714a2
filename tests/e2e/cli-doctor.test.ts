import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { closedPort } from "../helpers/processes.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanEnv, runCli, type CliResult } from "../helpers/cli.js";
import { startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.js";
import { REPO_ROOT, tempDir } from "../helpers/mcp.js";
import { finaliseTrajectory, TrajectoryDraftSchema } from "../../src/trajectory/schema.js";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}
interface DoctorReport {
  ok: boolean;
  dataDir: string;
  skillsDir: string;
  checks: Check[];
}

function runDoctor(args: string[], extraEnv: Record<string, string>): Promise<CliResult> {
  return runCli(["doctor", ...args], { env: cleanEnv(extraEnv), cwd: home });
}


let home: string;
let base: Record<string, string>;
let fake: FakeOpenAI | undefined;

beforeEach(async () => {
  home = await tempDir("t2s-doctor-");
  base = { TRACE2SKILL_HOME: path.join(home, "data"), TRACE2SKILL_SKILLS_DIR: path.join(home, "skills"), TRACE2SKILL_LOG: "warn" };
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const check = (report: DoctorReport, name: string) => report.checks.find((c) => c.name === name);

describe("trace2skill doctor (built CLI)", () => {
  it("passes on a fresh data dir without a model, and says how to configure one", async () => {
    const res = await runDoctor(["--json"], base);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(["node", "data dir", "store", "model", "skills dir"]);
    expect(check(report, "data dir")?.detail).toContain("lock works");
    expect(check(report, "model")?.detail).toContain("no model configured");
    expect(check(report, "model")?.fix).toContain("OPENAI_BASE_URL");
    // the probe and its lock are cleaned up
    expect((await readdir(path.join(home, "data"))).filter((f) => f.startsWith(".doctor"))).toEqual([]);

    const text = await runDoctor([], base);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^✓ node: Node\.js \d+/m);
    expect(text.stdout).toContain("All checks passed.");
  });

  it("reaches a configured model that answers a structured request", async () => {
    fake = await startFakeOpenAI({ responder: [{ json: { ok: true } }] });
    const res = await runDoctor(["--json"], { ...base, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "test", TRACE2SKILL_MODEL: "fake-model" });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const model = check(JSON.parse(res.stdout) as DoctorReport, "model");
    expect(model).toMatchObject({ ok: true });
    expect(model?.detail).toMatch(/fake-model at http:\/\/127\.0\.0\.1:\d+\/v1 answered a structured request/);
    expect(fake.calls.count).toBeGreaterThanOrEqual(1);
    expect(fake.calls.bodies[0]?.response_format?.type).toBe("json_schema");
  });

  it("reads the model from the config file, as the server does (issue 11, item 11)", async () => {
    fake = await startFakeOpenAI({ responder: [{ json: { ok: true } }] });
    await mkdir(path.join(home, "data"), { recursive: true });
    await writeFile(path.join(home, "data", "config.json"), JSON.stringify({ model: { baseURL: fake.url, model: "from-file" } }));
    const res = await runDoctor(["--json"], base);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(check(JSON.parse(res.stdout) as DoctorReport, "model")?.detail).toMatch(/from-file at http:\/\/127\.0\.0\.1:\d+\/v1 \(config file .*config\.json\) answered/);
    // The skills dir from the file too, as export and promote use it (review, session 3).
    const own = path.join(home, "my-skills");
    await writeFile(path.join(home, "data", "config.json"), JSON.stringify({ model: { baseURL: fake.url, model: "from-file" }, skillsDir: own }));
    const withDir = JSON.parse((await runDoctor(["--json"], { ...base, TRACE2SKILL_SKILLS_DIR: "" })).stdout) as DoctorReport;
    expect(withDir.skillsDir).toBe(own);
    // A flat file is not ignored: doctor says where the setting belongs.
    await writeFile(path.join(home, "data", "config.json"), JSON.stringify({ baseURL: fake.url, model: "flat" }));
    const flat = await runDoctor(["--json"], base);
    expect(flat.code).toBe(1);
    expect(check(JSON.parse(flat.stdout) as DoctorReport, "model")?.fix).toMatch(/"model" is the model section|belongs? in the "model" section/);
  });

  it("fails with exit 1 and a fix when the model endpoint is down", async () => {
    const port = await closedPort();
    const res = await runDoctor([], { ...base, OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, TRACE2SKILL_MODEL: "fake-model" });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^✗ model: fake-model at http:\/\/127\.0\.0\.1:\d+\/v1 did not answer/m);
    expect(res.stdout).toContain(`→ Check that the server at http://127.0.0.1:${port}/v1 is running`);
    expect(res.stdout).toContain("1 check(s) failed.");
  });

  it("fails on an invalid model configuration, an unusable data dir and an invalid exported skill", async () => {
    await writeFile(path.join(home, "a-file"), "x");
    await mkdir(path.join(home, "skills/good-skill"), { recursive: true });
    await writeFile(path.join(home, "skills/good-skill/SKILL.md"), "---\nname: good-skill\ndescription: Does a thing. Use when the thing is needed.\n---\n\n# Good\n");
    await mkdir(path.join(home, "skills/bad-skill"), { recursive: true });
    await writeFile(path.join(home, "skills/bad-skill/SKILL.md"), "---\nname: other-name\ndescription: x\n---\nbody\n");
    await mkdir(path.join(home, "skills/not-a-skill"), { recursive: true });
    const res = await runDoctor(["--json"], {
      ...base,
      TRACE2SKILL_HOME: path.join(home, "a-file", "data"),
      OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
    });
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(check(report, "data dir")).toMatchObject({ ok: false });
    expect(check(report, "data dir")?.fix).toContain("TRACE2SKILL_HOME");
    expect(check(report, "model")).toMatchObject({ ok: false });
    expect(check(report, "model")?.fix).toContain("no model name");
    const skills = check(report, "skills dir");
    expect(skills?.ok).toBe(false);
    expect(skills?.detail).toContain("bad-skill ✗, good-skill ✓");
    expect(skills?.detail).not.toContain("not-a-skill");
    expect(skills?.fix).toContain("bad-skill");
  });

  it("finds a row that says something else than its file, and repairs a db.json that does not open (review, session 3)", async () => {
    const ingest = await runCli(["ingest", path.join(REPO_ROOT, "fixtures/formats/atif_tool-calls.input.json"), "--skill", "airline"], { env: cleanEnv(base), cwd: home });
    expect(ingest.code, ingest.stderr).toBe(0);
    const dataDir = path.join(home, "data");
    // The file says failure, the row (as a crash before the journal line would leave it) does not.
    const [shard] = (await readdir(path.join(dataDir, "trajectories"))).sort();
    const [file] = await readdir(path.join(dataDir, "trajectories", shard as string));
    const full = path.join(dataDir, "trajectories", shard as string, file as string);
    const run = JSON.parse(await readFile(full, "utf8")) as { outcome: { success: boolean | null } };
    await writeFile(full, JSON.stringify({ ...run, outcome: { success: false } }));
    const found = check(JSON.parse((await runDoctor(["--json"], base)).stdout) as DoctorReport, "store");
    expect(found).toMatchObject({ ok: false, detail: expect.stringMatching(/rows that say something else than their file: 1 trajectories/) });
    expect(check(JSON.parse((await runDoctor(["--repair", "--json"], base)).stdout) as DoctorReport, "store")?.ok).toBe(true);
    // A damaged db.json: the advice is doctor --repair, which moves the index aside and rebuilds it.
    await writeFile(path.join(dataDir, "db.json"), '{"trajectories":');
    const broken = check(JSON.parse((await runDoctor(["--json"], base)).stdout) as DoctorReport, "store");
    expect(broken?.fix).toMatch(/doctor --repair/);
    expect(broken?.fix).not.toMatch(/re-ingest/);
    const repaired = check(JSON.parse((await runDoctor(["--repair", "--json"], base)).stdout) as DoctorReport, "store");
    expect(repaired).toMatchObject({ ok: true, detail: expect.stringMatching(/moved aside and the index rebuilt/) });
    expect((await readdir(dataDir)).some((f) => f.startsWith("db.json.broken-"))).toBe(true);
    const runs = JSON.parse((await runCli(["runs", "--json"], { env: cleanEnv(base), cwd: home })).stdout) as { runs: unknown[] };
    expect(runs.runs.length).toBeGreaterThan(0);
  });

  it("finds an index out of step with the files on disk, and --repair rebuilds it (issue 11, item 1)", async () => {
    const ingest = await runCli(["ingest", path.join(REPO_ROOT, "fixtures/formats/atif_tool-calls.input.json"), "--skill", "airline"], { env: cleanEnv(base), cwd: home });
    expect(ingest.code, ingest.stderr).toBe(0);
    const dataDir = path.join(home, "data");
    // A run file nobody indexed (a writer killed between the file and its row), and an indexed run whose file is gone.
    const [shard] = (await readdir(path.join(dataDir, "trajectories"))).sort();
    const [file] = await readdir(path.join(dataDir, "trajectories", shard as string));
    const payload = JSON.parse(await readFile(path.join(dataDir, "trajectories", shard as string, file as string), "utf8")) as Record<string, unknown>;
    const orphan = finaliseTrajectory(TrajectoryDraftSchema.parse({ skill: "airline", task: "unindexed", steps: [{ role: "user", text: "unindexed" }] }));
    await mkdir(path.join(dataDir, "trajectories", orphan.id.slice(0, 2)), { recursive: true });
    await writeFile(path.join(dataDir, "trajectories", orphan.id.slice(0, 2), `${orphan.id}.json`), JSON.stringify(orphan));
    await rm(path.join(dataDir, "trajectories", shard as string, file as string));

    const found = await runDoctor(["--json"], base);
    expect(found.code).toBe(1);
    const store = check(JSON.parse(found.stdout) as DoctorReport, "store");
    expect(store?.ok).toBe(false);
    // Opening the store indexes the file a killed writer left; the row without a file is doctor's to find.
    expect(store?.detail).toMatch(/the index does not match the files on disk: in the index but their file is gone: 1 trajectories \(/);
    expect(store?.detail).not.toMatch(/on disk but not in the index/);
    expect(store?.fix).toMatch(/doctor --repair/);

    const repaired = await runDoctor(["--repair", "--json"], base);
    expect(check(JSON.parse(repaired.stdout) as DoctorReport, "store")).toMatchObject({ ok: true, detail: expect.stringMatching(/rebuilt it from the files on disk/) });
    const again = await runDoctor(["--json"], base);
    expect(check(JSON.parse(again.stdout) as DoctorReport, "store")).toMatchObject({ ok: true });
    const runs = await runCli(["runs", "--json"], { env: cleanEnv(base), cwd: home });
    const ids = (JSON.parse(runs.stdout) as { runs: { id: string }[] }).runs.map((r) => r.id);
    expect(ids).toContain(orphan.id);
    expect(ids).not.toContain(payload.id);
  });
});
