import { resolveStateDir } from "../state/paths.js";
import { STATE_DIR_FLAG, STATE_DIRS_ENV, stateDirScope, type StateDirScope } from "../state/scope.js";
import { directoryOption } from "./server-options.js";

/**
 * The state dirs the server serves: its own (TESTENV_VM_STATE_DIR, else the default under cwd) and those it was
 * started with (`--allow-state-dir DIR`, TESTENV_VM_MCP_STATE_DIRS). `any` there serves every dir (undefined).
 */
export function stateDirScopeFrom(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): { own: string; scope: StateDirScope | undefined } {
  const own = resolveStateDir({ env, rootDir: cwd });
  if (env[STATE_DIRS_ENV]?.trim().toLowerCase() === "any") return { own, scope: undefined };
  return { own, scope: stateDirScope([own, ...directoryOption(argv, env, STATE_DIR_FLAG, STATE_DIRS_ENV)]) };
}
