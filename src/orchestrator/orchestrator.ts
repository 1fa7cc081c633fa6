import { resolve } from "node:path";
import type { ConfigValidateOutput, CreateInput, DeleteInput, TestEnvArtifact } from "../../api/forge.js";
import type { VMState } from "../../api/provider.js";
import type { VMResource } from "../../api/spec.js";
import type { EnvironmentState, ResourceRecord } from "../../api/state.js";
import { createLogger, type Logger } from "../../lib/log.js";
import type { EnginePolicy } from "../provider/engine-policy.js";
import type { ProviderPool } from "../provider/pool.js";
import { createEnvironment, type CreateOptions } from "./create.js";
import type { Plan } from "../../api/plan.js";
import { planEnvironment } from "./plan.js";
import { runDoctor, type DoctorOptions, type DoctorReport } from "./doctor.js";
import { deleteEnvironment, type DeleteOptions, type DeleteResult } from "./delete.js";
import type { EngineDeps } from "./deps.js";
import type { ProgressListener } from "./progress.js";
import type { LiveStatus } from "./live-state.js";
import { liveEnvironmentStatus } from "./live-status.js";
import { liveVM, powerVM, restartVM, type LiveVM, type PowerAction, type PowerOptions } from "./power.js";
import { createRuntimeVM, deleteRuntimeVM } from "./runtime-vms.js";
import { environmentStatus, listEnvironments } from "./status.js";
import type { EnvironmentSummary } from "./summary.js";
import { validateSpec, type ValidateOptions } from "./validate.js";

// The engine's one entry point for the surfaces (CLI, MCP server, client library, vitest). A facade: it resolves
// its options once and hands them to the use case of each method (create.ts, delete.ts, status.ts, ...).

export { cleanupOnFailure } from "./create.js";
export type { CreateOptions } from "./create.js";
export type { DeleteOptions, DeleteResult } from "./delete.js";
export { planJson, planSummary, planSummaryText, planText } from "./plan-text.js";
export type { DoctorOptions, DoctorProvider, DoctorReport } from "./doctor.js";
export type { LiveVM, LiveVMStatus, PowerAction, PowerOptions } from "./power.js";
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
    };
  }

  /** Phase 1 only: parse, validate, build the DAG. Never spawns a provider. */
  validate(rawSpec: unknown, options: Pick<ValidateOptions, "env"> = {}): ConfigValidateOutput {
    const policy = this.#deps.enginePolicy;
    return validateSpec(rawSpec, { rootDir: this.#deps.rootDir, ...options, ...(policy === undefined ? {} : { enginePolicy: policy }) });
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
}

/** The part of the orchestrator the surfaces (MCP server, CLI) drive; tests can hand in a double. */
export type Engine = Pick<
  Orchestrator,
  "create" | "delete" | "validate" | "doctor" | "plan" | "status" | "list" | "liveStatus" | "vmPower" | "vmRestart" | "vmLive" | "createRuntimeVM" | "deleteRuntimeVM"
>;
