import { describe, expect, it } from "vitest";
import { openTestEngine } from "../helpers/mcp.js";

/**
 * Issue 11, items 2 and 5: partial outcome updates made at the same moment must all land (the
 * current outcome is read, merged and written under the store's lock), and an outcome update
 * has limits like every other input.
 */

const run = {
  skill: "airline-support",
  task: "Change a flight",
  steps: [
    { role: "user", text: "Please change my flight." },
    { role: "assistant", text: "Done." },
  ],
};

describe("outcome updates", () => {
  it("keeps every field of concurrent partial updates", async () => {
    const engine = await openTestEngine();
    const { ids } = await engine.submit({ raw: run, format: "canonical" });
    const id = ids[0] as string;
    for (let round = 0; round < 10; round++) {
      await Promise.all([
        engine.setOutcome(id, { score: round }),
        engine.setOutcome(id, { feedback: `round ${round}` }),
        engine.setOutcome(id, { success: round % 2 === 0 }),
      ]);
      const t = await engine.getTrajectory(id);
      expect(t.outcome).toEqual({ success: round % 2 === 0, score: round, feedback: `round ${round}` });
    }
  });

  it("refuses an oversized feedback or ground truth with a clear message, and changes nothing", async () => {
    const engine = await openTestEngine();
    const { ids } = await engine.submit({ raw: run, format: "canonical" });
    const id = ids[0] as string;
    await engine.setOutcome(id, { success: false, feedback: "short" });
    await expect(engine.setOutcome(id, { feedback: "x".repeat(12 * 1024 * 1024) })).rejects.toThrow(/feedback is 12,582,912 characters; the limit is 16,000/);
    await expect(engine.setOutcome(id, { expected: "y".repeat(300_000) })).rejects.toThrow(/expected is 300,000 characters; the limit is 64,000/);
    expect((await engine.getTrajectory(id)).outcome).toEqual({ success: false, feedback: "short" });
  });
});
