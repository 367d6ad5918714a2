import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: "forks",
    // A private PostgreSQL cluster for the PostgreSQL store's tests (skipped, visibly, without one).
    globalSetup: ["tests/setup/postgres.ts"],
  },
});
