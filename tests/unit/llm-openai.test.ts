import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { AnalysisReplySchema } from "../../src/analysis/schema.js";
import type { ModelConfig } from "../../src/llm/config.js";
import { createLimiter } from "../../src/util/limiter.js";
import {
  checkModel,
  OpenAICompatibleModel,
  parseRetryAfter,
  retryDelay,
  type OpenAICompatibleOptions,
} from "../../src/llm/openai-compatible.js";
import type { ModelTool } from "../../src/llm/port.js";
import { UsageMeter } from "../../src/llm/usage.js";
import { ModelError } from "../../src/util/errors.js";
import { startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.js";

const Answer = z.object({ answer: z.string(), score: z.number().int() });
const messages = [
  { role: "system" as const, content: "You grade things." },
  { role: "user" as const, content: "Grade this." },
];
const ask = { schemaName: "grade", schema: Answer, messages };
const fast: OpenAICompatibleOptions = { backoff: { baseMs: 1, maxMs: 5, maxRetryAfterMs: 1_000 } };

let fake: FakeOpenAI;
beforeEach(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  await fake.close();
});

function configFor(url: string, overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    baseURL: url,
    apiKey: "test-key",
    model: "fake-model",
    timeoutMs: 2_000,
    maxRetries: 4,
    concurrency: 8,
    maxValidationRetries: 2,
    ...overrides,
  };
}

function modelFor(overrides: Partial<ModelConfig> = {}, options: OpenAICompatibleOptions = {}): OpenAICompatibleModel {
  return new OpenAICompatibleModel(configFor(fake.url, overrides), { ...fast, ...options });
}

describe("OpenAICompatibleModel: structured replies", () => {
  it("sends a json_schema response_format and returns the validated value", async () => {
    fake.script([{ json: { answer: "good", score: 4 }, usage: { prompt_tokens: 12, completion_tokens: 5 } }]);
    const result = await modelFor().generate(ask);

    expect(result.value).toEqual({ answer: "good", score: 4 });
    expect(result.model).toBe("fake-model");
    expect(result.usage).toEqual({ inputTokens: 12, outputTokens: 5, costUsd: 0, calls: 1 });
    const body = fake.calls.bodies[0]!;
    expect(body.model).toBe("fake-model");
    expect(body.messages).toEqual(messages);
    expect(body.response_format?.type).toBe("json_schema");
    expect(body.response_format?.json_schema?.name).toBe("grade");
    expect(body.response_format?.json_schema?.schema).toMatchObject({
      type: "object",
      required: ["answer", "score"],
    });
  });

  it("validates analysis replies (discriminated union, defaults, nullable)", async () => {
    const reply = {
      diagnosis: { rootCause: "The agent booked without verifying the ids.", firstWrongStep: null },
      lessons: [],
      edits: [{ op: "add_section", file: "SKILL.md", heading: "Checks", content: "- verify ids first" }],
    };
    fake.script([{ json: reply }]);
    const result = await modelFor().generate({ ...ask, schemaName: "analysis", schema: AnalysisReplySchema });

    expect(result.value.changelog).toEqual([]);
    expect(result.value.edits[0]).toMatchObject({ op: "add_section", level: 2, after: null });
    const schema = fake.calls.bodies[0]?.response_format?.json_schema?.schema as any;
    expect(schema.properties.edits.items.anyOf).toHaveLength(8);
  });

  it("accepts JSON wrapped in a ```json fence", async () => {
    fake.script([{ content: 'Here it is:\n```json\n{"answer":"ok","score":1}\n```' }]);
    const result = await modelFor().generate(ask);
    expect(result.value).toEqual({ answer: "ok", score: 1 });
  });

  it("retries an invalid reply once, quoting the validation error", async () => {
    fake.script([{ json: { answer: "ok", score: "high" } }, { json: { answer: "ok", score: 3 } }]);
    const result = await modelFor().generate(ask);

    expect(result.value.score).toBe(3);
    expect(fake.calls.count).toBe(2);
    const retry = fake.calls.bodies[1]!.messages;
    expect(retry.at(-2)).toEqual({ role: "assistant", content: '{"answer":"ok","score":"high"}' });
    expect(retry.at(-1)?.role).toBe("user");
    expect(retry.at(-1)?.content).toContain("score");
    expect(retry.at(-1)?.content).toContain("expected number");
    expect(result.usage.calls).toBe(2);
  });

  it("gives up with a ModelError after the bounded number of attempts on garbage", async () => {
    fake.script([{ content: "I think the answer is 4." }]);
    const error = await modelFor({ maxValidationRetries: 2 }).generate(ask).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).message).toMatch(/no valid "grade" reply in 3 attempts/);
    expect((error as ModelError).message).toMatch(/not valid JSON/);
    expect(fake.calls.count).toBe(3);
  });

  it("falls back to a schema in the prompt when the server rejects response_format", async () => {
    fake.script((body) =>
      body.response_format
        ? { status: 400, message: "response_format json_schema is not supported" }
        : { json: { answer: "plain", score: 2 } },
    );
    const model = modelFor();
    const result = await model.generate(ask);

    expect(result.value.answer).toBe("plain");
    const fallback = fake.calls.bodies[1]!;
    expect(fallback.response_format).toBeUndefined();
    expect(fallback.messages[0]?.role).toBe("system");
    expect(fallback.messages[0]?.content).toContain("You grade things.");
    expect(fallback.messages[0]?.content).toContain('"score"');

    await model.generate(ask);
    expect(fake.calls.count).toBe(3);
  });
});

describe("OpenAICompatibleModel: transient failures", () => {
  it("honours retry-after-ms on 429, then succeeds", async () => {
    fake.script([{ status: 429, retryAfterMs: 150 }, { json: { answer: "ok", score: 1 } }]);
    const started = Date.now();
    const result = await modelFor().generate(ask);

    expect(result.value.answer).toBe("ok");
    expect(fake.calls.count).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("caps a long retry-after", async () => {
    fake.script([{ status: 429, retryAfter: 30 }, { json: { answer: "ok", score: 1 } }]);
    const started = Date.now();
    await modelFor({}, { backoff: { baseMs: 1, maxMs: 5, maxRetryAfterMs: 20 } }).generate(ask);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("retries a 500, then succeeds", async () => {
    fake.script([{ status: 500 }, { status: 503 }, { json: { answer: "ok", score: 1 } }]);
    const result = await modelFor().generate(ask);
    expect(result.value.answer).toBe("ok");
    expect(fake.calls.count).toBe(3);
  });

  it("gives up after maxRetries on persistent 500s, saying so", async () => {
    fake.script([{ status: 500, message: "model crashed" }]);
    const error = await modelFor({ maxRetries: 2 }).generate(ask).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).retryable).toBe(true);
    expect((error as ModelError).message).toMatch(/HTTP 500/);
    expect((error as ModelError).message).toMatch(/model crashed/);
    expect((error as ModelError).message).toMatch(/all 3 attempts/);
    expect(fake.calls.count).toBe(3);
  });

  it("times out a hanging call, retries, and succeeds", async () => {
    fake.script([{ hang: true }, { json: { answer: "late", score: 1 } }]);
    const result = await modelFor({ timeoutMs: 100 }).generate(ask);
    expect(result.value.answer).toBe("late");
    expect(fake.calls.count).toBe(2);
  });

  it("gives up with a timeout ModelError when the server keeps hanging", async () => {
    fake.script([{ hang: true }]);
    const error = await modelFor({ timeoutMs: 80, maxRetries: 1 }).generate(ask).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).message).toMatch(/within 80 ms on all 2 attempts/);
    expect((error as ModelError).message).toMatch(/TRACE2SKILL_TIMEOUT_MS/);
    expect(fake.calls.count).toBe(2);
  });

  it("does not retry a 401 and points at the API key", async () => {
    fake.script([{ status: 401, message: "bad key" }]);
    const error = await modelFor().generate(ask).catch((e: unknown) => e);

    expect((error as ModelError).message).toMatch(/OPENAI_API_KEY/);
    expect((error as ModelError).retryable).toBe(false);
    expect(fake.calls.count).toBe(1);
  });

  it("reports an unreachable server with the base URL to check", async () => {
    const dead = await startFakeOpenAI();
    const url = dead.url;
    await dead.close();
    const model = new OpenAICompatibleModel(configFor(url, { maxRetries: 1 }), fast);
    const error = await model.generate(ask).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).message).toMatch(/Could not reach .* Check OPENAI_BASE_URL/);
  });
});

describe("OpenAICompatibleModel: concurrency, cancellation, usage", () => {
  it("never has more requests in flight than the concurrency limit", async () => {
    fake.script([{ json: { answer: "ok", score: 1 } }]);
    fake.setLatency(40);
    const model = modelFor({ concurrency: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, () => model.generate(ask)));

    expect(results).toHaveLength(10);
    expect(fake.calls.count).toBe(10);
    expect(fake.calls.maxInFlight).toBe(3);
  });

  it("shares one limiter between model instances", async () => {
    fake.script([{ json: { answer: "ok", score: 1 } }]);
    fake.setLatency(40);
    const limiter = createLimiter(2);
    const a = modelFor({}, { limiter });
    const b = modelFor({}, { limiter });
    await Promise.all([a.generate(ask), b.generate(ask), a.generate(ask), b.generate(ask)]);
    expect(fake.calls.maxInFlight).toBe(2);
  });

  it("cancels an in-flight call through its signal", async () => {
    fake.script([{ hang: true }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("user cancelled")), 50);
    const started = Date.now();
    const error = await modelFor({ timeoutMs: 10_000 })
      .generate({ ...ask, signal: controller.signal })
      .catch((e: unknown) => e);

    expect((error as Error).message).toBe("user cancelled");
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fake.calls.count).toBe(1);
  });

  it("cancels a call still waiting for a slot without sending it", async () => {
    fake.script([{ json: { answer: "ok", score: 1 } }]);
    fake.setLatency(150);
    const model = modelFor({ concurrency: 1 });
    const first = model.generate(ask);
    const controller = new AbortController();
    const second = model.generate({ ...ask, signal: controller.signal }).catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error("stop")), 20);

    expect(((await second) as Error).message).toBe("stop");
    await first;
    expect(fake.calls.count).toBe(1);
  });

  it("cancels during backoff", async () => {
    fake.script([{ status: 429, retryAfterMs: 5_000 }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("enough")), 50);
    const error = await modelFor({}, { backoff: { baseMs: 1, maxMs: 5, maxRetryAfterMs: 10_000 } })
      .generate({ ...ask, signal: controller.signal })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe("enough");
    expect(fake.calls.count).toBe(1);
  });

  it("sums tokens and cost per call and across calls in the meter", async () => {
    const usage = { prompt_tokens: 1_000, completion_tokens: 500 };
    fake.script([{ content: "nope", usage }, { json: { answer: "ok", score: 1 }, usage }]);
    const meter = new UsageMeter();
    const model = modelFor({ pricing: { inputPerMTok: 1, outputPerMTok: 2 } }, { meter });

    const first = await model.generate(ask);
    expect(first.usage).toEqual({ inputTokens: 2_000, outputTokens: 1_000, costUsd: 0.004, calls: 2 });

    await model.generate(ask);
    const total = meter.snapshot();
    expect(total.inputTokens).toBe(3_000);
    expect(total.outputTokens).toBe(1_500);
    expect(total.calls).toBe(3);
    expect(total.costUsd).toBeCloseTo(0.006, 10);
  });
});

describe("OpenAICompatibleModel: tool-call loop", () => {
  function stepTool(seen: unknown[]): ModelTool {
    return {
      name: "get_step",
      description: "Return one step of the trajectory in full.",
      parameters: z.object({ step: z.number().int() }),
      run: async (args) => {
        seen.push(args);
        return `step ${(args as { step: number }).step}: full text`;
      },
    };
  }

  it("runs tool calls, feeds results back, and validates the final answer", async () => {
    const seen: unknown[] = [];
    fake.script([
      { toolCalls: [{ name: "get_step", arguments: { step: 3 } }, { name: "get_step", arguments: { step: "x" } }] },
      { json: { answer: "after tools", score: 5 } },
    ]);
    const result = await modelFor().generate({ ...ask, tools: [stepTool(seen)] });

    expect(result.value.answer).toBe("after tools");
    expect(seen).toEqual([{ step: 3 }]);
    const first = fake.calls.bodies[0]!;
    expect(first.tools?.[0]?.function.name).toBe("get_step");
    expect(first.tools?.[0]?.function.parameters).toMatchObject({ type: "object", required: ["step"] });
    const toolMessages = fake.calls.bodies[1]!.messages.filter((m) => m.role === "tool");
    expect(toolMessages.map((m) => m.content)).toEqual([
      "step 3: full text",
      expect.stringContaining("Error: invalid arguments for get_step"),
    ]);
  });

  it("stops after the turn budget and asks for the structured answer without tools", async () => {
    fake.script((body) =>
      body.tool_choice === "auto"
        ? { toolCalls: [{ name: "get_step", arguments: { step: 1 } }] }
        : { json: { answer: "final", score: 1 } },
    );
    const seen: unknown[] = [];
    const result = await modelFor({}, { maxToolTurns: 2 }).generate({ ...ask, tools: [stepTool(seen)] });

    expect(result.value.answer).toBe("final");
    expect(fake.calls.count).toBe(3);
    expect(seen).toHaveLength(2);
    const final = fake.calls.bodies[2]!;
    expect(final.tool_choice).toBe("none");
    expect(final.response_format?.type).toBe("json_schema");
    expect(final.messages.at(-1)?.content).toMatch(/used all 2 tool turns/);
  });

  it("asks for the structured answer when the post-tool answer is prose", async () => {
    fake.script([
      { toolCalls: [{ name: "get_step", arguments: { step: 2 } }] },
      { content: "The agent skipped the id check." },
      { json: { answer: "structured", score: 2 } },
    ]);
    const result = await modelFor({ maxValidationRetries: 0 }).generate({ ...ask, tools: [stepTool([])] });

    expect(result.value.answer).toBe("structured");
    const final = fake.calls.bodies[2]!;
    expect(final.response_format?.type).toBe("json_schema");
    expect(final.messages.at(-1)?.content).toMatch(/not valid JSON/);
  });

  it("ignores tools when the model does not support them", async () => {
    fake.script([{ json: { answer: "plain", score: 1 } }]);
    const model = modelFor({}, { supportsTools: false });
    await model.generate({ ...ask, tools: [stepTool([])] });
    expect(model.supportsTools).toBe(false);
    expect(fake.calls.bodies[0]?.tools).toBeUndefined();
  });
});

describe("checkModel", () => {
  it("reports ok and latency for a working server", async () => {
    fake.script([{ json: { ok: true } }]);
    const check = await checkModel(configFor(fake.url));
    expect(check).toMatchObject({ ok: true, model: "fake-model" });
    expect(check.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("reports the error for a failing server", async () => {
    fake.script([{ status: 404, message: "model not found" }]);
    const check = await checkModel(configFor(fake.url));
    expect(check.ok).toBe(false);
    expect(check.error).toMatch(/TRACE2SKILL_MODEL/);
  });
});

describe("retry timing helpers", () => {
  const backoff = { baseMs: 100, maxMs: 1_000, maxRetryAfterMs: 5_000 };

  it("backs off exponentially with jitter, capped", () => {
    for (let i = 0; i < 20; i++) {
      const d0 = retryDelay(0, undefined, backoff);
      expect(d0).toBeGreaterThanOrEqual(50);
      expect(d0).toBeLessThanOrEqual(100);
      const d3 = retryDelay(3, undefined, backoff);
      expect(d3).toBeGreaterThanOrEqual(400);
      expect(d3).toBeLessThanOrEqual(800);
      expect(retryDelay(10, undefined, backoff)).toBeLessThanOrEqual(1_000);
    }
    expect(retryDelay(0, 60_000, backoff)).toBe(5_000);
    expect(retryDelay(0, 250, backoff)).toBe(250);
  });

  it("reads retry-after-ms, retry-after seconds and dates", () => {
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "120", "retry-after": "9" }))).toBe(120);
    expect(parseRetryAfter(new Headers({ "retry-after": "2" }))).toBe(2_000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:03 GMT" }), now)).toBe(3_000);
    expect(parseRetryAfter(new Headers({}))).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
