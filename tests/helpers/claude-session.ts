/**
 * Claude Code sessions for the hook tests, built on the row shapes of the repository's
 * Claude Code fixture (fixtures/formats/claude-code_tool-call.input.jsonl): a user asks, the
 * assistant runs tests with Bash, reads the results, and the user reacts. Each turn adds
 * rows; a Stop hook sees the transcript written so far.
 */

export interface SessionScript {
  /** What the user asks first. */
  task: string;
  turns: number;
  /** Whether the final test run passes (and the user says thanks) or fails (and the user objects). */
  succeeds: boolean;
  /** Bytes of test output per turn, to make long transcripts. */
  outputBytes?: number;
  startAt?: Date;
}

/** The transcript's JSONL rows, turn by turn: rows[i] are the rows of turn i. */
export function sessionTurns(script: SessionScript): string[][] {
  const start = (script.startAt ?? new Date("2026-11-01T10:00:00.000Z")).getTime();
  const at = (n: number) => new Date(start + n * 1000).toISOString();
  const pad = (n: number) => "x".repeat(Math.max(0, n));
  const turns: string[][] = [];
  let clock = 0;
  for (let i = 0; i < script.turns; i++) {
    const last = i === script.turns - 1;
    const passing = last && script.succeeds;
    const rows: unknown[] = [];
    if (i === 0) {
      rows.push({ type: "user", uuid: `u${i}`, parentUuid: null, isSidechain: false, cwd: "/workspace/project", timestamp: at(clock++), message: { role: "user", content: script.task } });
    } else {
      const reaction = last && !script.succeeds ? "No, that's wrong: the tests are still failing." : "Keep going.";
      rows.push({ type: "user", uuid: `u${i}`, timestamp: at(clock++), message: { role: "user", content: reaction } });
    }
    rows.push({
      type: "assistant",
      uuid: `a${i}`,
      timestamp: at(clock++),
      message: {
        role: "assistant",
        model: "claude-opus-4-6",
        content: [
          { type: "text", text: `Running the test suite (attempt ${i + 1}).` },
          { type: "tool_use", id: `toolu_${i}`, name: "Bash", input: { command: "npm test" } },
        ],
      },
    });
    const output = passing
      ? `Test Files  12 passed (12)\nTests  120 passed (120)\n${pad((script.outputBytes ?? 0) - 60)}`
      : `FAIL tests/retry.test.ts\nError: expected 3 retries, got 1\nTests  1 failed | 119 passed (120)\nnpm ERR! Test failed.\n${pad((script.outputBytes ?? 0) - 120)}`;
    rows.push({
      type: "user",
      uuid: `r${i}`,
      timestamp: at(clock++),
      message: { role: "user", content: [{ type: "tool_result", tool_use_id: `toolu_${i}`, content: [{ type: "text", text: output }], is_error: !passing }] },
    });
    rows.push({
      type: "assistant",
      uuid: `f${i}`,
      timestamp: at(clock++),
      message: { role: "assistant", model: "claude-opus-4-6", content: [{ type: "text", text: passing ? "All tests pass now." : "The retry test still fails; looking again." }] },
    });
    if (last && script.succeeds) rows.push({ type: "user", uuid: `t${i}`, timestamp: at(clock++), message: { role: "user", content: "Thanks, that works." } });
    turns.push(rows.map((r) => JSON.stringify(r)));
  }
  return turns;
}

/** The transcript as it stands after `turns` turns. */
export function transcriptAfter(turns: string[][], count: number): string {
  return turns.slice(0, count).flat().join("\n") + "\n";
}
