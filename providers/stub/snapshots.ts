import type { VMState } from "../../api/provider.js";
import type { SnapshotInfo, VMSnapshotDeleteRequest, VMSnapshotListRequest, VMSnapshotRestoreRequest, VMSnapshotSaveRequest } from "../../api/snapshot.js";
import { ProviderError, alreadyExists, notFound, type SnapshotHandlers } from "../kit/index.js";
import type { StubData, StubSnapshot, StubStore } from "./store.js";

// Snapshots on the stub: a copy of the VM's record taken at save and put back at restore, so the engine and every
// surface can be tested without a hypervisor. Only a running VM is saved, as on libvirt.

const keyOf = (vm: string, snapshot: string): string => `${vm}/${snapshot}`;

function existingVM(data: StubData, name: string): VMState {
  const vm = data.vms[name];
  if (vm === undefined) throw notFound("vm", name);
  return vm;
}

function snapshotOf(data: StubData, vm: string, snapshot: string): StubSnapshot {
  const found = data.snapshots[keyOf(vm, snapshot)];
  if (found === undefined) {
    throw new ProviderError("NOT_FOUND", `vm "${vm}" has no snapshot "${snapshot}"`, { details: { vm, snapshot } });
  }
  return found;
}

function snapshotsOfVM(data: StubData, vm: string): StubSnapshot[] {
  return Object.values(data.snapshots)
    .filter((entry) => entry.info.vm === vm)
    .sort((a, b) => a.info.createdAt.localeCompare(b.info.createdAt) || a.info.snapshot.localeCompare(b.info.snapshot));
}

/** Removes every snapshot of a VM (its delete takes them along). */
export function dropSnapshotsOf(data: StubData, vm: string): void {
  for (const entry of snapshotsOfVM(data, vm)) delete data.snapshots[keyOf(vm, entry.info.snapshot)];
}

export function createStubSnapshots(store: StubStore): SnapshotHandlers {
  return {
    save: (request: VMSnapshotSaveRequest) =>
      store.transact((data) => {
        const vm = existingVM(data, request.name);
        if (vm.status !== "running") {
          throw new ProviderError("RESOURCE_BUSY", `vm "${request.name}" is ${vm.status}; only a running VM is saved with its memory`);
        }
        const key = keyOf(request.name, request.snapshot);
        if (data.snapshots[key] !== undefined && !request.overwrite) throw alreadyExists("snapshot", key);
        const info: SnapshotInfo = { snapshot: request.snapshot, vm: request.name, createdAt: new Date().toISOString(), method: "record" };
        data.snapshots[key] = { info, vm: structuredClone(vm) };
        return { snapshot: info, vm };
      }),
    restore: (request: VMSnapshotRestoreRequest) =>
      store.transact((data) => {
        existingVM(data, request.name);
        const saved = snapshotOf(data, request.name, request.snapshot);
        const vm = { ...structuredClone(saved.vm), status: "running" };
        data.vms[request.name] = vm;
        return { snapshot: saved.info, vm };
      }),
    list: (request: VMSnapshotListRequest) =>
      store.transact((data) => {
        existingVM(data, request.name);
        return { snapshots: snapshotsOfVM(data, request.name).map((entry) => entry.info) };
      }),
    delete: (request: VMSnapshotDeleteRequest) =>
      store.transact((data) => {
        snapshotOf(data, request.name, request.snapshot);
        delete data.snapshots[keyOf(request.name, request.snapshot)];
      }),
  };
}
