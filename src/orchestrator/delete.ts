import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { DeleteInput } from "../../api/forge.js";
import { TestenvError, errorMessage } from "../errors.js";
import { removeEmptyDirs } from "../../lib/durable-file.js";
import { createStateWriter, validateTestID, type StateStore } from "../state/index.js";
import type { EngineDeps } from "./deps.js";
import { findStoreForDelete } from "./environment-store.js";
import { deletePhases, planWithStrays } from "./executor.js";
import { parseInput, requireField } from "./input.js";
import type { ProgressListener } from "./progress.js";
import { providersFor } from "./providers.js";
import { releaseSubnets } from "./subnet-reservations.js";
import { describeRecords, liveRecords } from "./summary.js";

export interface DeleteOptions {
  onProgress?: ProgressListener;
  stateDir?: string;
}

export interface DeleteResult {
  deleted: number;
  /** No state was found: nothing to do (delete is idempotent). */
  alreadyGone: boolean;
  stateDir?: string;
  /** When alreadyGone: every state dir looked in, so a caller can tell a gone environment apart from a wrong state dir. */
  searched?: string[];
}

/**
 * Deletes every recorded resource in reverse phase order, then the state file, the artifact dir and the subnet
 * reservations. What could not be deleted stays recorded, and the error names it: running delete again retries.
 */
export async function deleteEnvironment(deps: EngineDeps, rawInput: DeleteInput, options: DeleteOptions = {}): Promise<DeleteResult> {
  const input = parseInput(DeleteInput, rawInput, "delete");
  requireField(input.testID, "testID");
  validateTestID(input.testID);
  const testID = input.testID;
  const { store, searched } = findStoreForDelete(deps, testID, input, options.stateDir);
  if (!store) {
    deps.log.warn(`delete ${testID}: no state found in ${searched.join(", ")}; nothing to delete`);
    return { deleted: 0, alreadyGone: true, searched };
  }
  const result = await store.withLock(testID, (): Promise<DeleteResult> => deleteLocked(deps, store, testID, options));
  // Outside the lock, whose own directory is in state/: leave no empty state dirs behind the last environment.
  if (!result.alreadyGone) await removeEmptyDirs(store.emptyDirsToPrune());
  return result;
}

async function deleteLocked(deps: EngineDeps, store: StateStore, testID: string, options: DeleteOptions): Promise<DeleteResult> {
  const stateDir = store.stateDir;
  {
    const state = await store.load(testID);
    if (!state) return { deleted: 0, alreadyGone: true, stateDir, searched: [stateDir] };
    const log = existsSync(state.artifactDir) ? deps.log.withFile(join(state.artifactDir, "testenv-vm.log")) : deps.log;
    state.status = "destroying";
    await store.save(state);
    planWithStrays(state);
    const needed = new Set(liveRecords(state).map((r) => r.provider));
    // The project dir may be gone by now (a CI workspace); engines are then resolved from the state dir.
    const cwd = existsSync(state.rootDir) ? state.rootDir : stateDir;
    if (cwd !== state.rootDir) log.warn(`delete ${testID}: rootDir ${state.rootDir} no longer exists; starting providers from ${cwd}`);
    const providers = providersFor(deps, state, log, cwd);
    const unavailable = new Map<string, string>();
    try {
      for (const config of state.providers.filter((p) => needed.has(p.name))) {
        await providers.start([config]).catch((error: unknown) => {
          unavailable.set(config.name, errorMessage(error));
          log.error(`delete ${testID}: provider ${config.name} did not start: ${errorMessage(error)}`);
        });
      }
      const writer = createStateWriter(store, () => state);
      const outcome = await deletePhases({ state, providers, operation: "delete", persist: () => writer.write(), log, unavailable, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
      if (outcome.remaining.length > 0) {
        state.status = "failed";
        await writer.write();
        throw new TestenvError(
          "DELETE_INCOMPLETE",
          `delete of ${testID} is incomplete: ${outcome.remaining.length} resource(s) are left: ${describeRecords(outcome.remaining)}. The state file ${store.statePath(testID)} keeps them; fix the cause and run delete again`,
          { details: { remaining: outcome.remaining.map((r) => ({ kind: r.kind, name: r.name, providerName: r.providerName, error: r.error })) } },
        );
      }
      await writer.write();
      await store.remove(testID);
      await rm(state.artifactDir, { recursive: true, force: true });
      await releaseSubnets(stateDir, testID, { registry: state.subnetRegistry }).catch(() => undefined);
      log.info(`delete ${testID}: ${outcome.deleted.length} resource(s) deleted, state removed`);
      return { deleted: outcome.deleted.length, alreadyGone: false, stateDir };
    } finally {
      await providers.closeAll();
    }
  }
}
