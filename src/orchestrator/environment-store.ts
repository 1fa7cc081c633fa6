import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { METADATA_STATE_DIR, type DeleteInput } from "../../api/forge.js";
import { resolveStateDir, StateStore } from "../state/index.js";
import type { EngineDeps } from "./deps.js";

// Which state dir (and so which StateStore) a call works on. Each use case asks here; none builds a path itself.

/** Create: TESTENV_VM_STATE_DIR, then the spec's stateDir, then the default, under the input's rootDir. */
export function storeForCreate(deps: Pick<EngineDeps, "env">, rootDir: string, specStateDir: string | undefined): StateStore {
  return new StateStore(resolveStateDir({ env: deps.env, specStateDir, rootDir }));
}

/** status, list, runtime VMs: the stateDir the caller names, else TESTENV_VM_STATE_DIR, else the default. */
export function storeFor(deps: Pick<EngineDeps, "env" | "rootDir">, stateDir: string | undefined): StateStore {
  return new StateStore(stateDir ? resolve(deps.rootDir, stateDir) : resolveStateDir({ env: deps.env, rootDir: deps.rootDir }));
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
export function findStoreForDelete(deps: Pick<EngineDeps, "env" | "rootDir">, testID: string, input: DeleteInput, stateDir: string | undefined): FoundStore {
  const searched = [...new Set([stateDir, input.metadata?.[METADATA_STATE_DIR], deps.env.TESTENV_VM_STATE_DIR, resolveStateDir({ env: {}, rootDir: deps.rootDir })]
    .filter((dir): dir is string => typeof dir === "string" && dir !== "")
    .map((dir) => resolve(deps.rootDir, dir)))];
  for (const dir of searched) {
    const store = new StateStore(dir);
    if (existsSync(store.statePath(testID))) return { store, searched };
  }
  return { searched };
}
