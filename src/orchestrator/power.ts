import type { OperationResult, VMState } from "../../api/provider.js";
import type { EnvironmentState, ResourceRecord } from "../../api/state.js";
import { TestenvError, type TestenvErrorCode } from "../errors.js";
import { validateTestID, type StateStore } from "../state/index.js";
import type { EngineDeps } from "./deps.js";
import { storeFor } from "./environment-store.js";
import { providersFor } from "./providers.js";

// Living VMs of an environment: their live state from the provider (vm_get), and start/stop through the
// provider's vm_start/vm_stop. One path for every provider that serves them (libvirt, stub, podman later).

export type PowerAction = "start" | "stop";

export interface PowerOptions {
  stateDir?: string;
  /** stop: how long the guest gets to power off before it is forced off (provider default 60 s). */
  timeoutSeconds?: number;
  /** stop: power off at once. */
  force?: boolean;
  /** start: wait for the VM's readiness checks again (default true). */
  waitReady?: boolean;
}

/** running / stopped as the provider reports them; missing when the state names a VM the provider no longer has. */
export type LiveVMStatus = "running" | "stopped" | "missing";

export interface LiveVM {
  status: LiveVMStatus;
  state?: VMState;
}

export async function loadEnvironment(store: StateStore, testID: string): Promise<EnvironmentState> {
  const state = await store.load(testID);
  if (!state) {
    throw new TestenvError("STATE_NOT_FOUND", `environment ${testID} not found in ${store.stateDir}; check the testID, or pass the stateDir it was created with`);
  }
  return state;
}

function vmRecord(state: EnvironmentState, vmName: string): ResourceRecord {
  const record = state.resources.vms[vmName];
  if (!record || record.status === "destroyed") {
    const names = Object.values(state.resources.vms).filter((r) => r.status !== "destroyed").map((r) => r.name);
    throw new TestenvError("NOT_FOUND", `vm ${vmName} is not in environment ${state.id}; its VMs: ${names.join(", ") || "none"}`, { details: { testID: state.id, vm: vmName } });
  }
  return record;
}

/** Runs one provider call for a VM of the environment, starting (and then closing) its provider. */
async function callForVM(deps: EngineDeps, state: EnvironmentState, record: ResourceRecord, tool: "vm_get" | "vm_start" | "vm_stop", args: Record<string, unknown>): Promise<OperationResult> {
  const config = state.providers.find((p) => p.name === record.provider);
  if (!config) throw new TestenvError("STATE_CORRUPT", `vm ${record.name}: its provider ${record.provider} is not recorded in the state of ${state.id}`);
  const providers = providersFor(deps, state, deps.log.child("power"));
  try {
    await providers.start([config]);
    return await providers.get(config.name).call(tool, { name: record.providerName, ...args });
  } finally {
    await providers.closeAll();
  }
}

export function providerError(result: OperationResult, what: string): TestenvError {
  const code = (result.error?.code ?? "PROVIDER_ERROR") as TestenvErrorCode;
  return new TestenvError(code, `${what}: ${code}: ${result.error?.message ?? "the provider gave no detail"}`, { retryable: result.error?.retryable ?? false });
}

const asVMState = (resource: unknown): VMState => (resource && typeof resource === "object" ? (resource as VMState) : { name: "", status: "unknown" });

/** The VM as its provider sees it now. */
export async function liveVM(deps: EngineDeps, testID: string, vmName: string, options: { stateDir?: string } = {}): Promise<LiveVM> {
  validateTestID(testID);
  const store = storeFor(deps, options.stateDir);
  const state = await loadEnvironment(store, testID);
  const record = vmRecord(state, vmName);
  const result = await callForVM(deps, state, record, "vm_get", {});
  if (!result.success) {
    if (result.error?.code === "NOT_FOUND") return { status: "missing" };
    throw providerError(result, `vm ${vmName} of ${testID}`);
  }
  const vm = asVMState(result.resource);
  return { status: vm.status === "running" ? "running" : "stopped", state: vm };
}

/** Options every surface may pass on unchecked: refused here, before the lock, so that nothing is changed. */
function checkPowerOptions(options: PowerOptions): void {
  const seconds = options.timeoutSeconds;
  if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 1 && seconds <= 3600)) {
    const message = `${String(seconds)} is not a whole number of seconds from 1 to 3600`;
    throw new TestenvError("INPUT_INVALID", `timeoutSeconds: ${message}`, { issues: [{ field: "timeoutSeconds", message }] });
  }
}

/** One power call on a VM of a ready environment, its new provider state recorded; the caller holds the lock. */
async function applyPower(deps: EngineDeps, store: StateStore, testID: string, vmName: string, action: PowerAction, options: PowerOptions): Promise<VMState> {
  const state = await loadEnvironment(store, testID);
  if (state.status !== "ready") throw new TestenvError("STATE_CONFLICT", `environment ${testID} is ${state.status}, not ready; only a ready environment's VMs can be started or stopped`);
  const record = vmRecord(state, vmName);
  const args =
    action === "start"
      ? { waitReady: options.waitReady ?? true }
      : { ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }), force: options.force ?? false };
  const result = await callForVM(deps, state, record, action === "start" ? "vm_start" : "vm_stop", args);
  if (!result.success) throw providerError(result, `${action} of vm ${vmName} in ${testID}`);
  const vm = asVMState(result.resource);
  // stopMethod describes one stop, not the VM: it is answered, never recorded (nor kept from an older record).
  const { stopMethod: _answerOnly, ...recorded } = vm;
  const { stopMethod: _stale, ...previous } = record.state ?? {};
  record.state = { ...previous, ...recorded };
  record.updatedAt = new Date().toISOString();
  await store.save(state);
  return vm;
}

/** Starts or stops a VM of a ready environment; the new provider state is recorded under the lock. */
export async function powerVM(deps: EngineDeps, testID: string, vmName: string, action: PowerAction, options: PowerOptions = {}): Promise<VMState> {
  validateTestID(testID);
  checkPowerOptions(options);
  const store = storeFor(deps, options.stateDir);
  return store.withLock(testID, () => applyPower(deps, store, testID, vmName, action, options));
}

/**
 * Stop, then start, under one hold of the lock (no other operation sees the VM half-way). The answer is the
 * started VM's state with the stop's `stopMethod`.
 */
export async function restartVM(deps: EngineDeps, testID: string, vmName: string, options: PowerOptions = {}): Promise<VMState> {
  validateTestID(testID);
  checkPowerOptions(options);
  const store = storeFor(deps, options.stateDir);
  return store.withLock(testID, async () => {
    const stopped = await applyPower(deps, store, testID, vmName, "stop", options);
    const started = await applyPower(deps, store, testID, vmName, "start", options);
    return { ...started, ...(stopped.stopMethod === undefined ? {} : { stopMethod: stopped.stopMethod }) };
  });
}
