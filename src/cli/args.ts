// Hand-rolled argv parsing: every mistake names the flag and the fix, which node:util parseArgs does not.

export class UsageError extends Error {
  override name = "UsageError";
}

export interface FlagDefinition {
  /** Takes a value (`--spec forge.yaml` or `--spec=forge.yaml`); otherwise a boolean switch. */
  value: boolean;
  description: string;
  /** Shown in help as `--flag <placeholder>`. */
  placeholder?: string;
}

export const FLAGS = {
  spec: { value: true, placeholder: "file", description: "forge.yaml or a bare spec file (default ./forge.yaml)" },
  name: { value: true, placeholder: "name", description: "testenv entry to use when forge.yaml has several" },
  id: { value: true, placeholder: "testID", description: "environment id (create: default test-<stage>-<YYYYMMDD>-<8 hex>)" },
  stage: { value: true, placeholder: "stage", description: "stage name recorded in the state (default cli)" },
  "tmp-dir": { value: true, placeholder: "dir", description: "temp dir; the artifact dir is <tmp-dir>/<testID> (default ./.forge/tmp)" },
  "state-dir": { value: true, placeholder: "dir", description: "state dir (default TESTENV_VM_STATE_DIR, the spec's stateDir, then .forge/testenv-vm)" },
  "keep-on-failure": { value: false, description: "keep what was created when create fails (to debug it)" },
  sha256: { value: true, placeholder: "hex", description: "images pull: expected SHA-256 of the image (required for https URLs)" },
  "cache-dir": { value: true, placeholder: "dir", description: "images: cache dir (default the spec's imageCacheDir, TESTENV_VM_IMAGE_CACHE_DIR, then the per-user default)" },
  "full-verify": { value: false, description: "images pull: re-hash a cached file even when its size and mtime match" },
  all: { value: false, description: "images prune: remove every cached image" },
  days: { value: true, placeholder: "n", description: "images prune: also remove images not used for n days" },
  json: { value: false, description: "print exactly one JSON document on stdout" },
  quiet: { value: false, description: "no progress lines on stderr" },
  verbose: { value: false, description: "debug logs on stderr" },
  help: { value: false, description: "show help" },
} as const satisfies Record<string, FlagDefinition>;

export type FlagName = keyof typeof FLAGS;
export type FlagValues = Partial<Record<FlagName, string | boolean>>;

export interface ParsedArgs {
  positionals: string[];
  flags: FlagValues;
}

const SHORT_ALIASES: Record<string, FlagName> = { h: "help", q: "quiet" };

export function helpCommand(command: string): string {
  return command === "" ? "testenv-vm --help" : `testenv-vm ${command} --help`;
}

function isFlagName(name: string): name is FlagName {
  return Object.hasOwn(FLAGS, name);
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/**
 * Parses `argv` against the flags a command accepts. Unknown flags, flags the command does not take,
 * missing values and repeated flags are UsageErrors naming the flag.
 */
export function parseArgs(argv: readonly string[], allowed: readonly FlagName[], command: string): ParsedArgs {
  const flags: FlagValues = {};
  const positionals: string[] = [];
  const where = command === "" ? "" : ` for '${command}'`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else {
      const alias = SHORT_ALIASES[arg.slice(1)];
      if (alias === undefined) throw new UsageError(`unknown option '${arg}'${where}; run '${helpCommand(command)}' for the options`);
      name = alias;
    }
    if (!isFlagName(name)) {
      const suggestion = closest(name, Object.keys(FLAGS));
      const hint = suggestion === undefined ? "" : ` (did you mean '--${suggestion}'?)`;
      throw new UsageError(`unknown option '--${name}'${where}${hint}; run '${helpCommand(command)}' for the options`);
    }
    if (!allowed.includes(name)) {
      throw new UsageError(`option '--${name}' does not apply${where}; run '${helpCommand(command)}' for the options`);
    }
    if (flags[name] !== undefined) throw new UsageError(`option '--${name}' was given twice${where}; keep one`);
    const definition: FlagDefinition = FLAGS[name];
    if (!definition.value) {
      if (inline !== undefined) throw new UsageError(`option '--${name}' takes no value${where}; write '--${name}' alone`);
      flags[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new UsageError(`option '--${name}' needs a value${where}: --${name} <${definition.placeholder ?? "value"}>`);
      }
      value = next;
      i++;
    }
    if (value === "") throw new UsageError(`option '--${name}' needs a non-empty value${where}: --${name} <${definition.placeholder ?? "value"}>`);
    flags[name] = value;
  }
  return { positionals, flags };
}

export function stringFlag(flags: FlagValues, name: FlagName): string | undefined {
  const value = flags[name];
  return typeof value === "string" ? value : undefined;
}

export function booleanFlag(flags: FlagValues, name: FlagName): boolean {
  return flags[name] === true;
}
