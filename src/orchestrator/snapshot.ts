import type { VMState } from "../../api/provider.js";
import { SnapshotName, VMSnapshotListResult, VMSnapshotRestoreResult, VMSnapshotSaveResult, type SnapshotInfo, type SnapshotToolName } from "../../api/snapshot.js";
import type { EnvironmentState, ResourceRecord } from "../../api/state.js";
import { TestenvError } from "../errors.js";
import type { ProviderManager } from "../provider/manager.js";
import { validateTestID } from "../state/index.js";
import type { EngineDeps } from "./deps.js";
import { storeFor } from "./environment-store.js";
import { loadEnvironment, providerError } from "./power.js";
import { providersFor } from "./providers.js";

// Snapshots of a ready environment (issue 14, the warm path): every VM saved with its memory and disk under one
// name, and brought back to exactly that state. The providers keep the snapshots with their VMs (a VM's delete
// removes its snapshots), so the state file records none; list asks the providers.

export interface SnapshotOptions {
  stateDir?: string;
  /** save: replace a snapshot of the same name. */
  overwrite?: boolean;
  /** restore: wait for each VM's readiness checks (default true). */
  waitReady?: boolean;
}

/** One snapshot of the environment: the name and each VM's part of it. */
export interface EnvironmentSnapshot {
  name: string;
  /** Logical VM name → the provider's record of its part. */
  vms: Record<string, SnapshotInfo>;
}

export interface RestoredEnvironment {
  name: string;
  /** Logical VM name → its state after the restore (same MAC, IP and host key as at save). */
  vms: Record<string, VMState>;
}

function checkName(name: string): string {
  const parsed = SnapshotName.safeParse(name);
  if (!parsed.success) {
    const message = parsed.error.issues[0]?.message ?? "not a snapshot name";
    throw new TestenvError("INPUT_INVALID", `snapshot name "${name}": ${message}`, { issues: [{ field: "name", message }] });
  }
  return parsed.data;
}

function liveVMs(state: EnvironmentState): ResourceRecord[] {
  const vms = Object.values(state.resources.vms).filter((record) => record.status !== "destroyed");
  if (vms.length === 0) throw new TestenvError("STATE_CONFLICT", `environment ${state.id} has no VM to snapshot`);
  return vms;
}

function requireReady(state: EnvironmentState, verb: string): void {
  if (state.status !== "ready") throw new TestenvError("STATE_CONFLICT", `environment ${state.id} is ${state.status}, not ready; only a ready environment can be ${verb}`);
}

/** Runs `work` with the providers of the environment's VMs started, and closes them afterwards. */
async function withVMProviders<T>(deps: EngineDeps, state: EnvironmentState, vms: readonly ResourceRecord[], work: (providers: ProviderManager) => Promise<T>): Promise<T> {
  const names = new Set(vms.map((vm) => vm.provider));
  const configs = state.providers.filter((config) => names.has(config.name));
  for (const name of names) {
    if (!configs.some((config) => config.name === name)) throw new TestenvError("STATE_CORRUPT", `provider ${name} of a VM is not recorded in the state of ${state.id}`);
  }
  const providers = providersFor(deps, state, deps.log.child("snapshot"));
  try {
    await providers.start(configs);
    return await work(providers);
  } finally {
    await providers.closeAll();
  }
}

/** One snapshot tool call for one VM; the provider's refusal (NOT_IMPLEMENTED, NOT_FOUND, ...) keeps its code. */
async function callSnapshotTool(providers: ProviderManager, vm: ResourceRecord, tool: SnapshotToolName, args: Record<string, unknown>, what: string): Promise<unknown> {
  const result = await providers.get(vm.provider).call(tool, { name: vm.providerName, ...args });
  if (!result.success) throw providerError(result, `${what} of vm ${vm.name} (provider ${vm.provider})`);
  return result.resource;
}

function decode<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new TestenvError("PROVIDER_ERROR", `${what}: the provider's answer is not the protocol's shape`);
  return parsed.data;
}

/** Saves every VM of a ready environment under `name`; a save that fails half-way removes the parts it made. */
export async function saveSnapshot(deps: EngineDeps, testID: string, name: string, options: SnapshotOptions = {}): Promise<EnvironmentSnapshot> {
  validateTestID(testID);
  const snapshot = checkName(name);
  const store = storeFor(deps, options.stateDir);
  return store.withLock(testID, async () => {
    const state = await loadEnvironment(store, testID);
    requireReady(state, "saved");
    const vms = liveVMs(state);
    return withVMProviders(deps, state, vms, async (providers) => {
      const saved: Record<string, SnapshotInfo> = {};
      try {
        // One after the other: each save writes a guest's whole memory, and the disk is the bottleneck.
        for (const vm of vms) {
          const answer = await callSnapshotTool(providers, vm, "vm_snapshot_save", { snapshot, overwrite: options.overwrite ?? false }, `snapshot save "${snapshot}"`);
          saved[vm.name] = decode(VMSnapshotSaveResult, answer, `snapshot save of vm ${vm.name}`).snapshot;
        }
      } catch (error) {
        if (options.overwrite !== true) await removeParts(providers, vms.filter((vm) => vm.name in saved), snapshot, deps);
        throw error;
      }
      return { name: snapshot, vms: saved };
    });
  });
}

async function removeParts(providers: ProviderManager, vms: readonly ResourceRecord[], snapshot: string, deps: EngineDeps): Promise<void> {
  for (const vm of vms) {
    await callSnapshotTool(providers, vm, "vm_snapshot_delete", { snapshot }, `snapshot delete "${snapshot}"`).catch((error: unknown) => {
      deps.log.warn(`snapshot "${snapshot}" of vm ${vm.name} is left after the failed save: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}

/** Brings every VM back to snapshot `name` (in parallel) and records their states. */
export async function restoreSnapshot(deps: EngineDeps, testID: string, name: string, options: SnapshotOptions = {}): Promise<RestoredEnvironment> {
  validateTestID(testID);
  const snapshot = checkName(name);
  const store = storeFor(deps, options.stateDir);
  return store.withLock(testID, async () => {
    const state = await loadEnvironment(store, testID);
    requireReady(state, "restored");
    const vms = liveVMs(state);
    const restored = await withVMProviders(deps, state, vms, (providers) =>
      Promise.all(
        vms.map(async (vm) => {
          const answer = await callSnapshotTool(providers, vm, "vm_snapshot_restore", { snapshot, waitReady: options.waitReady ?? true }, `snapshot restore "${snapshot}"`);
          return [vm, decode(VMSnapshotRestoreResult, answer, `snapshot restore of vm ${vm.name}`).vm] as const;
        }),
      ),
    );
    const now = new Date().toISOString();
    for (const [record, vmState] of restored) {
      record.state = { ...record.state, ...vmState };
      record.updatedAt = now;
    }
    await store.save(state);
    return { name: snapshot, vms: Object.fromEntries(restored.map(([record, vmState]) => [record.name, vmState])) };
  });
}

/** The environment's snapshots: a name is listed when at least one VM has it; `vms` says which. */
export async function listSnapshots(deps: EngineDeps, testID: string, options: Pick<SnapshotOptions, "stateDir"> = {}): Promise<EnvironmentSnapshot[]> {
  validateTestID(testID);
  const store = storeFor(deps, options.stateDir);
  const state = await loadEnvironment(store, testID);
  const vms = liveVMs(state);
  const byName = new Map<string, EnvironmentSnapshot>();
  await withVMProviders(deps, state, vms, async (providers) => {
    for (const vm of vms) {
      const answer = await callSnapshotTool(providers, vm, "vm_snapshot_list", {}, "snapshot list");
      for (const info of decode(VMSnapshotListResult, answer, `snapshot list of vm ${vm.name}`).snapshots) {
        const entry = byName.get(info.snapshot) ?? { name: info.snapshot, vms: {} };
        entry.vms[vm.name] = info;
        byName.set(info.snapshot, entry);
      }
    }
  });
  return [...byName.values()];
}

/** Removes snapshot `name` from every VM that has it; NOT_FOUND when none has. */
export async function deleteSnapshot(deps: EngineDeps, testID: string, name: string, options: Pick<SnapshotOptions, "stateDir"> = {}): Promise<{ name: string; vms: string[] }> {
  validateTestID(testID);
  const snapshot = checkName(name);
  const store = storeFor(deps, options.stateDir);
  return store.withLock(testID, async () => {
    const state = await loadEnvironment(store, testID);
    const vms = liveVMs(state);
    const removed: string[] = [];
    await withVMProviders(deps, state, vms, async (providers) => {
      for (const vm of vms) {
        const result = await providers.get(vm.provider).call("vm_snapshot_delete", { name: vm.providerName, snapshot });
        if (result.success) removed.push(vm.name);
        else if (result.error?.code !== "NOT_FOUND") throw providerError(result, `snapshot delete "${snapshot}" of vm ${vm.name}`);
      }
    });
    if (removed.length === 0) throw new TestenvError("NOT_FOUND", `environment ${testID} has no snapshot "${snapshot}"`, { details: { testID, snapshot } });
    return { name: snapshot, vms: removed };
  });
}
