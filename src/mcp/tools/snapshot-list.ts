import type { ToolDefinition } from "../tool.js";
import { SnapshotListInput, parseSnapshotArgs, stateDirOption } from "./snapshot-args.js";

export const snapshotListTool: ToolDefinition = {
  name: "snapshot-list",
  title: "List an environment's snapshots",
  description: "The snapshots of an environment, each with the VMs it holds (as their providers report them). structuredContent: {snapshots: [{name, vms}]}.",
  input: SnapshotListInput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Snapshot list failed",
  async handler(args, { engine }) {
    const { testID, stateDir } = parseSnapshotArgs(SnapshotListInput, args);
    const snapshots = await engine.snapshotList(testID, stateDirOption(stateDir));
    const text = snapshots.length === 0 ? `Environment ${testID} has no snapshots` : `Snapshots of ${testID}: ${snapshots.map((s) => s.name).join(", ")}`;
    return { content: [{ type: "text", text }], structuredContent: { snapshots } };
  },
};
