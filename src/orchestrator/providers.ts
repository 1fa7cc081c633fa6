import type { EnvironmentState } from "../../api/state.js";
import type { Logger } from "../../lib/log.js";
import { ProviderManager } from "../provider/manager.js";
import type { EngineDeps } from "./deps.js";

type ProviderFacts = Pick<EnvironmentState, "id" | "prefix" | "artifactDir" | "stateDir" | "rootDir">;

/** What a provider process learns of the environment it serves. */
function providerEnv(state: ProviderFacts): Record<string, string> {
  return {
    TESTENV_VM_TEST_ID: state.id,
    TESTENV_VM_NAME_PREFIX: state.prefix,
    TESTENV_VM_ARTIFACT_DIR: state.artifactDir,
    TESTENV_VM_STATE_DIR: state.stateDir,
  };
}

/**
 * The provider manager of one operation on an environment (none started yet). Engines resolve from cwd, by
 * default the environment's rootDir; the owner's pool, when there is one, keeps the processes afterwards.
 */
export function providersFor(deps: EngineDeps, state: ProviderFacts, log: Logger, cwd: string = state.rootDir): ProviderManager {
  return new ProviderManager({ cwd, env: providerEnv(state), artifactDir: state.artifactDir, log, ...(deps.providerPool ? { pool: deps.providerPool } : {}) });
}

/**
 * Providers for a plan: the same environment as a create's (so they answer about the same names and dirs), in
 * inspect mode, with no log file and no pool: starting them leaves nothing behind.
 */
export function inspectingProvidersFor(facts: ProviderFacts, log: Logger, cwd: string = facts.rootDir): ProviderManager {
  // A plan's providers may start no command either (lib/run.ts refuses then, on their stderr).
  return new ProviderManager({ cwd, env: { ...providerEnv(facts), TESTENV_VM_PROVIDER_MODE: "inspect", TESTENV_VM_FORBID_EXEC: "1" }, log });
}
