import type { ToolDefinition } from "../tool.js";
import { DEFAULT_SNAPSHOT, SnapshotRestoreInput, parseSnapshotArgs, stateDirOption } from "./snapshot-args.js";

export const snapshotRestoreTool: ToolDefinition = {
  name: "snapshot-restore",
  title: "Restore an environment to a snapshot",
  description:
    "Bring every VM of a ready environment back to a snapshot saved with snapshot-save (memory and disk), running, " +
    "and wait until each is ready again (unless waitReady is false). Each VM keeps its IP and host key; this server's " +
    "kept SSH connections to the environment reconnect. structuredContent: {name, vms: {vm: state}}.",
  input: SnapshotRestoreInput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Snapshot restore failed",
  async handler(args, { engine, track, sessions }) {
    const { testID, name, waitReady, stateDir } = parseSnapshotArgs(SnapshotRestoreInput, args);
    const operation = engine.snapshotRestore(testID, name ?? DEFAULT_SNAPSHOT, { ...stateDirOption(stateDir), ...(waitReady === undefined ? {} : { waitReady }) });
    track(operation);
    const restored = await operation.finally(() => sessions.forget(testID));
    const where = Object.entries(restored.vms).map(([vm, state]) => `${vm}${state.ip === undefined ? "" : ` at ${state.ip}`}`);
    return {
      content: [{ type: "text", text: `Snapshot ${restored.name} of ${testID} restored: ${where.join(", ")}` }],
      structuredContent: { ...restored },
    };
  },
};
