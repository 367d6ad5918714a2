import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { detectFormat, ingestCanonical, ingestRaw, MAX_RAW_BYTES } from "../../src/trajectory/ingest.js";
import { MAX_RUN_BYTES } from "../../src/trajectory/fit.js";
import { FORMAT_NAMES } from "../../src/trajectory/importers/index.js";
import { decodeRaw } from "../../src/trajectory/importers/raw.js";
import {
  InvalidNameError,
  InvalidTrajectoryError,
  PayloadTooLargeError,
  UnknownFormatError,
} from "../../src/util/errors.js";

const FIXTURE = fileURLToPath(new URL("../../fixtures/tau-bench/gpt-4o-airline.tasks-00-24.json", import.meta.url));
const fixtureText = readFileSync(FIXTURE, "utf8");

/** Built at run time so the repository itself holds no secret-shaped literals. */
const githubToken = "ghp_" + "9z8Y7x6W5v4U3t2S1r0Q9p8O7n6M5l4K3j2I";
const awsKeyId = "AKIA" + "Z7Y6X5W4V3U2T1S0";
const dbPassword = "Tr0ub4dor-" + "and-3";

const messages = [
  { role: "system", content: "You deploy services." },
  { role: "user", content: "Deploy the api." },
  {
    role: "assistant",
    content: null,
    tool_calls: [
      {
        id: "call_1",
        type: "function",
        function: {
          name: "deploy",
          arguments: JSON.stringify({ token: githubToken, db: `postgres://ops:${dbPassword}@db:5432/prod` }),
        },
      },
    ],
  },
  { role: "tool", tool_call_id: "call_1", content: `deployed with AWS key ${awsKeyId}` },
  { role: "assistant", content: "Done." },
];

describe("ingestRaw on the tau-bench fixture", () => {
  const first = ingestRaw(fixtureText, { fileName: "gpt-4o-airline.tasks-00-24.json", now: new Date("2025-01-01T00:00:00Z") });

  it("detects tau-bench and imports 100 runs with 31 successes and 69 failures", () => {
    expect(first.format).toBe("tau-bench");
    expect(first.trajectories).toHaveLength(100);
    expect(first.trajectories.filter((t) => t.outcome.success === true)).toHaveLength(31);
    expect(first.trajectories.filter((t) => t.outcome.success === false)).toHaveLength(69);
    expect(first.redactions).toBe(0);
    expect(first.skipped).toEqual([]);
  });

  it("keeps ground-truth actions out of every step and task", () => {
    for (const t of first.trajectories) {
      expect(t.outcome.expected).toMatch(/^\[/);
      expect(JSON.stringify(t.steps)).not.toContain(t.outcome.expected!);
      expect(t.task).not.toContain(t.outcome.expected!);
    }
  });

  it("gives every run its own id, and the same ids on a second import", () => {
    const ids = first.trajectories.map((t) => t.id);
    expect(new Set(ids).size).toBe(100);
    ids.forEach((id) => expect(id).toMatch(/^[0-9a-f]{64}$/));
    const second = ingestRaw(JSON.parse(fixtureText) as unknown, { now: new Date("2026-06-01T00:00:00Z") });
    expect(second.trajectories.map((t) => t.id)).toEqual(ids);
  });

  it("applies caller options: skill, merged tags and outcome", () => {
    const out = ingestRaw(fixtureText, {
      skill: "airline-support",
      tags: ["batch:1", "tau-bench"],
      outcome: { feedback: "reviewed" },
    });
    const t = out.trajectories[0]!;
    expect(t.skill).toBe("airline-support");
    expect(t.tags).toEqual(["tau-bench", "task:0", "trial:0", "batch:1"]);
    expect(t.outcome.success).toBe(false);
    expect(t.outcome.score).toBe(0);
    expect(t.outcome.feedback).toBe("reviewed");
    expect(t.id).not.toBe(first.trajectories[0]!.id);
  });
});

describe("ingestRaw: formats and refusals", () => {
  it("detects an OpenAI message array and imports it with an unknown outcome", () => {
    const out = ingestRaw([{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }]);
    expect(out.format).toBe("openai-messages");
    expect(out.trajectories[0]!.outcome).toEqual({ success: null });
    expect(detectFormat(decodeRaw(JSON.stringify(messages))).format).toBe("openai-messages");
  });

  it("lists the known formats when nothing matches, and for an unknown format name", () => {
    const unknown = () => ingestRaw({ foo: 1 }, { fileName: "run.json" });
    expect(unknown).toThrow(UnknownFormatError);
    try {
      unknown();
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('"run.json"');
      for (const name of FORMAT_NAMES) expect(message).toContain(name);
      expect(message).toContain("canonical");
    }
    expect(() => ingestRaw(messages, { format: "no-such-format" })).toThrow(/Unknown format "no-such-format". Known formats: /);
    expect(() => ingestRaw("this is not json at all")).toThrow(/not JSON or JSON Lines/);
  });

  it("refuses a submission over 48 MiB, as text and as a JSON value", () => {
    const big = "x".repeat(50 * 1024 * 1024);
    expect(() => ingestRaw(big)).toThrow(PayloadTooLargeError);
    expect(() => ingestRaw([{ role: "user", content: big }])).toThrow(/over the limit of 48\.0 MiB/);
    expect(() => ingestCanonical({ task: big, steps: [{ role: "user", text: "x" }] })).toThrow(PayloadTooLargeError);
    expect(MAX_RAW_BYTES).toBe(48 * 1024 * 1024);
  });

  it("stores a run over the 8 MiB per-run limit with its longest tool outputs cut, marked, byte counts kept", () => {
    const log = (n: number) => Array.from({ length: n }, (_, i) => `line ${i} of a long build log`).join("\n");
    const huge = log(400_000); // ~12 MiB
    const messages = [
      { role: "user", content: "Fix the build." },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "bash", arguments: "{\"cmd\":\"make\"}" } }] },
      { role: "tool", tool_call_id: "c1", content: huge },
      { role: "assistant", content: null, tool_calls: [{ id: "c2", type: "function", function: { name: "bash", arguments: "{\"cmd\":\"make test\"}" } }] },
      { role: "tool", tool_call_id: "c2", content: "short output" },
      { role: "assistant", content: "Fixed." },
    ];
    expect(Buffer.byteLength(JSON.stringify(messages))).toBeGreaterThan(MAX_RUN_BYTES);
    const { trajectories, skipped } = ingestRaw(messages, { format: "openai-messages" });
    const [run] = trajectories;
    if (!run) throw new Error("no run");
    expect(Buffer.byteLength(JSON.stringify(run))).toBeLessThanOrEqual(MAX_RUN_BYTES);
    const cutStep = run.steps.find((s) => s.toolResult?.content.includes("bytes cut here"));
    const removed = Number(/\[… (\d+) bytes cut here/.exec(cutStep?.toolResult?.content ?? "")?.[1]);
    expect(removed).toBeGreaterThan(4 * 1024 * 1024);
    // Head and tail of the cut output are kept; the short one is untouched.
    expect(cutStep?.toolResult?.content.startsWith("line 0 of a long build log")).toBe(true);
    expect(cutStep?.toolResult?.content.endsWith("line 399999 of a long build log")).toBe(true);
    expect(Buffer.byteLength(cutStep?.toolResult?.content ?? "") + removed).toBeGreaterThanOrEqual(Buffer.byteLength(huge));
    expect(run.steps.some((s) => s.toolResult?.content === "short output")).toBe(true);
    expect(skipped).toEqual([expect.objectContaining({ what: "tool output", count: 1 })]);
  });

  it("takes a 20 MB JSONL file of many small runs", () => {
    const line = (i: number) =>
      JSON.stringify({
        task_id: i,
        trial: 0,
        reward: i % 2,
        info: { task: { user_id: `u${i}`, actions: [] } },
        traj: [{ role: "user", content: `task ${i} ${"pad ".repeat(4_500)}` }, { role: "assistant", content: "done" }],
      });
    const text = Array.from({ length: 1_100 }, (_, i) => line(i)).join("\n");
    expect(Buffer.byteLength(text)).toBeGreaterThan(19 * 1024 * 1024);
    const { trajectories } = ingestRaw(text, { format: "tau-bench" });
    expect(trajectories).toHaveLength(1_100);
  });

  it("measures UTF-8 bytes and honours a custom limit", () => {
    const run = [{ role: "user", content: "é".repeat(600) }];
    expect(() => ingestRaw(run, { maxBytes: 1000 })).toThrow(PayloadTooLargeError);
    expect(ingestRaw(run, { maxBytes: 2000 }).trajectories).toHaveLength(1);
  });

  it("refuses empty input with a clear message", () => {
    expect(() => ingestRaw([])).toThrow(InvalidTrajectoryError);
    expect(() => ingestRaw([])).toThrow(/Nothing to import: the submitted run is empty/);
    expect(() => ingestRaw("  ", { format: "openai-messages" })).toThrow(/empty/);
  });

  it("refuses invalid skill names before importing anything", () => {
    expect(() => ingestRaw(messages, { skill: "../../etc" })).toThrow(InvalidNameError);
    expect(() => ingestCanonical({ steps: [{ role: "user", text: "x" }] }, { skill: "Bad_Name" })).toThrow(
      /Invalid skill name "Bad_Name"/,
    );
    expect(ingestRaw(messages, { skill: null }).trajectories[0]!.skill).toBeNull();
  });

  it("reports JSONL lines that are not JSON as skipped", () => {
    const text = [JSON.stringify({ messages }), "{broken", JSON.stringify({ messages: messages.slice(0, 2) })].join("\n");
    const out = ingestRaw(text);
    expect(out.trajectories).toHaveLength(2);
    expect(out.skipped).toEqual([{ what: "JSONL line", reason: "not valid JSON (line 2)", count: 1 }]);
  });
});

describe("ingest: redaction before ids", () => {
  it("removes planted secrets from tool-call arguments and tool results, and counts them", () => {
    const out = ingestRaw(messages, { format: "openai-messages" });
    const text = JSON.stringify(out);
    for (const secret of [githubToken, awsKeyId, dbPassword]) expect(text).not.toContain(secret);
    expect(out.redactions).toBe(3);
    expect(out.redactionKinds).toEqual({ "aws-access-key-id": 1, "github-token": 1, "url-password": 1 });
    const call = out.trajectories[0]!.steps[2]!.toolCalls![0]!;
    expect(call.arguments).toEqual({ token: "[REDACTED:github-token]", db: "postgres://ops:[REDACTED:url-password]@db:5432/prod" });
  });

  it("computes the id from the redacted run: a resubmit is idempotent", () => {
    const a = ingestRaw(messages);
    const b = ingestRaw(JSON.stringify(messages));
    expect(b.trajectories[0]!.id).toBe(a.trajectories[0]!.id);
  });
});

describe("ingestCanonical", () => {
  const canonical = {
    task: "Say hi",
    steps: [
      { role: "user", text: "Say hi" },
      { role: "assistant", text: `hi, password=${dbPassword}` },
    ],
    outcome: { success: true },
  };

  it("finalises a canonical trajectory, redacted, and reads back its own export as canonical", () => {
    const out = ingestCanonical(canonical, { skill: "greeter", now: new Date("2025-01-01T00:00:00Z") });
    expect(out.format).toBe("canonical");
    const t = out.trajectories[0]!;
    expect(t.steps[1]!.text).toBe("hi, password=[REDACTED:password]");
    expect(t.createdAt).toBe("2025-01-01T00:00:00.000Z");
    const again = ingestRaw(JSON.stringify(t));
    expect(again.format).toBe("canonical");
    expect(again.trajectories[0]!.id).toBe(t.id);
  });

  it("names the invalid field paths", () => {
    const bad = { steps: [{ role: "robot", text: "x" }], outcome: { success: "yes" } };
    expect(() => ingestCanonical(bad)).toThrow(InvalidTrajectoryError);
    expect(() => ingestCanonical(bad)).toThrow(/steps\.0\.role: .*outcome\.success: /);
    expect(() => ingestCanonical({ steps: [] })).toThrow(/steps: A trajectory needs at least one step/);
    expect(() => ingestRaw(bad, { format: "canonical" })).toThrow(/steps\.0\.role/);
    expect(() => ingestCanonical({ steps: [{ role: "user", text: "x" }], tags: "a,b" }, { tags: ["c"] })).toThrow(/tags: /);
  });
});
