import { errorMessage, formatIssues, isTestenvError } from "../errors.js";
import { UsageError, booleanFlag, helpCommand } from "./args.js";
import type { CliIo, CommandContext, CommandDefinition } from "./command.js";
import { EXIT, exitCodeFor, type ExitCode } from "./exit-codes.js";
import { firstLine, indent, writeJson } from "./output.js";

/**
 * What a command threw, as the user sees it, and its exit code: a usage error on stderr with the way to help;
 * any other failure on stderr, or as one JSON document with --json. `context` is absent when the arguments did
 * not parse.
 */
export function reportError(io: CliIo, command: CommandDefinition, error: unknown, context?: CommandContext): ExitCode {
  if (error instanceof UsageError) {
    const hint = error.message.includes("--help") ? "" : ` (see '${helpCommand(command.name)}')`;
    io.stderr.write(`testenv-vm ${command.name}: ${error.message}${hint}\n`);
    return EXIT.usage;
  }
  const operation = context && command.operation ? command.operation(context.args) : command.name;
  const code = exitCodeFor(error);
  const issues = isTestenvError(error) ? (context?.specFile.locate(error.issues) ?? error.issues) : [];
  if (context && booleanFlag(context.args.flags, "json")) {
    writeJson(io, {
      ok: false,
      operation,
      error: {
        code: isTestenvError(error) ? error.code : "INTERNAL",
        message: errorMessage(error),
        ...(issues.length > 0 ? { issues } : {}),
        ...(isTestenvError(error) && Object.keys(error.details).length > 0 ? { details: error.details } : {}),
      },
    });
    return code;
  }
  // Issues carry line:col here; print them instead of the message's own unlocated copy.
  const message = issues.length > 0 ? firstLine(errorMessage(error)) : errorMessage(error);
  io.stderr.write(`testenv-vm ${operation} failed: ${message}\n`);
  if (issues.length > 0) io.stderr.write(`${indent(formatIssues(issues))}\n`);
  return code;
}
