import type { ToolDefinition } from "../tool.js";
import { DEFAULT_SNAPSHOT, SnapshotSaveInput, parseSnapshotArgs, stateDirOption } from "./snapshot-args.js";

export const snapshotSaveTool: ToolDefinition = {
  name: "snapshot-save",
  title: "Save a snapshot of an environment",
  description:
    "Save every VM of a ready environment with its memory and disk state under a name (default \"default\"); the VMs " +
    "keep running. snapshot-restore brings them back to exactly this moment. Deleting the environment removes its " +
    "snapshots. A provider without snapshots answers NOT_IMPLEMENTED. structuredContent: {name, vms: {vm: snapshot}}.",
  input: SnapshotSaveInput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  failurePrefix: "Snapshot save failed",
  async handler(args, { engine, track }) {
    const { testID, name, overwrite, stateDir } = parseSnapshotArgs(SnapshotSaveInput, args);
    const operation = engine.snapshotSave(testID, name ?? DEFAULT_SNAPSHOT, { ...stateDirOption(stateDir), ...(overwrite === undefined ? {} : { overwrite }) });
    track(operation);
    const saved = await operation;
    return {
      content: [{ type: "text", text: `Snapshot ${saved.name} of ${testID} saved: ${Object.keys(saved.vms).join(", ")}` }],
      structuredContent: { ...saved },
    };
  },
};
