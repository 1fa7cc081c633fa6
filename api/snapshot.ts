import { z } from "zod";
import { VMState } from "./provider.js";

// Snapshots of a running VM with its memory and disk state (issue 14, the warm path). Optional provider tools,
// served and not listed like provider_plan: a provider that does not implement them answers NOT_IMPLEMENTED.

export const SNAPSHOT_TOOLS = ["vm_snapshot_save", "vm_snapshot_restore", "vm_snapshot_list", "vm_snapshot_delete"] as const;
export type SnapshotToolName = (typeof SNAPSHOT_TOOLS)[number];

/** A snapshot name: it becomes part of file and libvirt object names, so it stays a plain token. */
export const SnapshotName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "a snapshot name is 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit");
export type SnapshotName = z.infer<typeof SnapshotName>;

export const VMSnapshotSaveRequest = z.strictObject({
  name: z.string().min(1),
  snapshot: SnapshotName,
  /** Replace a snapshot of that name (ALREADY_EXISTS otherwise). */
  overwrite: z.boolean().default(false),
});
export type VMSnapshotSaveRequest = z.infer<typeof VMSnapshotSaveRequest>;

export const VMSnapshotRestoreRequest = z.strictObject({
  name: z.string().min(1),
  snapshot: SnapshotName,
  /** Wait until the restored VM answers its readiness checks (SSH, TCP) again. */
  waitReady: z.boolean().default(true),
});
export type VMSnapshotRestoreRequest = z.infer<typeof VMSnapshotRestoreRequest>;

export const VMSnapshotListRequest = z.strictObject({ name: z.string().min(1) });
export type VMSnapshotListRequest = z.infer<typeof VMSnapshotListRequest>;

export const VMSnapshotDeleteRequest = z.strictObject({ name: z.string().min(1), snapshot: SnapshotName });
export type VMSnapshotDeleteRequest = z.infer<typeof VMSnapshotDeleteRequest>;

export const SnapshotInfo = z.looseObject({
  /** The snapshot's name, as given to vm_snapshot_save. */
  snapshot: z.string(),
  /** The provider-level VM name. */
  vm: z.string(),
  createdAt: z.string(),
  /** How the provider keeps it, e.g. "managed-save+qcow2-internal" (libvirt), "record" (stub). */
  method: z.string(),
  /** Bytes on disk the snapshot takes, when the provider can tell. */
  sizeBytes: z.number().int().nonnegative().optional(),
});
export type SnapshotInfo = z.infer<typeof SnapshotInfo>;

/** vm_snapshot_save's answer. */
export const VMSnapshotSaveResult = z.object({ snapshot: SnapshotInfo, vm: VMState });
export type VMSnapshotSaveResult = z.infer<typeof VMSnapshotSaveResult>;

/** vm_snapshot_restore's answer: the VM as it runs again (same MAC, IP and host key as when it was saved). */
export const VMSnapshotRestoreResult = z.object({ snapshot: SnapshotInfo, vm: VMState });
export type VMSnapshotRestoreResult = z.infer<typeof VMSnapshotRestoreResult>;

export const VMSnapshotListResult = z.object({ snapshots: z.array(SnapshotInfo) });
export type VMSnapshotListResult = z.infer<typeof VMSnapshotListResult>;
