import { readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { mkdtemp } from "node:fs/promises";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/file-store.js";
import { PgStore } from "../../src/store/postgres/pg-store.js";
import type { Store } from "../../src/store/store.js";
import { finaliseTrajectory, TrajectoryDraftSchema } from "../../src/trajectory/schema.js";
import { InvalidNameError, UnsafePathError } from "../../src/util/errors.js";
import { freshDatabase, pgMissing, pgUrl } from "../helpers/postgres.js";
import { ANALYSED_RUN, analysis, folder, newVersion, run, trajectory } from "../helpers/store-fixtures.js";

/**
 * The store's contract, run against both backends (issue 13, item 1): the file store and the
 * PostgreSQL store behave the same through the Store interface. What only one backend has
 * (files on disk, the journal, crash leftovers) is tested in store.test.ts / store-postgres.test.ts.
 */

interface Backend {
  kind: "file" | "postgres";
  open(): Promise<Store>;
  /** A second store on the same data: nothing shared in memory. */
  reopen(): Promise<Store>;
  /** Everything stored, to show that a refused call changed nothing. */
  snapshot(): Promise<unknown>;
  close(): Promise<void>;
}

let dataDir: string;

function fileBackend(): Backend {
  return {
    kind: "file",
    open: () => openStore(dataDir),
    reopen: () => openStore(dataDir),
    snapshot: async () => (await readdir(dataDir, { recursive: true })).sort(),
    close: async () => undefined,
  };
}

function postgresBackend(): Backend {
  let url = "";
  const opened: PgStore[] = [];
  return {
    kind: "postgres",
    open: async () => {
      url = await freshDatabase();
      const s = await PgStore.open(url, dataDir);
      opened.push(s);
      return s;
    },
    reopen: async () => {
      const s = await PgStore.open(url, dataDir);
      opened.push(s);
      return s;
    },
    snapshot: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const out: Record<string, unknown[]> = {};
        for (const table of ["trajectories", "analyses", "skills", "skill_versions", "runs", "run_artifacts"]) {
          out[table] = (await c.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;
        }
        return out;
      } finally {
        await c.end();
      }
    },
    close: async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    },
  };
}

const backends: Array<[string, () => Backend]> = [
  ["file store", fileBackend],
  ...(pgUrl ? [["PostgreSQL store", postgresBackend] as [string, () => Backend]] : []),
];
if (!pgUrl) {
  describe("PostgreSQL store", () => {
    it.skip(`skipped: ${pgMissing}`, () => undefined);
  });
}

describe.each(backends)("%s", (_name, make) => {
  let backend: Backend;
  let store: Store;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-store-contract-"));
    backend = make();
    store = await backend.open();
  });

  afterEach(async () => {
    await backend.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe("trajectories", () => {
    it("round-trips a trajectory and lists its small row", async () => {
      const t = trajectory("book a flight", { success: true, score: 1 });
      expect(await store.putTrajectory(t)).toEqual({ id: t.id, created: true, outcomeUpdated: false });
      expect(await store.getTrajectory(t.id)).toEqual(t);
      expect(await store.listTrajectories()).toEqual([
        { id: t.id, skill: "airline", success: true, source: "canonical", steps: 3, tags: ["t"], createdAt: t.createdAt, judged: null, bytes: expect.any(Number), skillVersion: null },
      ]);
      if (backend.kind === "file") {
        const file = path.join(dataDir, "trajectories", t.id.slice(0, 2), `${t.id}.json`);
        expect(JSON.parse(await readFile(file, "utf8"))).toEqual(t);
        expect(await readFile(path.join(dataDir, "db.json"), "utf8")).not.toContain("book a flight");
      }
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

    it("keeps any text as given, NUL and lone surrogates included, and lists runs in the order they were stored (review, session 4)", async () => {
      const odd = finaliseTrajectory(TrajectoryDraftSchema.parse({ skill: "airline", task: "odd text", tags: ["nul\u0000tag", "lone\ud800half"], source: "canonical", steps: [{ role: "user", text: "a\u0000b" }] }));
      const later = finaliseTrajectory(TrajectoryDraftSchema.parse({ skill: "airline", task: "stored first", createdAt: "2030-01-01T00:00:00.000Z", steps: [{ role: "user", text: "x" }] }));
      const earlier = finaliseTrajectory(TrajectoryDraftSchema.parse({ skill: "airline", task: "stored second", createdAt: "2020-01-01T00:00:00.000Z", steps: [{ role: "user", text: "y" }] }));
      await store.putTrajectories([later, odd]);
      await store.putTrajectory(earlier);
      expect(await store.getTrajectory(odd.id)).toEqual(odd);
      const rows = await store.listTrajectories();
      expect(rows.map((r) => r.id)).toEqual([later.id, odd.id, earlier.id]);
      expect(rows[1]?.tags).toEqual(["nul\u0000tag", "lone\ud800half"]);
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
      // What counts is what was stored: a fresh store has no shared memory to hide a loss.
      const reopened = await backend.reopen();
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
      const reopened = await backend.reopen();
      expect((await reopened.listTrajectories()).map((r) => r.id)).toEqual([keep.id]);
      expect(await reopened.getTrajectory(drop.id)).toBeNull();
      expect((await reopened.listAnalyses({ skill: "airline" })).map((a) => a.id)).toEqual(["of-keep"]);
      expect(JSON.stringify(await backend.snapshot())).not.toMatch(new RegExp(`${drop.id}|of-drop`));
      await expect(store.deleteTrajectories(["../../etc/passwd"])).rejects.toThrow(InvalidNameError);
    });
  });

  describe("analyses", () => {
    it("refuses the analysis of a run deleted meanwhile, keeping nothing of it (review, session 4)", async () => {
      const t = trajectory("deleted while analysed", { success: false });
      await store.putTrajectory(t);
      await store.deleteTrajectories([t.id]);
      await expect(store.putAnalysis(analysis("of-gone", { trajectoryIds: [t.id] }))).rejects.toThrow(/not found|No trajectory/i);
      expect(await store.getAnalysis("of-gone")).toBeNull();
      expect(await store.listAnalyses({ skill: "airline" })).toEqual([]);
    });

    it("round-trips, upserts and filters by skill and base hash", async () => {
      await store.putTrajectory(ANALYSED_RUN);
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
      if (backend.kind === "file") expect(await readFile(path.join(dataDir, "skills/airline/v1/airline/assets/logo.bin"))).toEqual(Buffer.from([0, 255, 1, 254]));
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


    it("refuses path tricks in skill names and file paths with nothing written", async () => {
      const before = await backend.snapshot();
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
      expect(await backend.snapshot()).toEqual(before);
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
      const before = await backend.snapshot();
      await expect(store.putRun(run("../../etc"))).rejects.toThrow(InvalidNameError);
      await expect(store.getRun("../x")).rejects.toThrow(InvalidNameError);
      await expect(store.writeRunArtifact("../../etc", "x", 1)).rejects.toThrow(InvalidNameError);
      await expect(store.writeRunArtifact("run-1", "../passwd", 1)).rejects.toThrow(InvalidNameError);
      await expect(store.writeRunArtifact("run-1", "a/b", 1)).rejects.toThrow(InvalidNameError);
      await expect(store.writeRunArtifact("run-1", "run", 1)).rejects.toThrow(/reserved/);
      await expect(store.readRunArtifact("run-1", "..")).rejects.toThrow(InvalidNameError);
      await expect(store.getTrajectory("../../etc/passwd")).rejects.toThrow(InvalidNameError);
      await expect(store.getAnalysis("../x")).rejects.toThrow(InvalidNameError);
      expect(await backend.snapshot()).toEqual(before);
    });
  });

});
