import { readFileSync } from "node:fs";
import { sha256 } from "../util/hash.js";

/** The judge's prompt (src/judging/prompts/judge.md, copied into dist by the build). */
let cached: string | undefined;

export function judgePrompt(): string {
  cached ??= readFileSync(new URL("./prompts/judge.md", import.meta.url), "utf8");
  return cached;
}

export function judgePromptHash(): string {
  return sha256(judgePrompt()).slice(0, 16);
}
