import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Analysis } from "../../src/analysis/schema.js";
import type { SkillFolder } from "../../src/skill/types.js";
import { FileStore, openStore } from "../../src/store/file-store.js";
import { CHECKPOINT_EVERY } from "../../src/store/index-journal.js";
import type { Run } from "../../src/store/run.js";
import type { NewSkillVersion } from "../../src/store/store.js";
import { finaliseTrajectory, TrajectoryDraftSchema, type Outcome, type Trajectory } from "../../src/trajectory/schema.js";
import { InvalidNameError, StoreCorruptError, UnsafePathError } from "../../src/util/errors.js";

let dataDir: string;
let store: FileStore;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-store-"));
  store = await openStore(dataDir);
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function trajectory(task: string, outcome: Outcome = { success: null }, skill: string | null = "airline"): Trajectory {
  return finaliseTrajectory(
    TrajectoryDraftSchema.parse({
      skill,
      task,
      outcome,
      tags: ["t"],
      steps: [
        { role: "user", text: task },
        { role: "assistant", toolCalls: [{ id: "c1", name: "lookup", arguments: { q: task } }] },
        { role: "tool", toolResult: { callId: "c1", content: "ok" } },
      ],
    }),
  );
}

function analysis(id: string, overrides: Partial<Analysis> = {}): Analysis {
  return {
    id,
    skill: "airline",
    trajectoryIds: ["a".repeat(64)],
    baseVersion: 1,
    baseHash: "base-1",
    analyst: "error",
    configHash: "cfg",
    provider: "heuristic",
    lessons: [],
    patch: { edits: [], changelog: ["nothing"] },
    usage: { inputTokens: 1, outputTokens: 2, costUsd: 0, calls: 1 },
    createdAt: "2026-01-01T00:00:00.000Z",
    ...overrides,
  };
}

function folder(name: string, body: string, extra: Partial<SkillFolder> = {}): SkillFolder {
  return {
    name,
    files: { "SKILL.md": `---\nname: ${name}\ndescription: test\n---\n${body}\n`, "references/notes.md": "notes\n" },
    binaries: { "assets/logo.bin": Buffer.from([0, 255, 1, 254]).toString("base64") },
    ...extra,
  };
}

function newVersion(name: string, body: string, status: NewSkillVersion["detail"]["status"] = "draft"): NewSkillVersion {
  return {
    skill: name,
    folder: folder(name, body),
    detail: {
      parent: null,
      status,
      origin: "import",
      changelog: [`imported ${body}`],
      runId: null,
      valid: true,
      diff: "",
      provenance: [],
      validation: { valid: true, problems: [] },
      usage: null,
      dropped: [],
    },
  };
}

function run(id: string, skill = "airline", createdAt = "2026-01-01T00:00:00.000Z"): Run {
  return {
    id,
    skill,
    kind: "evolve",
    stage: "queued",
    config: { fanIn: 5 },
    progress: { done: 0, total: 3, message: "queued" },
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 },
    resultVersion: null,
    errors: [],
    createdAt,
    updatedAt: createdAt,
  };
}

async function listTree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe("trajectories", () => {
  it("round-trips a trajectory and lists its small row", async () => {
    const t = trajectory("book a flight", { success: true, score: 1 });
    expect(await store.putTrajectory(t)).toEqual({ id: t.id, created: true, outcomeUpdated: false });
    expect(await store.getTrajectory(t.id)).toEqual(t);
    expect(await store.listTrajectories()).toEqual([
      { id: t.id, skill: "airline", success: true, source: "canonical", steps: 3, tags: ["t"], createdAt: t.createdAt, judged: null, bytes: expect.any(Number), skillVersion: null },
    ]);
    const file = path.join(dataDir, "trajectories", t.id.slice(0, 2), `${t.id}.json`);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual(t);
    expect(await readFile(path.join(dataDir, "db.json"), "utf8")).not.toContain("book a flight");
  });

  it("is idempotent: the same run stored twice is one trajectory", async () => {
    const t = trajectory("same", { success: false });
    await store.putTrajectory(t);
    expect(await store.putTrajectory({ ...t, tags: ["other"] })).toEqual({ id: t.id, created: false, outcomeUpdated: false });
    expect(await store.listTrajectories()).toHaveLength(1);
    expect((await store.getTrajectory(t.id))?.tags).toEqual(["t"]);
  });

  it("fills in an unknown outcome on re-submit, but never overwrites a known one", async () => {
    const unknown = trajectory("later", { success: null });
    await store.putTrajectory(unknown);
    const known = { ...unknown, outcome: { success: true, feedback: "CI passed" } };
    expect(await store.putTrajectory(known)).toEqual({ id: unknown.id, created: false, outcomeUpdated: true });
    expect((await store.getTrajectory(unknown.id))?.outcome).toEqual({ success: true, feedback: "CI passed" });
    expect((await store.listTrajectories())[0]?.success).toBe(true);

    const flipped = { ...unknown, outcome: { success: false } };
    expect(await store.putTrajectory(flipped)).toEqual({ id: unknown.id, created: false, outcomeUpdated: false });
    expect((await store.getTrajectory(unknown.id))?.outcome.success).toBe(true);
  });

  it("stores a batch under one lock, counting duplicates inside the batch once", async () => {
    const a = trajectory("a", { success: null });
    const b = trajectory("b", { success: true });
    const results = await store.putTrajectories([a, b, { ...a, outcome: { success: false } }, b]);
    expect(results).toEqual([
      { id: a.id, created: true, outcomeUpdated: false },
      { id: b.id, created: true, outcomeUpdated: false },
      { id: a.id, created: false, outcomeUpdated: true },
      { id: b.id, created: false, outcomeUpdated: false },
    ]);
    expect((await store.getTrajectory(a.id))?.outcome.success).toBe(false);
    expect(await store.listTrajectories()).toHaveLength(2);
  });

  it("filters the listing by skill and by outcome (null included)", async () => {
    await store.putTrajectories([
      trajectory("s", { success: true }),
      trajectory("f", { success: false }),
      trajectory("u", { success: null }),
      trajectory("other", { success: true }, "billing"),
      trajectory("none", { success: true }, null),
    ]);
    expect(await store.listTrajectories({ skill: "airline" })).toHaveLength(3);
    expect(await store.listTrajectories({ skill: "airline", success: true })).toHaveLength(1);
    expect(await store.listTrajectories({ success: null })).toHaveLength(1);
    expect(await store.listTrajectories({ success: true })).toHaveLength(3);
  });

  it("setOutcome rewrites the file and the row; unknown ids are refused", async () => {
    const t = trajectory("ci", { success: null });
    await store.putTrajectory(t);
    const updated = await store.setOutcome(t.id, { success: false, score: 0.2, expected: "x" });
    expect(updated.outcome).toEqual({ success: false, score: 0.2, expected: "x" });
    expect(await store.getTrajectory(t.id)).toEqual(updated);
    expect(await store.listTrajectories({ success: false })).toHaveLength(1);
    await expect(store.setOutcome("b".repeat(64), { success: true })).rejects.toThrow(/not found/);
  });

  it("refuses a trajectory whose id does not match its content", async () => {
    const t = trajectory("tampered");
    await expect(store.putTrajectory({ ...t, id: "c".repeat(64) })).rejects.toThrow(/does not match its content/);
    expect(await store.listTrajectories()).toEqual([]);
  });

  it("loses nothing when 50 puts run in parallel in one process", async () => {
    const ts = Array.from({ length: 50 }, (_, i) => trajectory(`parallel ${i}`, { success: i % 2 === 0 }));
    const results = await Promise.all(ts.map((t) => store.putTrajectory(t)));
    expect(results.every((r) => r.created)).toBe(true);
    const expected = new Set(ts.map((t) => t.id));
    expect(new Set((await store.listTrajectories()).map((r) => r.id))).toEqual(expected);
    // What counts is what reached the disk: a fresh store has no shared memory to hide a loss.
    const reopened = await openStore(dataDir);
    expect(new Set((await reopened.listTrajectories()).map((r) => r.id))).toEqual(expected);
  });
});

describe("judged outcomes and deletion", () => {
  it("stores a judge's verdict beside the submitted outcome, without changing the run's id", async () => {
    const t = trajectory("judge me");
    await store.putTrajectory(t);
    const judgment = { verdict: "failure" as const, confidence: 0.7, reason: "tests failed at #2", judge: "heuristic", configHash: "h1", judgedAt: "2026-11-29T00:00:00.000Z" };
    const judged = await store.setJudgment(t.id, judgment);
    expect(judged).toMatchObject({ id: t.id, outcome: { success: null }, judged: judgment });
    expect((await store.listTrajectories())[0]).toMatchObject({ success: null, judged: { success: false, judge: "heuristic", confidence: 0.7 } });
    expect(await store.putTrajectory({ ...t, judged: undefined })).toMatchObject({ created: false });
    await expect(store.setJudgment("b".repeat(64), judgment)).rejects.toThrow(/not found|No trajectory/i);
  });

  it("deletes runs with their files, rows and the analyses made from them, across a reopen", async () => {
    const keep = trajectory("keep", { success: true });
    const drop = trajectory("drop", { success: false });
    await store.putTrajectories([keep, drop]);
    await store.putAnalysis(analysis("of-drop", { trajectoryIds: [drop.id] }));
    await store.putAnalysis(analysis("pool", { trajectoryIds: [keep.id, drop.id] }));
    await store.putAnalysis(analysis("of-keep", { trajectoryIds: [keep.id] }));
    const result = await store.deleteTrajectories([drop.id, drop.id, "c".repeat(64)]);
    expect(result).toEqual({ deleted: [drop.id], missing: ["c".repeat(64)], analysesRemoved: 2 });
    const reopened = await openStore(dataDir);
    expect((await reopened.listTrajectories()).map((r) => r.id)).toEqual([keep.id]);
    expect(await reopened.getTrajectory(drop.id)).toBeNull();
    expect((await reopened.listAnalyses({ skill: "airline" })).map((a) => a.id)).toEqual(["of-keep"]);
    const tree = await listTree(dataDir);
    expect(tree.some((f) => f.includes(drop.id))).toBe(false);
    expect(tree.some((f) => f.includes("of-drop"))).toBe(false);
    await expect(store.deleteTrajectories(["../../etc/passwd"])).rejects.toThrow(InvalidNameError);
  });
});

describe("analyses", () => {
  it("round-trips, upserts and filters by skill and base hash", async () => {
    await store.putAnalysis(analysis("an1"));
    await store.putAnalysis(analysis("an2", { baseHash: "base-2" }));
    await store.putAnalysis(analysis("an3", { skill: "billing" }));
    await store.putAnalysis(analysis("an1", { provider: "openai" }));
    expect((await store.getAnalysis("an1"))?.provider).toBe("openai");
    expect(await store.getAnalysis("missing")).toBeNull();
    expect((await store.listAnalyses({ skill: "airline" })).map((a) => a.id).sort()).toEqual(["an1", "an2"]);
    expect((await store.listAnalyses({ skill: "airline", baseHash: "base-2" })).map((a) => a.id)).toEqual(["an2"]);
    expect(await store.listAnalyses({ skill: "nothing" })).toEqual([]);
  });

  it("lists an analysis whose process died between its file and its index row once it is read", async () => {
    const orphan = analysis("orphan1");
    const file = path.join(dataDir, "analyses", "or", "orphan1.json");
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(orphan));
    expect(await store.listAnalyses({ skill: "airline" })).toEqual([]);
    expect((await store.getAnalysis("orphan1"))?.id).toBe("orphan1");
    expect((await store.listAnalyses({ skill: "airline" })).map((a) => a.id)).toEqual(["orphan1"]);
  });
});

describe("skill versions", () => {
  it("numbers versions, snapshots text and binary files, and reads them back byte-exact", async () => {
    const v1 = await store.addSkillVersion(newVersion("airline", "one"));
    const v2 = await store.addSkillVersion(newVersion("airline", "two"));
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(v1).toMatchObject({ skill: "airline", status: "draft", fileCount: 3, changelog: ["imported one"] });
    expect(v1.contentHash).not.toBe(v2.contentHash);

    const got = await store.getSkillVersion("airline", 1);
    expect(got?.folder).toEqual(folder("airline", "one"));
    expect(got?.meta).toMatchObject({ version: 1, contentHash: v1.contentHash, validation: { valid: true } });
    expect(await readFile(path.join(dataDir, "skills/airline/v1/airline/assets/logo.bin"))).toEqual(Buffer.from([0, 255, 1, 254]));
    expect(await store.getSkillVersion("airline", 3)).toBeNull();
    expect((await store.listSkillVersions("airline")).map((m) => m.version)).toEqual([1, 2]);
    expect(await store.listSkills()).toEqual(["airline"]);
    expect(await store.listSkillVersions("unknown")).toEqual([]);
  });

  it("switches the active version and retires the previous one", async () => {
    await store.addSkillVersion(newVersion("airline", "one", "active"));
    await store.addSkillVersion(newVersion("airline", "two"));
    expect(await store.getActiveVersion("airline")).toBe(1);

    const promoted = await store.setVersionStatus("airline", 2, "active");
    expect(promoted.status).toBe("active");
    expect(await store.getActiveVersion("airline")).toBe(2);
    const statuses = (await store.listSkillVersions("airline")).map((m) => m.status);
    expect(statuses).toEqual(["retired", "active"]);
    expect((await store.getSkillVersion("airline", 1))?.meta.status).toBe("retired");

    await store.setVersionStatus("airline", 2, "rejected");
    expect(await store.getActiveVersion("airline")).toBeNull();
    await expect(store.setVersionStatus("airline", 9, "active")).rejects.toThrow(/has no version 9/);
    await expect(store.setVersionStatus("nope", 1, "active")).rejects.toThrow(/not found/);
  });

  it("never overwrites a version folder", async () => {
    await store.addSkillVersion(newVersion("airline", "one"));
    // A leftover v2 folder (e.g. from an interrupted write) must not be replaced.
    await mkdir(path.join(dataDir, "skills/airline/v2/airline"), { recursive: true });
    await writeFile(path.join(dataDir, "skills/airline/v2/airline/keep.md"), "keep");
    // It is set aside whole (issue 11, item 8: it used to block every later version), never written over.
    await store.addSkillVersion(newVersion("airline", "two"));
    const [aside] = (await readdir(path.join(dataDir, "skills/airline"))).filter((n) => n.startsWith(".orphan-v2-"));
    expect(await readFile(path.join(dataDir, "skills/airline", aside as string, "airline/keep.md"), "utf8")).toBe("keep");
    expect((await store.listSkillVersions("airline")).map((m) => m.version)).toEqual([1, 2]);
  });

  it("refuses path tricks in skill names and file paths with nothing written", async () => {
    const before = await listTree(dataDir);
    await expect(store.addSkillVersion({ ...newVersion("airline", "x"), skill: "../../etc" })).rejects.toThrow(InvalidNameError);
    await expect(store.getSkillVersion("../../etc", 1)).rejects.toThrow(InvalidNameError);
    await expect(store.listSkillVersions("..")).rejects.toThrow(InvalidNameError);
    await expect(store.getActiveVersion("a/b")).rejects.toThrow(InvalidNameError);
    await expect(store.setVersionStatus("../x", 1, "active")).rejects.toThrow(InvalidNameError);
    const escaping = newVersion("airline", "x");
    escaping.folder.files["../../escape.md"] = "boom";
    await expect(store.addSkillVersion(escaping)).rejects.toThrow(UnsafePathError);
    const absolute = newVersion("airline", "x");
    absolute.folder.binaries["/tmp/evil"] = "AAAA";
    await expect(store.addSkillVersion(absolute)).rejects.toThrow(UnsafePathError);
    expect(await listTree(dataDir)).toEqual(before);
  });

  it("is not fooled by names that are Object.prototype members", async () => {
    expect(await store.getActiveVersion("constructor")).toBeNull();
    expect(await store.listSkillVersions("constructor")).toEqual([]);
    const v = await store.addSkillVersion(newVersion("constructor", "proto"));
    expect(v.version).toBe(1);
  });
});

describe("runs", () => {
  it("upserts runs, lists them by skill and keeps artefacts beside them", async () => {
    await store.putRun(run("run-1", "airline", "2026-01-02T00:00:00.000Z"));
    await store.putRun(run("run-0", "airline", "2026-01-01T00:00:00.000Z"));
    await store.putRun(run("run-2", "billing"));
    await store.putRun({ ...run("run-1", "airline", "2026-01-02T00:00:00.000Z"), stage: "done", resultVersion: 2 });
    expect(await store.getRun("run-1")).toMatchObject({ stage: "done", resultVersion: 2 });
    expect(await store.getRun("run-9")).toBeNull();
    expect((await store.listRuns({ skill: "airline" })).map((r) => r.id)).toEqual(["run-0", "run-1"]);
    expect(await store.listRuns()).toHaveLength(3);

    await store.writeRunArtifact("run-1", "merge-level-1", { patches: [1, 2] });
    expect(await store.readRunArtifact("run-1", "merge-level-1")).toEqual({ patches: [1, 2] });
    expect(await store.readRunArtifact("run-1", "final-patch")).toBeNull();
  });

  it("claims a run under the lock: the claim sees the stored run, and a refused claim changes nothing", async () => {
    await store.putRun(run("run-c", "airline"));
    const claimed = await store.claimRun("run-c", async (r) => ({ ...r, stage: "queued", pid: 4242 }));
    expect(claimed).toMatchObject({ id: "run-c", pid: 4242 });
    await expect(store.claimRun("run-c", async () => { throw new Error("held elsewhere"); })).rejects.toThrow("held elsewhere");
    expect(await store.getRun("run-c")).toMatchObject({ pid: 4242 });
    await expect(store.claimRun("run-none", async (r) => r)).rejects.toThrow(/not found/);
  });

  it("refuses path tricks in run ids and artefact names with nothing written", async () => {
    const before = await listTree(dataDir);
    await expect(store.putRun(run("../../etc"))).rejects.toThrow(InvalidNameError);
    await expect(store.getRun("../x")).rejects.toThrow(InvalidNameError);
    await expect(store.writeRunArtifact("../../etc", "x", 1)).rejects.toThrow(InvalidNameError);
    await expect(store.writeRunArtifact("run-1", "../passwd", 1)).rejects.toThrow(InvalidNameError);
    await expect(store.writeRunArtifact("run-1", "a/b", 1)).rejects.toThrow(InvalidNameError);
    await expect(store.writeRunArtifact("run-1", "run", 1)).rejects.toThrow(/reserved/);
    await expect(store.readRunArtifact("run-1", "..")).rejects.toThrow(InvalidNameError);
    await expect(store.getTrajectory("../../etc/passwd")).rejects.toThrow(InvalidNameError);
    await expect(store.getAnalysis("../x")).rejects.toThrow(InvalidNameError);
    expect(await listTree(dataDir)).toEqual(before);
  });
});

describe("persistence", () => {
  async function fillStore(): Promise<Trajectory> {
    const t = trajectory("persist", { success: true });
    await store.putTrajectory(t);
    await store.putAnalysis(analysis("an1"));
    await store.addSkillVersion(newVersion("airline", "one", "active"));
    await store.addSkillVersion(newVersion("airline", "two"));
    await store.setVersionStatus("airline", 2, "active");
    await store.putRun(run("run-1"));
    await store.writeRunArtifact("run-1", "report", { ok: true });
    return t;
  }

  async function expectEverything(reopened: FileStore, t: Trajectory): Promise<void> {
    expect(await reopened.getTrajectory(t.id)).toEqual(t);
    expect((await reopened.listTrajectories()).map((r) => r.id)).toEqual([t.id]);
    expect((await reopened.listAnalyses({ skill: "airline" })).map((a) => a.id)).toEqual(["an1"]);
    expect(await reopened.getActiveVersion("airline")).toBe(2);
    expect((await reopened.listSkillVersions("airline")).map((m) => m.status)).toEqual(["retired", "active"]);
    expect((await reopened.getSkillVersion("airline", 2))?.folder).toEqual(folder("airline", "two"));
    expect((await reopened.listRuns()).map((r) => r.id)).toEqual(["run-1"]);
    expect(await reopened.readRunArtifact("run-1", "report")).toEqual({ ok: true });
  }

  it("a store reopened from disk sees everything", async () => {
    const t = await fillStore();
    await expectEverything(await openStore(dataDir), t);
  });

  it("does not use lowdb's in-memory preset under NODE_ENV=test", async () => {
    expect(process.env.NODE_ENV).toBe("test");
    const t = trajectory("on disk");
    await store.putTrajectory(t);
    const onDisk = JSON.parse(await readFile(path.join(dataDir, "db.json"), "utf8")) as { seq: number };
    expect(onDisk.seq).toBe(0);
    expect(await readFile(path.join(dataDir, "db.journal"), "utf8")).toContain(t.id);
  });

  it("folds the journal into db.json after CHECKPOINT_EVERY ops, keeping every row", async () => {
    const ts = Array.from({ length: CHECKPOINT_EVERY + 5 }, (_, i) => trajectory(`fold ${i}`, { success: true }));
    await store.putTrajectories(ts);
    const extra = trajectory("after the fold", { success: false });
    await store.putTrajectory(extra);
    const checkpoint = JSON.parse(await readFile(path.join(dataDir, "db.json"), "utf8")) as { seq: number; trajectories: object };
    expect(checkpoint.seq).toBe(CHECKPOINT_EVERY + 5);
    expect(Object.keys(checkpoint.trajectories)).toHaveLength(CHECKPOINT_EVERY + 5);
    expect((await readFile(path.join(dataDir, "db.journal"), "utf8")).trim().split("\n")).toHaveLength(1);
    const reopened = await openStore(dataDir);
    expect(await reopened.listTrajectories()).toHaveLength(CHECKPOINT_EVERY + 6);
    expect(await store.listTrajectories({ success: false })).toHaveLength(1);
  });

  it("another store instance sees writes made through the first one", async () => {
    const other = await openStore(dataDir);
    expect(await other.listTrajectories()).toEqual([]);
    const a = trajectory("first");
    await store.putTrajectory(a);
    expect((await other.listTrajectories()).map((r) => r.id)).toEqual([a.id]);
    const b = trajectory("second");
    await other.putTrajectory(b);
    expect((await store.listTrajectories()).map((r) => r.id)).toEqual([a.id, b.id]);
  });

  it("ignores a torn last journal line and cuts it off before the next append", async () => {
    const a = trajectory("before the crash");
    await store.putTrajectory(a);
    const journal = path.join(dataDir, "db.journal");
    await writeFile(journal, (await readFile(journal, "utf8")) + '{"seq":2,"section":"traj');
    const reopened = await openStore(dataDir);
    expect((await reopened.listTrajectories()).map((r) => r.id)).toEqual([a.id]);
    const b = trajectory("after the crash");
    await reopened.putTrajectory(b);
    expect((await (await openStore(dataDir)).listTrajectories()).map((r) => r.id)).toEqual([a.id, b.id]);
    expect(await readFile(journal, "utf8")).not.toContain('"traj{');
  });

  it("a torn line inside the journal is skipped (issue 11, item 1: it used to stop every process opening the store)", async () => {
    const one = trajectory("one");
    await store.putTrajectory(one);
    const journal = path.join(dataDir, "db.journal");
    // Two writers' lines run together, as a paused lock holder once left them.
    await writeFile(journal, '{"seq{"seq":2096,"section":"trajectories"\n' + (await readFile(journal, "utf8")));
    const reopened = await openStore(dataDir);
    expect((await reopened.listTrajectories()).map((r) => r.id)).toEqual([one.id]);
    // A torn last line (no newline) is ended by the next writer, never cut, and nothing after it is lost.
    await writeFile(journal, (await readFile(journal, "utf8")) + '{"seq":99,"sect');
    const two = trajectory("two");
    await reopened.putTrajectory(two);
    const fresh = await openStore(dataDir);
    expect(new Set((await fresh.listTrajectories()).map((r) => r.id))).toEqual(new Set([one.id, two.id]));
    expect(await readFile(journal, "utf8")).toContain('{"seq":99,"sect\n');
  });

  it("a journal line that is JSON but not an index op gives a clear error naming the file", async () => {
    await store.putTrajectory(trajectory("one"));
    const journal = path.join(dataDir, "db.journal");
    await writeFile(journal, '{"hello":"world"}\n' + (await readFile(journal, "utf8")));
    await expect(openStore(dataDir)).rejects.toThrow(/db\.journal is damaged .*not an index op/);
  });

  it("a garbage db.json gives a clear error and is left untouched", async () => {
    await store.putTrajectory(trajectory("precious"));
    const indexFile = path.join(dataDir, "db.json");
    const garbage = '{"format":1,"trajectories":{"abc": {"id"';
    await writeFile(indexFile, garbage);
    await expect(openStore(dataDir)).rejects.toThrow(StoreCorruptError);
    await expect(openStore(dataDir)).rejects.toThrow(/db\.json is damaged .*not valid JSON.*move db\.json and db\.journal aside/);
    await expect(store.putTrajectory(trajectory("new"))).rejects.toThrow(StoreCorruptError);
    await expect(store.listTrajectories()).rejects.toThrow(StoreCorruptError);
    expect(await readFile(indexFile, "utf8")).toBe(garbage);
  });

  it("a db.json of the wrong shape is refused, not wiped", async () => {
    await writeFile(path.join(dataDir, "db.json"), "[1,2,3]");
    await expect(openStore(dataDir)).rejects.toThrow(/top level is not a JSON object/);
    await writeFile(path.join(dataDir, "db.json"), '{"trajectories":{}}');
    await expect(openStore(dataDir)).rejects.toThrow(/"analyses" is missing/);
    await writeFile(path.join(dataDir, "db.json"), '{"trajectories":{},"analyses":{},"skills":{},"runs":{}}');
    await expect(openStore(dataDir)).rejects.toThrow(/"seq" is missing/);
  });

  it("recovers by rebuilding the index from the files once db.json is moved aside", async () => {
    const t = await fillStore();
    await rename(path.join(dataDir, "db.json"), path.join(dataDir, "db.json.broken"));
    await rename(path.join(dataDir, "db.journal"), path.join(dataDir, "db.journal.broken"));
    await expectEverything(await openStore(dataDir), t);
  });

  it("reports a damaged payload file by name", async () => {
    const t = trajectory("torn");
    await store.putTrajectory(t);
    const file = path.join(dataDir, "trajectories", t.id.slice(0, 2), `${t.id}.json`);
    await writeFile(file, "{");
    await expect(store.getTrajectory(t.id)).rejects.toThrow(new RegExp(`${t.id}\\.json is damaged`));
  });
});

describe("what a killed process leaves behind (issue 11, item 8)", () => {
  it("removes temp files of dead writers on open, and keeps those of a live one", async () => {
    const t = trajectory("leftover");
    await store.putTrajectory(t);
    const file = path.join(dataDir, "trajectories", t.id.slice(0, 2), `${t.id}.json`);
    const dead = `${file}.999999.0a1b2c3d4e5f.tmp`;
    const live = `${file}.${process.ppid}.0a1b2c3d4e5f.tmp`;
    const deadVersion = path.join(dataDir, "skills", "airline", ".v9.999999.0a1b2c3d.tmp");
    await writeFile(dead, "{\"half\":");
    await writeFile(live, "{\"half\":");
    await mkdir(path.join(deadVersion, "airline"), { recursive: true });
    await openStore(dataDir);
    const left = await readdir(path.dirname(file));
    expect(left).toContain(path.basename(live));
    expect(left).not.toContain(path.basename(dead));
    expect(await readdir(path.join(dataDir, "skills", "airline"))).not.toContain(".v9.999999.0a1b2c3d.tmp");
    expect(await store.getTrajectory(t.id)).toEqual(t);
  });

  it("a version folder written but never indexed is set aside, not in the way of the next version", async () => {
    await store.addSkillVersion(newVersion("airline", "one", "active"));
    // A crash between the snapshot's rename and the index commit leaves v2 on disk, unlisted.
    const v2 = path.join(dataDir, "skills", "airline", "v2");
    await mkdir(path.join(v2, "airline"), { recursive: true });
    await writeFile(path.join(v2, "version.json"), "{}");
    const stored = await store.addSkillVersion(newVersion("airline", "two"));
    expect(stored.version).toBe(2);
    expect((await store.getSkillVersion("airline", 2))?.folder.files["SKILL.md"]).toContain("two");
    // Nothing is deleted: the orphan is kept beside, named so no one mistakes it for a version.
    const kept = (await readdir(path.join(dataDir, "skills", "airline"))).filter((n) => n.startsWith(".orphan-v2-"));
    expect(kept).toHaveLength(1);
    expect(await readFile(path.join(dataDir, "skills", "airline", kept[0] as string, "version.json"), "utf8")).toBe("{}");
  });
});

describe("a writer killed between a run's file and its index row (issue 11, item 8)", () => {
  it("indexes the file on the next open: what reached the disk is kept", async () => {
    const t = trajectory("written, never indexed");
    const dir = path.join(dataDir, "trajectories", t.id.slice(0, 2));
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `${t.id}.json`), JSON.stringify(t));
    expect((await store.listTrajectories()).map((r) => r.id)).not.toContain(t.id);
    const reopened = await openStore(dataDir);
    expect((await reopened.listTrajectories()).map((r) => r.id)).toContain(t.id);
    expect((await reopened.checkIndex()).consistent).toBe(true);
    expect(await reopened.putTrajectory(t)).toMatchObject({ id: t.id, created: false });
  });
});

describe("what open-time cleanup may touch (review, session 3)", () => {
  it("removes only temp files the store itself writes, in its own folders — never a user's file in the export folder", async () => {
    const exported = path.join(dataDir, "export", "airline-support");
    await mkdir(exported, { recursive: true });
    await mkdir(path.join(dataDir, "mystuff"), { recursive: true });
    await writeFile(path.join(exported, "notes.4000003.ab12.tmp"), "mine");
    await writeFile(path.join(dataDir, "mystuff", "backup.12345678.ff.tmp"), "mine too");
    await openStore(dataDir);
    expect(await readdir(exported)).toContain("notes.4000003.ab12.tmp");
    expect(await readdir(path.join(dataDir, "mystuff"))).toContain("backup.12345678.ff.tmp");
  });
});
