import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { METADATA_STATE_DIR, type DeleteInput } from "../../api/forge.js";
import { resolveStateDir, StateStore } from "../state/index.js";
import { assertStateDirInScope, inScope } from "../state/scope.js";
import type { EngineDeps } from "./deps.js";

// Which state dir (and so which StateStore) a call works on. Each use case asks here; none builds a path itself.

/** Create: TESTENV_VM_STATE_DIR, then the spec's stateDir, then the default, under the input's rootDir. */
export function storeForCreate(deps: Pick<EngineDeps, "env" | "stateDirScope">, rootDir: string, specStateDir: string | undefined): StateStore {
  const stateDir = resolveStateDir({ env: deps.env, specStateDir, rootDir });
  assertStateDirInScope(deps.stateDirScope, stateDir, specStateDir?.trim() ? "spec.stateDir" : "rootDir");
  return new StateStore(stateDir);
}

/** status, list, runtime VMs: the stateDir the caller names, else TESTENV_VM_STATE_DIR, else the default. */
export function storeFor(deps: Pick<EngineDeps, "env" | "rootDir" | "stateDirScope">, stateDir: string | undefined): StateStore {
  const dir = stateDir ? resolve(deps.rootDir, stateDir) : resolveStateDir({ env: deps.env, rootDir: deps.rootDir });
  assertStateDirInScope(deps.stateDirScope, dir, "stateDir");
  return new StateStore(dir);
}

export interface FoundStore {
  /** The first candidate holding a state file for the testID; undefined when none does. */
  store?: StateStore;
  /** Every state dir looked in, in order. */
  searched: string[];
}

/**
 * Delete must find the environment wherever it was created: the stateDir it is given, the one recorded in the
 * artifact metadata, TESTENV_VM_STATE_DIR, then the default (never the spec's, which delete does not get).
 */
export function findStoreForDelete(deps: Pick<EngineDeps, "env" | "rootDir" | "stateDirScope">, testID: string, input: DeleteInput, stateDir: string | undefined): FoundStore {
  const absolute = (dir: unknown): string | undefined => (typeof dir === "string" && dir !== "" ? resolve(deps.rootDir, dir) : undefined);
  const named = absolute(stateDir);
  const recorded = absolute(input.metadata?.[METADATA_STATE_DIR]);
  // Dirs the caller names must be in scope; the defaults are only looked in when they are.
  if (named !== undefined) assertStateDirInScope(deps.stateDirScope, named, "stateDir");
  if (recorded !== undefined) assertStateDirInScope(deps.stateDirScope, recorded, `metadata.${METADATA_STATE_DIR}`);
  const scope = deps.stateDirScope;
  const defaults = [absolute(deps.env.TESTENV_VM_STATE_DIR), resolveStateDir({ env: {}, rootDir: deps.rootDir })].filter(
    (dir): dir is string => dir !== undefined && (scope === undefined || inScope(scope, dir)),
  );
  const searched = [...new Set([named, recorded, ...defaults].filter((dir): dir is string => dir !== undefined))];
  for (const dir of searched) {
    const store = new StateStore(dir);
    if (existsSync(store.statePath(testID))) return { store, searched };
  }
  return { searched };
}
