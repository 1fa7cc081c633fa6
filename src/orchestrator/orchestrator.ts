import { resolve } from "node:path";
import type { ConfigValidateOutput, CreateInput, DeleteInput, TestEnvArtifact } from "../../api/forge.js";
import type { VMState } from "../../api/provider.js";
import type { VMResource } from "../../api/spec.js";
import type { EnvironmentState, ResourceRecord } from "../../api/state.js";
import { createLogger, type Logger } from "../../lib/log.js";
import type { EnginePolicy } from "../provider/engine-policy.js";
import type { StateDirScope } from "../state/scope.js";
import type { ProviderPool } from "../provider/pool.js";
import { createEnvironment, type CreateOptions } from "./create.js";
import type { Plan } from "../../api/plan.js";
import { planEnvironment } from "./plan.js";
import { runDoctor, type DoctorOptions, type DoctorReport } from "./doctor.js";
import { deleteEnvironment, type DeleteOptions, type DeleteResult } from "./delete.js";
import { collectGarbage, type GcOptions, type GcReport } from "./gc.js";
import { startReaper, watchAndReap, type ReapResult, type ReaperTarget, type StartedReaper } from "./reaper.js";
import type { EngineDeps } from "./deps.js";
import type { ProgressListener } from "./progress.js";
import type { LiveStatus } from "./live-state.js";
import { liveEnvironmentStatus } from "./live-status.js";
import { liveVM, powerVM, restartVM, type LiveVM, type PowerAction, type PowerOptions } from "./power.js";
import { createRuntimeVM, deleteRuntimeVM } from "./runtime-vms.js";
import { deleteSnapshot, listSnapshots, restoreSnapshot, saveSnapshot, type EnvironmentSnapshot, type RestoredEnvironment, type SnapshotOptions } from "./snapshot.js";
import { environmentStatus, listEnvironments } from "./status.js";
import type { EnvironmentSummary } from "./summary.js";
import { validateSpecWithProviders, type ValidateOptions } from "./validate.js";

// The engine's one entry point for the surfaces (CLI, MCP server, client library, vitest). A facade: it resolves
// its options once and hands them to the use case of each method (create.ts, delete.ts, status.ts, ...).

export { cleanupOnFailure } from "./create.js";
export type { CreateOptions } from "./create.js";
export type { DeleteOptions, DeleteResult, ForgottenResource } from "./delete.js";
export { planJson, planSummary, planSummaryText, planText } from "./plan-text.js";
export type { DoctorOptions, DoctorProvider, DoctorReport } from "./doctor.js";
export { DEFAULT_GC_GRACE_MS } from "./gc.js";
export { stopReaper } from "./reaper.js";
export type { ReapResult, ReaperTarget, StartedReaper } from "./reaper.js";
export type { GcObject, GcOptions, GcProviderReport, GcReport, GcVerdict } from "./gc.js";
export type { LiveVM, LiveVMStatus, PowerAction, PowerOptions } from "./power.js";
export type { EnvironmentSnapshot, RestoredEnvironment, SnapshotOptions } from "./snapshot.js";
export type { Conflict, LiveResource, LiveState, LiveStatus, VMDrift, VMDriftField } from "./live-state.js";
export { hashSpec } from "./spec-hash.js";
export type { ProgressEvent, ProgressListener } from "./progress.js";

export interface OrchestratorOptions {
  /** Where relative paths (stateDir, engines, images) resolve when CreateInput.rootDir is absent. Default: cwd. */
  rootDir?: string;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Keep provider processes between operations (a long-lived MCP server); closed by the owner. */
  providerPool?: ProviderPool;
  /** Which `engine:` values a create may run (src/provider/engine-policy.ts); default any. */
  enginePolicy?: EnginePolicy;
  /** Which state dirs calls may reach (src/state/scope.ts); default any. */
  stateDirScope?: StateDirScope;
}

export class Orchestrator {
  readonly #deps: EngineDeps;

  constructor(options: OrchestratorOptions = {}) {
    this.#deps = {
      rootDir: resolve(options.rootDir ?? process.cwd()),
      env: options.env ?? process.env,
      log: options.log ?? createLogger(),
      ...(options.providerPool ? { providerPool: options.providerPool } : {}),
      ...(options.enginePolicy ? { enginePolicy: options.enginePolicy } : {}),
      ...(options.stateDirScope ? { stateDirScope: options.stateDirScope } : {}),
    };
  }

  /**
   * Phase 1 only: parse, validate, build the DAG, check each provider's config. Starts no provider; a provider this
   * package does not ship is asked for its config schema (`--config-schema`) when the spec is otherwise valid.
   */
  validate(rawSpec: unknown, options: Pick<ValidateOptions, "env"> = {}): Promise<ConfigValidateOutput> {
    const policy = this.#deps.enginePolicy;
    return validateSpecWithProviders(rawSpec, {
      rootDir: this.#deps.rootDir,
      engineLookup: { cwd: this.#deps.rootDir, env: this.#deps.env },
      log: this.#deps.log,
      ...options,
      ...(policy === undefined ? {} : { enginePolicy: policy }),
    });
  }

  /** Every provider found (bundled, on PATH, in the spec), checked in parallel in inspect mode; changes nothing. */
  doctor(options: DoctorOptions = {}): Promise<DoctorReport> {
    return runDoctor(this.#deps, options);
  }

  /**
   * What create would do with this input, without doing any of it: resources in phase order with their provider,
   * provider-level name, rendered request (placeholders for what exists only afterwards) and the provider's own
   * steps, and sha256 hashes. Same input, same host: the same bytes. `create(input, { plan })` applies it.
   */
  plan(rawInput: CreateInput): Promise<Plan> {
    return planEnvironment(this.#deps, rawInput);
  }

  create(rawInput: CreateInput, options: CreateOptions = {}): Promise<TestEnvArtifact> {
    return createEnvironment(this.#deps, rawInput, options);
  }

  delete(rawInput: DeleteInput, options: DeleteOptions = {}): Promise<DeleteResult> {
    return deleteEnvironment(this.#deps, rawInput, options);
  }

  /**
   * Objects whose environment is gone (no state file, or one marked destroyed), as each provider lists what it
   * made; with apply, removes those older than the grace period, VMs first. Never an object of a live environment
   * or one that records no environment.
   */
  gc(options: GcOptions = {}): Promise<GcReport> {
    return collectGarbage(this.#deps, options);
  }

  /**
   * Starts a detached watcher of `watchPid` (`testenv-vm reap`): when that process dies, the watcher deletes the
   * environment and gc's what is left of it. Stop it with stopReaper after a normal delete.
   */
  startReaper(target: ReaperTarget, watchPid: number): Promise<StartedReaper> {
    return startReaper(this.#deps, target, watchPid);
  }

  /** The watcher's work (in the reaper process): wait for the process to die, then delete and gc. */
  reap(target: ReaperTarget, watching: { pid: number; startTime: string }): Promise<ReapResult> {
    return watchAndReap(this.#deps, target, watching);
  }

  /** The state file as recorded; no provider is asked. */
  status(testID: string, options: { stateDir?: string } = {}): Promise<EnvironmentState> {
    return environmentStatus(this.#deps, testID, options);
  }

  /**
   * Each recorded resource's live state from its provider (`<kind>_get`) next to the recorded one: running,
   * stopped, present or missing, a VM's memory/vCPU drift, and every disagreement in words. Changes nothing.
   */
  liveStatus(testID: string, options: { stateDir?: string } = {}): Promise<LiveStatus> {
    return liveEnvironmentStatus(this.#deps, testID, options);
  }

  list(options: { stateDir?: string } = {}): Promise<EnvironmentSummary[]> {
    return listEnvironments(this.#deps, options);
  }

  /** Creates a VM in a ready environment at runtime; it is recorded in the state so delete removes it. */
  createRuntimeVM(testID: string, rawVm: VMResource, options: { stateDir?: string; onProgress?: ProgressListener } = {}): Promise<ResourceRecord> {
    return createRuntimeVM(this.#deps, testID, rawVm, options);
  }

  deleteRuntimeVM(testID: string, name: string, options: { stateDir?: string } = {}): Promise<void> {
    return deleteRuntimeVM(this.#deps, testID, name, options);
  }

  /** Starts or stops a VM of a ready environment (graceful stop with a timeout, then forced; the disk is kept). */
  vmPower(testID: string, vmName: string, action: PowerAction, options: PowerOptions = {}): Promise<VMState> {
    return powerVM(this.#deps, testID, vmName, action, options);
  }

  /** Stops a VM (graceful with a timeout, then forced) and starts it again, under one hold of the lock. */
  vmRestart(testID: string, vmName: string, options: PowerOptions = {}): Promise<VMState> {
    return restartVM(this.#deps, testID, vmName, options);
  }

  /** A VM's live state from its provider: running, stopped, or missing when the provider no longer has it. */
  vmLive(testID: string, vmName: string, options: { stateDir?: string } = {}): Promise<LiveVM> {
    return liveVM(this.#deps, testID, vmName, options);
  }

  /** Saves every VM of a ready environment (memory and disk) under a name; the VMs keep running. */
  snapshotSave(testID: string, name: string, options: SnapshotOptions = {}): Promise<EnvironmentSnapshot> {
    return saveSnapshot(this.#deps, testID, name, options);
  }

  /** Brings every VM back to a saved snapshot, running, with the same IPs and host keys. */
  snapshotRestore(testID: string, name: string, options: SnapshotOptions = {}): Promise<RestoredEnvironment> {
    return restoreSnapshot(this.#deps, testID, name, options);
  }

  snapshotList(testID: string, options: { stateDir?: string } = {}): Promise<EnvironmentSnapshot[]> {
    return listSnapshots(this.#deps, testID, options);
  }

  snapshotDelete(testID: string, name: string, options: { stateDir?: string } = {}): Promise<{ name: string; vms: string[] }> {
    return deleteSnapshot(this.#deps, testID, name, options);
  }
}

/** The part of the orchestrator the surfaces (MCP server, CLI) drive; tests can hand in a double. */
export type Engine = Pick<
  Orchestrator,
  "create" | "delete" | "gc" | "startReaper" | "reap" | "validate" | "doctor" | "plan" | "status" | "list" | "liveStatus" | "vmPower" | "vmRestart" | "vmLive" | "createRuntimeVM" | "deleteRuntimeVM"
  | "snapshotSave" | "snapshotRestore" | "snapshotList" | "snapshotDelete"
>;
