// The CLI's flag vocabulary. A flag means the same thing in every command that takes it, so its description lives
// here once; a command lists the names it accepts. A flag only one command has may instead be defined in that
// command's file (a `Flag` object in its `flags` list).

export interface FlagDefinition {
  /** Takes a value (`--spec forge.yaml` or `--spec=forge.yaml`); otherwise a boolean switch. */
  value: boolean;
  description: string;
  /** Shown in help as `--flag <placeholder>`. */
  placeholder?: string;
}

/** A flag defined by the command that takes it. */
export interface Flag extends FlagDefinition {
  name: string;
}

export const FLAGS = {
  spec: { value: true, placeholder: "file", description: "forge.yaml or a bare spec file (default ./forge.yaml)" },
  name: { value: true, placeholder: "name", description: "testenv entry to use when forge.yaml has several" },
  id: { value: true, placeholder: "testID", description: "environment id (create: default test-<stage>-<YYYYMMDD>-<8 hex>)" },
  stage: { value: true, placeholder: "stage", description: "stage name recorded in the state (default cli)" },
  "tmp-dir": { value: true, placeholder: "dir", description: "temp dir; the artifact dir is <tmp-dir>/<testID> (default ./.forge/tmp)" },
  "state-dir": { value: true, placeholder: "dir", description: "state dir (default TESTENV_VM_STATE_DIR, the spec's stateDir, then .forge/testenv-vm)" },
  env: { value: true, placeholder: "KEY,...", description: "create, validate: the variables {{ .Env.KEY }} may read (also TESTENV_VM_PASS_ENV); no other is read" },
  "keep-on-failure": { value: false, description: "keep what was created when create fails (to debug it)" },
  sha256: { value: true, placeholder: "hex", description: "images pull: expected SHA-256 of the image (required for https URLs)" },
  "cache-dir": { value: true, placeholder: "dir", description: "images: cache dir (default the spec's imageCacheDir, TESTENV_VM_IMAGE_CACHE_DIR, then the per-user default)" },
  "full-verify": { value: false, description: "images pull: re-hash a cached file even when its size and mtime match" },
  all: { value: false, description: "images prune: remove every cached image" },
  days: { value: true, placeholder: "n", description: "images prune: also remove images not used for n days" },
  dir: { value: true, placeholder: "folder", description: "project folder with the .env (default the current folder)" },
  recreate: { value: false, description: "up: remove the instance and create it anew when the .env changed (its disk is lost)" },
  force: { value: false, description: "init: overwrite an existing .env; vm stop/restart: power the VM off at once; delete: fall back to gc when the state file is corrupt; snapshot save: replace a snapshot of that name" },
  json: { value: false, description: "print exactly one JSON document on stdout" },
  quiet: { value: false, description: "no progress lines on stderr" },
  verbose: { value: false, description: "debug logs on stderr" },
  help: { value: false, description: "show help" },
} as const satisfies Record<string, FlagDefinition>;

export type FlagName = keyof typeof FLAGS;

/** What a command lists: a flag of the vocabulary by name, or one of its own. */
export type FlagRef = FlagName | Flag;

/** Every command takes these. */
export const COMMON_FLAGS: readonly FlagName[] = ["json", "quiet", "verbose", "help"];

/** Where a command without a spec argument finds the state dir (see engine.ts). */
export const STATE_DIR_FLAGS: readonly FlagName[] = ["state-dir", "spec", "name"];

/** Every project-folder verb takes these. */
export const PROJECT_FLAGS: readonly FlagName[] = ["dir", ...COMMON_FLAGS];

/** Short forms, each exactly one letter after a single dash. */
export const SHORT_ALIASES: Readonly<Record<string, FlagName>> = { h: "help", q: "quiet" };

export function flagOf(ref: FlagRef): Flag {
  return typeof ref === "string" ? { name: ref, ...FLAGS[ref] } : ref;
}

export function flagLabel(flag: Flag): string {
  return flag.value ? `--${flag.name} <${flag.placeholder ?? "value"}>` : `--${flag.name}`;
}
