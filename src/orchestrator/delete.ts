import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { DeleteInput } from "../../api/forge.js";
import type { ProviderConfig } from "../../api/spec.js";
import { TestenvError, errorMessage } from "../errors.js";
import { removeEmptyDirs } from "../../lib/durable-file.js";
import { createStateWriter, validateTestID, type StateStore } from "../state/index.js";
import type { EngineDeps } from "./deps.js";
import { findStoreForDelete } from "./environment-store.js";
import { collectGarbage, type GcReport } from "./gc.js";
import { deletePhases, planWithStrays, type DeletionOutcome } from "./executor.js";
import { parseInput, requireField } from "./input.js";
import type { ProgressListener } from "./progress.js";
import { providersFor } from "./providers.js";
import { releaseSubnets } from "./subnet-reservations.js";
import { hostPlacementLedger, PlacementLedger } from "./placement-ledger.js";
import { describeRecords, liveRecords } from "./summary.js";

export interface DeleteOptions {
  onProgress?: ProgressListener;
  stateDir?: string;
  /** When the state file cannot be read (STATE_CORRUPT): remove what the providers say is this environment's (gc). */
  force?: boolean;
  /** With force: the providers gc asks (a spec's); default as gc chooses. */
  providers?: readonly ProviderConfig[];
  /**
   * A user's `delete --force`: when every resource left failed because its provider or the host it runs them on
   * could not be reached, forget them (the state goes) and name each one and where it may remain. Not for the
   * reaper: an unreachable host there is a reason to try again later.
   */
  forgetUnreachable?: boolean;
}

/** A resource delete --force forgot: it may still exist at `where`. */
export interface ForgottenResource {
  kind: string;
  name: string;
  providerName: string;
  where: string;
}

export interface DeleteResult {
  deleted: number;
  /** No state was found: nothing to do (delete is idempotent). */
  alreadyGone: boolean;
  stateDir?: string;
  /** When alreadyGone: every state dir looked in, so a caller can tell a gone environment apart from a wrong state dir. */
  searched?: string[];
  /** delete --force of a corrupt state: what gc found and removed, and where the unreadable file was moved. */
  forced?: { reason: string; gc: GcReport; stateFileMovedTo: string };
  /** delete --force of an environment whose provider or host could not be reached: what may remain, and where. */
  forgotten?: ForgottenResource[];
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
  let result: DeleteResult;
  try {
    result = await store.withLock(testID, (): Promise<DeleteResult> => deleteLocked(deps, store, testID, options));
  } catch (error) {
    if (options.force !== true || !(error instanceof TestenvError) || error.code !== "STATE_CORRUPT") throw error;
    return deleteByGc(deps, store, testID, error, options);
  }
  // Outside the lock, whose own directory is in state/: leave no empty state dirs behind the last environment.
  if (!result.alreadyGone) await removeEmptyDirs(store.emptyDirsToPrune());
  return result;
}

/**
 * The state file cannot be trusted, so the providers are asked instead: gc removes every object recorded as this
 * environment's. Only when all providers answered and everything went is the unreadable file moved aside (kept,
 * never overwritten, out of the way of the next create).
 */
async function deleteByGc(deps: EngineDeps, store: StateStore, testID: string, corrupt: TestenvError, options: DeleteOptions): Promise<DeleteResult> {
  const stateFile = store.statePath(testID);
  deps.log.warn(`delete ${testID} --force: ${corrupt.message}; asking the providers what is left (gc --id ${testID})`);
  const gc = await collectGarbage(deps, { apply: true, olderThanMs: 0, testID, stateDir: store.stateDir, distrustStateOf: testID, ...(options.providers ? { providers: options.providers } : {}) });
  const silent = gc.providers.filter((p) => p.answer !== "ok");
  const failed = gc.objects.filter((o) => o.error !== undefined);
  if (failed.length > 0 || silent.length > 0) {
    const why = [...failed.map((o) => `${o.kind} ${o.name}: ${o.error ?? ""}`), ...silent.map((p) => `provider ${p.name} could not be asked (${p.answer}${p.error !== undefined ? `: ${p.error}` : ""})`)];
    throw new TestenvError("DELETE_INCOMPLETE", `delete --force of ${testID} is incomplete: ${gc.removed} object(s) removed, but ${why.join("; ")}. The unreadable state file ${stateFile} is kept`, {
      details: { stateFile, gc },
    });
  }
  const movedTo = `${stateFile}.corrupt-${Date.now()}`;
  await rename(stateFile, movedTo);
  // The registry a create used is in the state it wrote; without it, the state dir's default one is freed.
  await releaseSubnets(store.stateDir, testID).catch(() => undefined);
  deps.log.info(`delete ${testID} --force: ${gc.removed} object(s) removed by gc; the unreadable state file is now ${movedTo}`);
  return { deleted: gc.removed, alreadyGone: false, stateDir: store.stateDir, forced: { reason: corrupt.message, gc, stateFileMovedTo: movedTo } };
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
      const forgotten = options.forgetUnreachable === true && outcome.remaining.length > 0 && outcome.unreached.length === outcome.remaining.length ? forget(outcome.unreached) : undefined;
      if (forgotten) log.warn(`delete ${testID} --force: forgetting ${forgotten.length} resource(s) that could not be reached; they may remain: ${forgotten.map(describeForgotten).join("; ")}`);
      else if (outcome.remaining.length > 0) {
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
      if (state.placements !== undefined) await new PlacementLedger(hostPlacementLedger(deps.env)).release(testID, stateDir).catch(() => undefined);
      log.info(`delete ${testID}: ${outcome.deleted.length} resource(s) deleted, state removed`);
      return { deleted: outcome.deleted.length, alreadyGone: false, stateDir, ...(forgotten ? { forgotten } : {}) };
    } finally {
      await providers.closeAll();
    }
  }
}

function forget(unreached: DeletionOutcome["unreached"]): ForgottenResource[] {
  return unreached.map(({ record, where }) => ({ kind: record.kind, name: record.name, providerName: record.providerName, where }));
}

function describeForgotten(resource: ForgottenResource): string {
  return `${resource.kind} ${resource.name} (${resource.providerName}) on ${resource.where}`;
}
