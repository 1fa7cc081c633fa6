import { UsageError, helpCommand, type ParsedArgs } from "./args.js";
import { COMMON_FLAGS, flagOf, type FlagRef } from "./flags.js";
import { levenshtein } from "../spec/suggest.js";

// Commands with subcommands (vm, snapshot): the first positional picks one, with a suggestion for a typo, and a
// flag the command knows but the chosen subcommand does not take is a usage error naming both.

export interface Subcommand {
  name: string;
  /** Flags this subcommand takes besides COMMON_FLAGS. */
  flags: readonly FlagRef[];
}

export function pickSubcommand<S extends Subcommand>(command: string, subcommands: readonly S[], args: ParsedArgs): S {
  const names = subcommands.map((s) => s.name);
  const given = args.positionals[0];
  if (given === undefined) throw new UsageError(`'${command}' needs a subcommand: ${names.join(", ")}; see '${helpCommand(command)}'`);
  const sub = subcommands.find((s) => s.name === given);
  if (sub) return sub;
  const near = names.find((name) => levenshtein(name, given) <= 2);
  throw new UsageError(`unknown ${command} subcommand '${given}'${near ? ` (did you mean '${near}'?)` : ""}; subcommands: ${names.join(", ")}`);
}

export function checkSubcommandFlags(command: string, args: ParsedArgs, sub: Subcommand): void {
  const accepted = new Set([...sub.flags, ...COMMON_FLAGS].map((ref) => flagOf(ref).name));
  const stray = Object.keys(args.flags).find((name) => args.flags[name] !== undefined && !accepted.has(name));
  if (stray !== undefined) throw new UsageError(`option '--${stray}' does not apply for '${command} ${sub.name}'; run '${helpCommand(command)}' for the options`);
}
