import { describe, expect, it } from "vitest";
import { createLimiter } from "../../src/util/limiter.js";

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("createLimiter", () => {
  it("runs at most n tasks at once", async () => {
    const limit = createLimiter(3);
    let running = 0;
    let peak = 0;
    const task = async (): Promise<number> => {
      running += 1;
      peak = Math.max(peak, running);
      await tick(10);
      running -= 1;
      return 1;
    };
    const results = await Promise.all(Array.from({ length: 12 }, () => limit(task)));
    expect(results).toHaveLength(12);
    expect(peak).toBe(3);
  });

  it("starts queued tasks in FIFO order", async () => {
    const limit = createLimiter(1);
    const gate = deferred();
    const order: number[] = [];
    const first = limit(async () => {
      await gate.promise;
      order.push(0);
    });
    const rest = [1, 2, 3].map((i) => limit(async () => void order.push(i)));
    await tick();
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it("frees the slot when a task fails", async () => {
    const limit = createLimiter(1);
    await expect(limit(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(limit(async () => "next")).resolves.toBe("next");
  });

  it("drops a queued task whose signal aborts, without running it", async () => {
    const limit = createLimiter(1);
    const gate = deferred();
    const blocker = limit(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const queued = limit(async () => {
      ran = true;
    }, controller.signal);
    const after = limit(async () => "after");
    controller.abort(new Error("cancelled"));

    await expect(queued).rejects.toThrow("cancelled");
    gate.resolve();
    await blocker;
    await expect(after).resolves.toBe("after");
    expect(ran).toBe(false);
  });

  it("rejects at once when the signal is already aborted", async () => {
    const limit = createLimiter(2);
    const controller = new AbortController();
    controller.abort(new Error("too late"));
    await expect(limit(async () => 1, controller.signal)).rejects.toThrow("too late");
  });

  it("refuses a limit below 1", () => {
    expect(() => createLimiter(0)).toThrow(/at least 1/);
    expect(() => createLimiter(1.5)).toThrow(/whole number/);
  });
});
