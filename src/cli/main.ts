import { packageVersion } from "../../lib/package.js";
import { parseArgs } from "./args.js";
import type { CliIo, CommandContext } from "./command.js";
import { COMMANDS, FLAG_VOCABULARY, findCommand } from "./commands/index.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { reportError } from "./failure.js";
import { commandHelp, mainHelp } from "./help.js";
import { SpecFile } from "./spec-file.js";

/**
 * The CLI: subcommands for people and scripts. Returns the exit code. Commands throw; the one catch here turns
 * what they throw into output and an exit code (usage → 2, typed errors → exit-codes.ts, anything else → 1).
 */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const first = argv[0];
  if (first === "--version" || first === "-v" || first === "version") {
    io.stdout.write(`testenv-vm ${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    const command = first === "help" && argv[1] !== undefined ? findCommand(argv[1]) : undefined;
    io.stdout.write(command ? commandHelp(command) : mainHelp(COMMANDS));
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = findCommand(first);
  if (!command) {
    const hint = first.startsWith("-") ? `unknown option '${first}' before a command` : `unknown command '${first}'`;
    io.stderr.write(`testenv-vm: ${hint}; commands: ${COMMANDS.map((c) => c.name).join(", ")} (or --mcp). Run 'testenv-vm --help'\n`);
    return EXIT.usage;
  }
  let context: CommandContext | undefined;
  try {
    const args = parseArgs(argv.slice(1), command.flags, command.name, FLAG_VOCABULARY);
    if (args.flags.help === true) {
      io.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    // The CLI's own progress lines tell the story; orchestrator logs stay for --verbose.
    if (io.env.TESTENV_VM_LOG === undefined) process.env.TESTENV_VM_LOG = args.flags.verbose === true ? "debug" : "warn";
    context = { ...io, args, specFile: new SpecFile(io.cwd, args) };
    return await command.run(context);
  } catch (error) {
    return reportError(io, command, error, context);
  }
}

/** Runs the CLI in this process (src/bin.ts). */
export async function runCli(argv: readonly string[]): Promise<void> {
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
  process.exitCode = await main(argv, io);
}
