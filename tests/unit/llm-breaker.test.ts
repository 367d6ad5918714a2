import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { OutageBreaker } from "../../src/llm/breaker.js";
import { systemAndUser } from "../../src/llm/port.js";
import { fakeModel, startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.js";

/**
 * Issue 11, item 7: a model that fails every call took 12 minutes and 694 calls to give up, and
 * the error blamed reachability while the replies were 429s, 500s and garbage.
 */

const Reply = z.object({ ok: z.boolean() });
const ask = (model: ReturnType<typeof fakeModel>) =>
  model.generate({ schemaName: "probe", schema: Reply, messages: systemAndUser("s", "u") }).then(
    () => "ok",
    (err: Error) => err.message,
  );

describe("a model that is down", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("stops a model that answers 500 to everything after a few calls, not after every call's retries", async () => {
    fake.script(() => ({ status: 500, message: "overloaded" }));
    const before = fake.calls.count;
    const model = fakeModel(fake, { maxRetries: 2, concurrency: 4 });
    const answers = await Promise.all(Array.from({ length: 60 }, () => ask(model)));
    // Without stopping: 60 calls × 3 tries = 180.
    // With stopping: 12 failed attempts in a row open the breaker; the 4 in flight finish.
    expect(fake.calls.count - before).toBeLessThanOrEqual(12 + 4);
    expect(answers.filter((a) => a.startsWith("Stopped calling the model")).length).toBeGreaterThanOrEqual(60 - 10);
    expect(answers.at(-1)).toMatch(/the last \d+ calls failed \(server errors \(HTTP 5xx\) ×\d+\), so the rest were not tried\. Last error: .*HTTP 500/);
  });

  it("names the kinds of a mixed outage: 429s, 500s and garbage", async () => {
    fake.script((_body, i) =>
      i % 3 === 0 ? { status: 429 } : i % 3 === 1 ? { status: 500, message: "overloaded" } : { content: "not json at all" },
    );
    const before = fake.calls.count;
    const model = fakeModel(fake, { maxRetries: 2, maxValidationRetries: 1, concurrency: 4 });
    const answers = await Promise.all(Array.from({ length: 60 }, () => ask(model)));
    // Without stopping: up to 60 × 3 tries × 2 validation attempts.
    expect(fake.calls.count - before).toBeLessThan(30);
    const stopped = answers.filter((a) => a.startsWith("Stopped calling the model"));
    expect(stopped.length).toBeGreaterThan(40);
    expect(stopped[0]).toMatch(/replies that did not fit the schema ×\d+/);
    expect(stopped[0]).not.toMatch(/could not connect/);
  });

  it("calls again after the cool-down, and a success closes the breaker", () => {
    let now = 0;
    const breaker = new OutageBreaker(3, 1000, () => now);
    for (let i = 0; i < 3; i++) breaker.failure("server", "HTTP 500");
    expect(() => breaker.check("http://127.0.0.1:1/v1")).toThrow(/the last 3 calls failed \(server errors \(HTTP 5xx\) ×3\)/);
    now = 1500;
    expect(() => breaker.check("x")).not.toThrow();
    breaker.failure("timeout", "no answer");
    expect(() => breaker.check("x")).toThrow(/timed out ×1/);
    now = 3000;
    breaker.check("x");
    breaker.success();
    expect(breaker.isOpen).toBe(false);
    breaker.failure("server", "HTTP 500");
    expect(() => breaker.check("x")).not.toThrow();
  });
});
