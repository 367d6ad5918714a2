import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileStore, openStore } from "../../src/store/file-store.js";
import { CHECKPOINT_EVERY } from "../../src/store/index-journal.js";
import type { Trajectory } from "../../src/trajectory/schema.js";
import { ANALYSED_RUN, analysis, folder, newVersion, run, trajectory } from "../helpers/store-fixtures.js";
import { StoreCorruptError } from "../../src/util/errors.js";

let dataDir: string;
let store: FileStore;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-store-"));
  store = await openStore(dataDir);
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("file layout", () => {
  it("lists an analysis whose process died between its file and its index row once it is read", async () => {
    await store.putTrajectory(ANALYSED_RUN);
    const orphan = analysis("orphan1");
    const file = path.join(dataDir, "analyses", "or", "orphan1.json");
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(orphan));
    expect(await store.listAnalyses({ skill: "airline" })).toEqual([]);
    expect((await store.getAnalysis("orphan1"))?.id).toBe("orphan1");
    expect((await store.listAnalyses({ skill: "airline" })).map((a) => a.id)).toEqual(["orphan1"]);
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
});

describe("persistence", () => {
  async function fillStore(): Promise<Trajectory> {
    const t = trajectory("persist", { success: true });
    await store.putTrajectory(t);
    await store.putAnalysis(analysis("an1", { trajectoryIds: [t.id] }));
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
