import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { TestenvError, quoted } from "../errors.js";

// The state dirs an MCP server serves. An agent names environments by testID; which state dir it reaches is the
// server's configuration (its own state dir and an allowlist), never the agent's arguments, so an agent cannot
// reach into another project's environments by naming their dir in `stateDir`, in a delete's metadata or in
// `spec.stateDir`. The CLI and the client library have no scope: their caller is the host's own user.

export const STATE_DIRS_ENV = "TESTENV_VM_MCP_STATE_DIRS";
export const STATE_DIR_FLAG = "--allow-state-dir";

export interface StateDirScope {
  /** Absolute; the first is the server's own state dir. */
  readonly dirs: readonly string[];
}

/** The path with symlinks resolved where it exists, so that two spellings of one directory compare equal. */
function canonical(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
}

export function stateDirScope(dirs: readonly string[]): StateDirScope {
  return { dirs: [...new Set(dirs.map((dir) => resolve(dir)))] };
}

export function inScope(scope: StateDirScope, stateDir: string): boolean {
  const wanted = canonical(stateDir);
  return scope.dirs.some((dir) => canonical(dir) === wanted);
}

/** Throws INPUT_INVALID naming `field` when `stateDir` is not one the server serves; a missing scope allows any. */
export function assertStateDirInScope(scope: StateDirScope | undefined, stateDir: string, field: string): void {
  if (scope === undefined || inScope(scope, stateDir)) return;
  const message =
    `state dir ${quoted(stateDir)} is not one this MCP server serves (${scope.dirs.join(", ")}); an agent reaches only those. ` +
    `Start the server with TESTENV_VM_STATE_DIR=<dir>, or allow more dirs with ${STATE_DIR_FLAG} <dir> or ${STATE_DIRS_ENV} (\`any\` allows every dir)`;
  throw new TestenvError("INPUT_INVALID", `${field}: ${message}`, { issues: [{ field, message }] });
}
