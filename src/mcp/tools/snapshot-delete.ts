import type { ToolDefinition } from "../tool.js";
import { DEFAULT_SNAPSHOT, SnapshotDeleteInput, parseSnapshotArgs, stateDirOption } from "./snapshot-args.js";

export const snapshotDeleteTool: ToolDefinition = {
  name: "snapshot-delete",
  title: "Delete a snapshot",
  description: "Remove a snapshot (default \"default\") from every VM of the environment that has it, files included. NOT_FOUND when none has it.",
  input: SnapshotDeleteInput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  failurePrefix: "Snapshot delete failed",
  async handler(args, { engine, track }) {
    const { testID, name, stateDir } = parseSnapshotArgs(SnapshotDeleteInput, args);
    const operation = engine.snapshotDelete(testID, name ?? DEFAULT_SNAPSHOT, stateDirOption(stateDir));
    track(operation);
    const removed = await operation;
    return { content: [{ type: "text", text: `Snapshot ${removed.name} of ${testID} deleted: ${removed.vms.join(", ")}` }], structuredContent: { ...removed } };
  },
};
