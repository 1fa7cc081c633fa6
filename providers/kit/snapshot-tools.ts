import {
  VMSnapshotDeleteRequest,
  VMSnapshotListRequest,
  VMSnapshotRestoreRequest,
  VMSnapshotSaveRequest,
  type SnapshotToolName,
  type VMSnapshotListResult,
  type VMSnapshotRestoreResult,
  type VMSnapshotSaveResult,
} from "../../api/snapshot.js";
import { ProviderError } from "./errors.js";
import type { HandlerToolDefinition } from "./machine-tools.js";

// The optional snapshot tools (vm_snapshot_*): served for a provider whose implementation has `snapshots`, and like
// the other optional tools not listed (tools/list keeps the protocol's 15); any other provider answers
// NOT_IMPLEMENTED with a message that says what is missing.

/** What a provider that saves and restores running VMs (memory and disk) implements. */
export interface SnapshotHandlers {
  save(request: VMSnapshotSaveRequest): Promise<VMSnapshotSaveResult>;
  restore(request: VMSnapshotRestoreRequest): Promise<VMSnapshotRestoreResult>;
  list(request: VMSnapshotListRequest): Promise<VMSnapshotListResult>;
  /** NOT_FOUND when the VM has no snapshot of that name. */
  delete(request: VMSnapshotDeleteRequest): Promise<void>;
}

export type SnapshotToolDefinition = HandlerToolDefinition<SnapshotHandlers>;

export const SNAPSHOT_TOOL_DEFINITIONS: Readonly<Record<SnapshotToolName, SnapshotToolDefinition>> = {
  vm_snapshot_save: {
    description: "Save a running VM's memory and disk state under a name; the VM keeps running. ALREADY_EXISTS unless overwrite.",
    input: VMSnapshotSaveRequest,
    destructive: false,
    readOnly: false,
    idempotent: false,
    run: (h, args) => h.save(args as VMSnapshotSaveRequest),
  },
  vm_snapshot_restore: {
    description: "Bring a VM back to a saved snapshot (memory and disk), running, with the same MAC, IP and host key; waitReady (default) waits for its readiness checks.",
    input: VMSnapshotRestoreRequest,
    destructive: true,
    readOnly: false,
    idempotent: true,
    run: (h, args) => h.restore(args as VMSnapshotRestoreRequest),
  },
  vm_snapshot_list: {
    description: "The snapshots a VM has, oldest first.",
    input: VMSnapshotListRequest,
    destructive: false,
    readOnly: true,
    idempotent: true,
    run: (h, args) => h.list(args as VMSnapshotListRequest),
  },
  vm_snapshot_delete: {
    description: "Remove one snapshot of a VM and its files. NOT_FOUND when there is none of that name.",
    input: VMSnapshotDeleteRequest,
    destructive: true,
    readOnly: false,
    idempotent: true,
    run: async (h, args) => {
      await h.delete(args as VMSnapshotDeleteRequest);
      return undefined;
    },
  },
};

export function isSnapshotTool(name: string): name is SnapshotToolName {
  return Object.hasOwn(SNAPSHOT_TOOL_DEFINITIONS, name);
}

/** The answer of a provider without snapshots, for every vm_snapshot_* tool. */
export function snapshotsNotImplemented(tool: string, reason?: string): ProviderError {
  return new ProviderError("NOT_IMPLEMENTED", `${tool} is not implemented by this provider: ${reason ?? "it cannot save a running VM's memory and disk state"}`);
}
