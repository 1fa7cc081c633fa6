import type { EnvironmentState } from "../../api/state.js";
import { TestenvError } from "../errors.js";
import { validateTestID } from "../state/index.js";
import type { EngineDeps } from "./deps.js";
import { storeFor } from "./environment-store.js";
import { summarize, unreadableSummary, type EnvironmentSummary } from "./summary.js";

// Reading environments back: one state in full, or a row per state file. Read-only: no lock, no provider.

export interface StateDirOption {
  /** Where the environments live; default TESTENV_VM_STATE_DIR, then .forge/testenv-vm under the rootDir. */
  stateDir?: string;
}

export async function environmentStatus(deps: Pick<EngineDeps, "env" | "rootDir">, testID: string, options: StateDirOption = {}): Promise<EnvironmentState> {
  validateTestID(testID);
  const store = storeFor(deps, options.stateDir);
  const state = await store.load(testID);
  if (!state) {
    throw new TestenvError("STATE_NOT_FOUND", `environment ${testID} not found in ${store.stateDir}; check the testID, or pass the stateDir it was created with (--state-dir or TESTENV_VM_STATE_DIR)`);
  }
  return state;
}

/** Every environment of the state dir; an unreadable state file is a row with its error, not a failure. */
export async function listEnvironments(deps: Pick<EngineDeps, "env" | "rootDir">, options: StateDirOption = {}): Promise<EnvironmentSummary[]> {
  const store = storeFor(deps, options.stateDir);
  const entries = await store.list();
  return entries.map(({ testID, state, error }) =>
    state ? summarize(state, store.statePath(testID)) : unreadableSummary(testID, store.statePath(testID), error?.message ?? "unreadable state"),
  );
}
