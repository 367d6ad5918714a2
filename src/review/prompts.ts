import { readFileSync } from "node:fs";

/** The reviewer's prompt (src/review/prompts/reviewer.md, copied into dist by the build). */
let cached: string | undefined;

export function reviewerPrompt(): string {
  cached ??= readFileSync(new URL("./prompts/reviewer.md", import.meta.url), "utf8");
  return cached;
}
