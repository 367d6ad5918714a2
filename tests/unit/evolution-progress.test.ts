import { describe, expect, it } from "vitest";
import { ForwardProgress, ProgressPlan } from "../../src/evolution/progress.js";

describe("run progress", () => {
  it("plans one range: analyses, then every merge of the tree, then one unit for applying", () => {
    const plan = new ProgressPlan(100, 100, 5);
    expect(plan.mergeLevels).toEqual([20, 4, 1]);
    expect(plan.total).toBe(100 + 25 + 1);
    expect(plan.analysed(40)).toBe(40);
    expect(plan.merged(1, 20)).toBe(120);
    expect(plan.merged(2, 3)).toBe(123);
    expect(plan.merged(3, 1)).toBe(125);
    expect(plan.applying()).toBe(125);
    // A merge tree smaller than planned never runs past the merges' share.
    expect(plan.merged(5, 99)).toBe(125);
  });

  it("never goes back, keeps its first total, and is full only when complete", () => {
    const p = new ForwardProgress({ done: 0, total: 0, message: "queued" });
    p.plan(10);
    p.plan(50);
    expect(p.current.total).toBe(10);
    expect(p.advance(3, "a")).toBe(true);
    expect(p.advance(1, "stage b starts at its own zero")).toBe(false);
    expect(p.current).toEqual({ done: 3, total: 10, message: "stage b starts at its own zero" });
    expect(p.advance(3, "same value")).toBe(false);
    expect(p.advance(99, "past the end")).toBe(true);
    expect(p.current.done).toBe(9);
    expect(p.complete("done")).toBe(true);
    expect(p.current).toEqual({ done: 10, total: 10, message: "done" });
  });

  it("a resumed run keeps its total and its place", () => {
    const p = new ForwardProgress({ done: 57, total: 126, message: "agent mode" });
    p.plan(30);
    expect(p.current.total).toBe(126);
    expect(p.advance(10, "cached analyses")).toBe(false);
    expect(p.current.done).toBe(57);
  });
});
