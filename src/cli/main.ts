#!/usr/bin/env node
import { Trace2SkillError, errorMessage } from "../util/errors.js";
import { UsageError, out, type Command } from "./context.js";
import { serveCommand } from "./commands/serve.js";
import { ingestCommand } from "./commands/ingest.js";
import { exportCommand, importCommand, showCommand, skillsCommand } from "./commands/skills.js";
import { outcomeCommand } from "./commands/outcome.js";
import { hookCommand } from "./commands/hook.js";
import { doctorCommand } from "./commands/doctor.js";
import { configCommand } from "./commands/config.js";
import { analyseCommand, consolidateCommand, evolutionCommand, evolveCommand } from "./commands/evolve.js";
import { deleteRunCommand, runsCommand } from "./commands/runs.js";
import { checksCommand, diffCommand, historyCommand, promoteCommand, reportCommand, rollbackCommand, statsCommand } from "./commands/versions.js";
import { demoCommand } from "./commands/demo.js";
import { workerCommand } from "./commands/worker.js";

const COMMANDS: Command[] = [
  serveCommand,
  demoCommand,
  ingestCommand,
  evolveCommand,
  analyseCommand,
  consolidateCommand,
  evolutionCommand,
  runsCommand,
  deleteRunCommand,
  skillsCommand,
  showCommand,
  historyCommand,
  diffCommand,
  checksCommand,
  statsCommand,
  reportCommand,
  promoteCommand,
  rollbackCommand,
  importCommand,
  exportCommand,
  outcomeCommand,
  hookCommand,
  doctorCommand,
  configCommand,
  workerCommand,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `trace2skill — turn agents' runs into evolved Agent Skills (MCP server + CLI)

Usage: trace2skill [command] [options]     (no command: run the MCP server on stdio)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run \`trace2skill <command> --help\` for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "-h" || first === "--help" || first === "help") {
    out.line(mainHelp());
    return 0;
  }
  if (first === "--version" || first === "-v") {
    out.line("0.1.0");
    return 0;
  }
  // No command, or options only (`trace2skill --http --port 4000`): the server.
  if (first === undefined || first.startsWith("-")) return serveCommand.run(argv);
  const command = COMMANDS.find((c) => c.name === first || c.aliases?.includes(first));
  if (!command) throw new UsageError(`Unknown command "${first}".\n\n${mainHelp()}`);
  if (rest.includes("--help") || rest.includes("-h")) {
    out.line(command.help);
    return 0;
  }
  return command.run(rest);
}

// `trace2skill history x | head` closes stdout early: that is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof Trace2SkillError) {
      out.err(`trace2skill: ${err.message}`);
      process.exitCode = 2;
      if (err instanceof Trace2SkillError) process.exitCode = 1;
      return;
    }
    if (err instanceof Error && "code" in err && String((err as { code: unknown }).code).startsWith("ERR_PARSE_ARGS")) {
      out.err(`trace2skill: ${err.message}. Run with --help for the options.`);
      process.exitCode = 2;
      return;
    }
    out.err(`trace2skill: unexpected error: ${errorMessage(err)}`);
    process.exitCode = 1;
  },
);
