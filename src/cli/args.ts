import { parseArgs as tokenize } from "node:util";
import { levenshtein } from "../spec/suggest.js";
import { FLAGS, SHORT_ALIASES, flagLabel, flagOf, type Flag, type FlagRef } from "./flags.js";

// node:util parseArgs splits argv into tokens (long and short options, `--opt=value`, the `--` terminator, which
// argument is a flag's value). It is run non-strict and the checks are made here, token by token in argv order,
// because its own errors do not name the fix, and it has no notion of a flag that exists but not for this command,
// of a repeated flag, of an empty value or of a typo's closest flag.

export class UsageError extends Error {
  override name = "UsageError";
}

export type FlagValues = Partial<Record<string, string | boolean>>;

export interface ParsedArgs {
  positionals: string[];
  flags: FlagValues;
}

export function helpCommand(command: string): string {
  return command === "" ? "testenv-vm --help" : `testenv-vm ${command} --help`;
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = levenshtein(name, candidate);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/**
 * Parses `argv` against the flags a command accepts. Unknown flags, flags the command does not take, missing values
 * and repeated flags are UsageErrors naming the flag. `vocabulary` is every flag any command knows (for "does not
 * apply" and "did you mean"); the shared table by default.
 */
export function parseArgs(argv: readonly string[], allowed: readonly FlagRef[], command: string, vocabulary: readonly string[] = Object.keys(FLAGS)): ParsedArgs {
  const accepted = new Map<string, Flag>(allowed.map(flagOf).map((flag) => [flag.name, flag]));
  const options = Object.fromEntries([...accepted.values()].map((flag) => [flag.name, { type: flag.value ? ("string" as const) : ("boolean" as const) }]));
  const { tokens } = tokenize({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const flags: FlagValues = {};
  const positionals: string[] = [];
  const where = command === "" ? "" : ` for '${command}'`;
  const optionsHint = `run '${helpCommand(command)}' for the options`;
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "option-terminator") continue;
    // The name comes from the argument itself: `-qh` is one unknown option here, not -q -h, and `--=x` is '--'.
    const raw = argv[token.index]!;
    let name: string;
    let inline: string | undefined;
    if (raw.startsWith("--")) {
      const eq = raw.indexOf("=");
      name = eq === -1 ? raw.slice(2) : raw.slice(2, eq);
      inline = eq === -1 ? undefined : raw.slice(eq + 1);
    } else {
      const alias = SHORT_ALIASES[raw.slice(1)];
      if (alias === undefined) throw new UsageError(`unknown option '${raw}'${where}; ${optionsHint}`);
      name = alias;
    }
    const flag = accepted.get(name);
    if (flag === undefined) {
      if (vocabulary.includes(name)) throw new UsageError(`option '--${name}' does not apply${where}; ${optionsHint}`);
      const suggestion = closest(name, vocabulary);
      const hint = suggestion === undefined ? "" : ` (did you mean '--${suggestion}'?)`;
      throw new UsageError(`unknown option '--${name}'${where}${hint}; ${optionsHint}`);
    }
    if (flags[name] !== undefined) throw new UsageError(`option '--${name}' was given twice${where}; keep one`);
    if (!flag.value) {
      if (inline !== undefined) throw new UsageError(`option '--${name}' takes no value${where}; write '--${name}' alone`);
      flags[name] = true;
      continue;
    }
    // Without `=`, the tokenizer took the next argument as the value; a flag there means the value was forgotten.
    const value = inline ?? token.value;
    if (value === undefined || (inline === undefined && value.startsWith("--"))) {
      throw new UsageError(`option '--${name}' needs a value${where}: ${flagLabel(flag)}`);
    }
    if (value === "") throw new UsageError(`option '--${name}' needs a non-empty value${where}: ${flagLabel(flag)}`);
    flags[name] = value;
  }
  return { positionals, flags };
}

export function stringFlag(flags: FlagValues, ref: FlagRef): string | undefined {
  const value = flags[flagOf(ref).name];
  return typeof value === "string" ? value : undefined;
}

export function booleanFlag(flags: FlagValues, ref: FlagRef): boolean {
  return flags[flagOf(ref).name] === true;
}

export function rejectPositionals(args: ParsedArgs, command: string): void {
  const extra = args.positionals[0];
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}' for '${command}'; options start with --, see '${helpCommand(command)}'`);
}

/** The --id of a command that acts on one environment. */
export function requireID(args: ParsedArgs, command: string): string {
  const id = stringFlag(args.flags, "id");
  if (id === undefined) throw new UsageError(`'${command}' needs the environment id: testenv-vm ${command} --id <testID> (see 'testenv-vm list')`);
  return id;
}
