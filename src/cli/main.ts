import { packageVersion } from "../../lib/package.js";
import { UsageError, helpCommand, parseArgs } from "./args.js";
import { COMMANDS, engineFor, reportFailure, type CliIo } from "./commands.js";
import "./images.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { commandHelp, mainHelp } from "./help.js";

/** The CLI: subcommands for people and scripts. Returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const first = argv[0];
  if (first === "--version" || first === "-v" || first === "version") {
    io.stdout.write(`testenv-vm ${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    const topic = first === "help" ? argv[1] : undefined;
    const command = topic === undefined ? undefined : COMMANDS.get(topic);
    io.stdout.write(command && topic ? commandHelp(topic, command) : mainHelp(COMMANDS));
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.get(first);
  if (!command) {
    const hint = first.startsWith("-") ? `unknown option '${first}' before a command` : `unknown command '${first}'`;
    io.stderr.write(`testenv-vm: ${hint}; commands: ${[...COMMANDS.keys()].join(", ")} (or --mcp). Run 'testenv-vm --help'\n`);
    return EXIT.usage;
  }
  try {
    const args = parseArgs(argv.slice(1), command.flags, first);
    if (args.flags.help === true) {
      io.stdout.write(commandHelp(first, command));
      return EXIT.ok;
    }
    // The CLI's own progress lines tell the story; orchestrator logs stay for --verbose.
    if (io.env.TESTENV_VM_LOG === undefined) process.env.TESTENV_VM_LOG = args.flags.verbose === true ? "debug" : "warn";
    let engine: ReturnType<typeof engineFor> | undefined;
    return await command.run({ ...io, args, engine: () => (engine ??= engineFor(io, args, first)) });
  } catch (error) {
    if (error instanceof UsageError) {
      const hint = error.message.includes("--help") ? "" : ` (see '${helpCommand(first)}')`;
      io.stderr.write(`testenv-vm ${first}: ${error.message}${hint}\n`);
      return EXIT.usage;
    }
    return reportFailure(io, first, error);
  }
}

/** Runs the CLI in this process: the one top-level catch, which turns anything unexpected into exit code 1. */
export async function runCli(argv: readonly string[]): Promise<void> {
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
  try {
    process.exitCode = await main(argv, io);
  } catch (error) {
    process.stderr.write(`testenv-vm: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.failed;
  }
}
