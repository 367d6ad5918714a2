import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfigFile } from "../../src/config/file.js";
import { resolveModelConfig, type ModelConfig } from "../../src/llm/config.js";
import { OpenAICompatibleModel } from "../../src/llm/openai-compatible.js";
import { startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.js";
import { closedPort } from "../helpers/processes.js";

/** Issue 11, item 11: what OpenAI's reasoning models accept, failing fast, and a config file that says what is wrong. */

const Answer = z.object({ ok: z.boolean() });
const ask = { schemaName: "probe", schema: Answer, messages: [{ role: "user" as const, content: "ok?" }], temperature: 0.2 };

let fake: FakeOpenAI;
beforeEach(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  await fake.close();
});

function config(url: string, model: string, extra: Partial<ModelConfig> = {}): ModelConfig {
  return { baseURL: url, apiKey: "k", model, timeoutMs: 2_000, maxRetries: 4, concurrency: 2, maxValidationRetries: 0, ...extra };
}

describe("OpenAI's reasoning models", () => {
  it("get max_completion_tokens and no sampling settings (o-series, gpt-5)", async () => {
    fake.script([{ json: { ok: true } }]);
    for (const model of ["o3-mini", "gpt-5-mini", "o1"]) {
      await new OpenAICompatibleModel(config(fake.url, model)).generate(ask);
      const body = fake.calls.bodies.at(-1) as unknown as Record<string, unknown>;
      expect(body.max_completion_tokens, model).toBeGreaterThan(0);
      expect(body, model).not.toHaveProperty("max_tokens");
      expect(body, model).not.toHaveProperty("temperature");
    }
    await new OpenAICompatibleModel(config(fake.url, "qwen2.5:14b")).generate(ask);
    const local = fake.calls.bodies.at(-1) as unknown as Record<string, unknown>;
    expect(local.max_tokens).toBeGreaterThan(0);
    expect(local.temperature).toBe(0.2);
  });

  it("switch when a server refuses max_tokens or temperature, and keep the switch", async () => {
    fake.script((body) => {
      const b = body as unknown as Record<string, unknown>;
      if ("max_tokens" in b) return { status: 400, message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead." };
      if ("temperature" in b) return { status: 400, message: "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported." };
      return { json: { ok: true } };
    });
    const model = new OpenAICompatibleModel(config(fake.url, "some-proxy-name"));
    expect((await model.generate(ask)).value).toEqual({ ok: true });
    const before = fake.calls.count;
    await model.generate(ask);
    expect(fake.calls.count - before).toBe(1);
  });
});

describe("an endpoint nobody listens on", () => {
  it("fails at once, not after minutes of retries", async () => {
    const port = await closedPort();
    const started = Date.now();
    const err = await new OpenAICompatibleModel(config(`http://127.0.0.1:${port}/v1`, "m", { maxRetries: 6 })).generate(ask).catch((e: Error) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(String(err)).toMatch(/Could not reach http:\/\/127\.0\.0\.1:\d+\/v1/);
  });
});

describe("the config file", () => {
  async function configFile(content: unknown): Promise<{ dataDir: string; env: NodeJS.ProcessEnv }> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-config-"));
    await writeFile(path.join(dataDir, "config.json"), JSON.stringify(content));
    return { dataDir, env: {} };
  }

  it("says where a flat model setting belongs instead of ignoring it", async () => {
    const { dataDir, env } = await configFile({ baseURL: "http://127.0.0.1:11434/v1", model: "qwen2.5:14b" });
    await expect(loadConfigFile(dataDir, env)).rejects.toThrow(/"baseURL" belongs in the "model" section: \{ "model": \{ "baseURL": …, "model": "<model id>" \} \}/);
  });

  it("names unknown keys, inside the model section too", async () => {
    const { dataDir, env } = await configFile({ model: { baseUrl: "http://x/v1" }, skilsDir: "x" });
    const err = await loadConfigFile(dataDir, env).catch((e: Error) => e.message);
    expect(err).toMatch(/skilsDir/);
    expect(err).toMatch(/baseUrl.*did you mean "baseURL"/);
  });

  it("names only ways to set a value that exist", () => {
    const err = (() => {
      try {
        resolveModelConfig({ OPENAI_BASE_URL: "not a url", TRACE2SKILL_MODEL: "m" });
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(err).toMatch(/OPENAI_BASE_URL/);
    expect(err).not.toMatch(/--api-key|--timeout-ms|--max-retries/);
  });
});

describe("the config file (review, session 3)", () => {
  it("accepts the README's own example: top-level concurrency and skillsDir", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-config-"));
    await writeFile(
      path.join(dataDir, "config.json"),
      JSON.stringify({ model: { baseURL: "http://127.0.0.1:11434/v1", model: "qwen" }, concurrency: 8, skillsDir: "~/.claude/skills", regressionPolicy: "flag" }),
    );
    await expect(loadConfigFile(dataDir, {})).resolves.toMatchObject({ concurrency: 8, skillsDir: "~/.claude/skills" });
  });
});

describe("config values a review found accepted wrongly (session 3)", () => {
  it("refuses a boolean timeout and unknown pricing keys, and reads a file saved with a BOM", async () => {
    expect(() => resolveModelConfig({}, undefined, { baseURL: "http://127.0.0.1:1/v1", model: "m", timeoutMs: true as unknown as number })).toThrow(/timeoutMs/);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "t2s-config-"));
    await writeFile(path.join(dataDir, "config.json"), JSON.stringify({ model: { model: "m", pricing: { in: 1, out: 2 } } }));
    await expect(loadConfigFile(dataDir, {})).rejects.toThrow(/unknown key "in" in "model.pricing"/);
    await writeFile(path.join(dataDir, "config.json"), "\uFEFF" + JSON.stringify({ concurrency: 4 }));
    await expect(loadConfigFile(dataDir, {})).resolves.toMatchObject({ concurrency: 4 });
  });
});
