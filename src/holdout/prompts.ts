import { readFileSync } from "node:fs";

/** The coverage judge's prompt (src/holdout/prompts/coverage.md, copied into dist by the build). */
let cached: string | undefined;

export function coveragePrompt(): string {
  cached ??= readFileSync(new URL("./prompts/coverage.md", import.meta.url), "utf8");
  return cached;
}
