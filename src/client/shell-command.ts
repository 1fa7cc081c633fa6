import { TestenvError } from "../errors.js";

// Builds the one command line that SSH hands to the guest's login shell (assumed POSIX: sh, bash, dash, ash).
// The original client %q-quoted arguments Go-style and passed whole shell lines as one argument, which broke on a
// real shell; here every argument is single-quoted for POSIX sh, so the caller never quotes anything.

/** Characters that never need quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Quotes one argument so that a POSIX shell passes it through unchanged, whatever it contains. */
export function quoteShellArg(arg: string): string {
  if (arg.includes("\0")) {
    throw new TestenvError("INPUT_INVALID", "command argument contains a NUL byte, which no process argument can carry; remove it", {
      issues: [{ field: "command", message: "NUL byte in argument" }],
    });
  }
  if (SAFE_WORD.test(arg)) return arg;
  // Inside single quotes nothing is special except the closing quote: end the quote, emit \', reopen.
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Joins argv into one shell line: each element is exactly one argument on the other side. */
export function quoteShellArgs(argv: readonly string[]): string {
  if (argv.length === 0) {
    throw new TestenvError("INPUT_INVALID", "command is an empty array; give at least the program to run", {
      issues: [{ field: "command", message: "empty argv" }],
    });
  }
  return argv.map(quoteShellArg).join(" ");
}

/** Throws INPUT_INVALID naming every environment variable whose name a shell would not accept. */
export function validateEnvNames(env: Readonly<Record<string, string>>): void {
  const bad = Object.keys(env).filter((name) => !ENV_NAME.test(name));
  if (bad.length > 0) {
    throw new TestenvError(
      "INPUT_INVALID",
      `invalid environment variable name(s) ${bad.map((n) => JSON.stringify(n)).join(", ")}: names must match [A-Za-z_][A-Za-z0-9_]*`,
      { issues: bad.map((name) => ({ field: `env.${name}`, message: "invalid environment variable name" })) },
    );
  }
}

export interface RemoteCommandOptions {
  env?: Readonly<Record<string, string>>;
  /** Run as root through `sudo -n` (non-interactive: a missing NOPASSWD rule fails instead of hanging). */
  sudo?: boolean;
  cwd?: string;
}

/**
 * The line sent over SSH. A string command is shell source and runs as written; an array is argv.
 * With env, sudo or cwd the command runs under `sh -c` so that all three apply to the whole command line,
 * and env goes through `env(1)` because sudo's default policy refuses `sudo NAME=value`.
 */
export function buildRemoteCommand(command: string | readonly string[], options: RemoteCommandOptions = {}): string {
  let script = typeof command === "string" ? command : quoteShellArgs(command);
  if (typeof command === "string" && command.trim() === "") {
    throw new TestenvError("INPUT_INVALID", "command is an empty string; give the command to run", {
      issues: [{ field: "command", message: "empty command" }],
    });
  }
  const env = options.env ?? {};
  validateEnvNames(env);
  const envNames = Object.keys(env);
  if (envNames.length === 0 && !options.sudo && options.cwd === undefined) return script;

  if (options.cwd !== undefined) {
    // A leading "-" would be read as an option by cd.
    const cwd = options.cwd.startsWith("-") ? `./${options.cwd}` : options.cwd;
    script = `cd ${quoteShellArg(cwd)} || exit 1\n${script}`;
  }
  const words: string[] = [];
  if (options.sudo) words.push("sudo", "-n");
  if (envNames.length > 0) words.push("env", ...envNames.map((name) => `${name}=${quoteShellArg(env[name] ?? "")}`));
  words.push("sh", "-c", quoteShellArg(script));
  return words.join(" ");
}
