import { ProviderErrorCode } from "../../api/errors.js";
import type { EnvironmentState } from "../../api/state.js";
import type { Logger } from "../../lib/log.js";
import { TestenvError, type TestenvErrorCode } from "../errors.js";
import type { ProviderManager } from "../provider/manager.js";
import type { StateStore } from "../state/index.js";
import { deletePhases, type ResourceFailure } from "./executor.js";
import { safeEmit, type ProgressListener } from "./progress.js";
import { releaseSubnets } from "./subnet-reservations.js";
import { describeRecords, liveRecords } from "./summary.js";

// What happens when a create fails part-way: roll back (unless cleanup on failure is off), then one error that says
// what failed and what is left.

/** A provider's code reaches the user unchanged; anything else is a CREATE_FAILED. */
export function createErrorCode(code: string): TestenvErrorCode {
  if (code === "CANCELLED") return "CANCELLED";
  const parsed = ProviderErrorCode.safeParse(code);
  return parsed.success ? parsed.data : "CREATE_FAILED";
}

export interface FailedCreate {
  state: EnvironmentState;
  store: StateStore;
  failures: ResourceFailure[];
  providers: ProviderManager;
  /** Roll back what was created; false keeps it for debugging. */
  cleanup: boolean;
  persist: () => Promise<void>;
  log: Logger;
  onProgress?: ProgressListener;
}

interface RollbackOutcome {
  report: { deleted: string[]; remaining: string[]; skipped: boolean };
  summary: string;
}

const names = (records: ReadonlyArray<{ kind: string; name: string }>): string[] => records.map((r) => `${r.kind} ${r.name}`);

async function rollBack(failed: FailedCreate): Promise<RollbackOutcome> {
  const { state, providers, persist, log, onProgress } = failed;
  state.status = "destroying";
  await persist();
  safeEmit(onProgress, { kind: "rollback", status: "start", message: "rolling back what was created" });
  const outcome = await deletePhases({ state, providers, operation: "rollback", persist, log, ...(onProgress ? { onProgress } : {}) });
  state.status = "failed";
  if (outcome.remaining.length === 0) await releaseSubnets(state.stateDir, state.id, { registry: state.subnetRegistry }).catch(() => undefined);
  return {
    report: { deleted: names(outcome.deleted), remaining: names(outcome.remaining), skipped: false },
    summary:
      outcome.remaining.length === 0
        ? `rollback: deleted ${outcome.deleted.length} resource(s); nothing is left`
        : `rollback: ${outcome.remaining.length} resource(s) could not be deleted: ${describeRecords(outcome.remaining)}; run delete for ${state.id} to retry`,
  };
}

function keepForDebugging(state: EnvironmentState): RollbackOutcome {
  const kept = liveRecords(state);
  return {
    report: { deleted: [], remaining: names(kept), skipped: true },
    summary: `rollback skipped (cleanup on failure is off): ${kept.length} resource(s) kept for debugging; remove them with delete for ${state.id}`,
  };
}

/** Marks the environment failed, rolls back or keeps, saves, and returns the error the create throws. */
export async function failCreate(failed: FailedCreate): Promise<TestenvError> {
  const { state, failures } = failed;
  state.status = "failed";
  const cause = failures.map((f) => f.message).join("\n");
  const rollback = failed.cleanup ? await rollBack(failed) : keepForDebugging(state);
  await failed.persist();
  failed.log.error(`create ${state.id} failed: ${cause}; ${rollback.summary}`);
  const first = failures[0];
  return new TestenvError(first ? createErrorCode(first.code) : "CREATE_FAILED", `create of ${state.id} failed: ${cause}\n${rollback.summary}`, {
    details: { failures: failures.map((f) => ({ resource: f.ref, code: f.code, message: f.message })), rollback: rollback.report, stateFile: failed.store.statePath(state.id) },
  });
}
