import { VMStartInput, parseVMStartArgs } from "../inputs.js";
import type { ToolDefinition } from "../tool.js";

export const vmStartTool: ToolDefinition = {
  name: "vm-start",
  title: "Start a VM",
  description:
    "Start a stopped VM of a ready environment with its disk as it was, and wait for its readiness checks again " +
    "(unless waitReady is false). A running VM is left as it is. structuredContent is the VM's provider state.",
  input: VMStartInput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "VM start failed",
  async handler(args, { engine, track }) {
    const { testID, vm, waitReady, stateDir } = parseVMStartArgs(args);
    const operation = engine.vmPower(testID, vm, "start", { ...(waitReady === undefined ? {} : { waitReady }), ...(stateDir === undefined ? {} : { stateDir }) });
    track(operation);
    const state = await operation;
    return {
      content: [{ type: "text", text: `VM ${vm} of ${testID} is ${state.status}${state.ip ? ` at ${state.ip}` : ""}` }],
      structuredContent: state,
    };
  },
};
