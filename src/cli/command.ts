import type { ParsedArgs } from "./args.js";
import type { ExitCode } from "./exit-codes.js";
import type { FlagRef } from "./flags.js";
import type { SpecFile } from "./spec-file.js";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface CommandContext extends CliIo {
  args: ParsedArgs;
  /** The spec file named by --spec (default ./forge.yaml), loaded on first use. */
  specFile: SpecFile;
}

/**
 * One CLI command, in its own file under commands/ and listed in commands/index.ts. `run` returns the exit code of
 * a success and throws on failure: main's one catch turns the error into a message (or a JSON document with --json)
 * and its exit code. A command's file imports engine and spec modules inside `run`, so that --help, --version and
 * usage errors stay fast.
 */
export interface CommandDefinition {
  name: string;
  summary: string;
  usage: string;
  flags: readonly FlagRef[];
  /** The operation a failure names (`testenv-vm <operation> failed: ...`); the command's name by default. */
  operation?(args: ParsedArgs): string;
  run(context: CommandContext): Promise<ExitCode>;
}
