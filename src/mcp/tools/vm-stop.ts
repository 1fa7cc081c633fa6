import type { VMState } from "../../../api/provider.js";
import { VMStopInput, parseVMStopArgs } from "../inputs.js";
import type { ToolDefinition } from "../tool.js";

function outcome(state: VMState, force: boolean, timeoutSeconds: number | undefined): string {
  if (state.stopMethod === "graceful") return "shut down gracefully";
  if (state.stopMethod === "already-stopped") return "was already stopped";
  if (state.stopMethod === "forced") return force ? "was powered off at once (force)" : `was forced off: it did not shut down within ${timeoutSeconds ?? 60} s`;
  return `is ${state.status}`;
}

export const vmStopTool: ToolDefinition = {
  name: "vm-stop",
  title: "Stop a VM",
  description:
    "Shut a VM of a ready environment down: the guest is asked to power off (ACPI) and forced off after timeoutSeconds " +
    "(default 60), or at once with force. Its disk is kept; vm-start starts it again. structuredContent is the VM's " +
    "provider state with stopMethod: graceful, forced or already-stopped.",
  input: VMStopInput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  failurePrefix: "VM stop failed",
  async handler(args, { engine, track }) {
    const { testID, vm, timeoutSeconds, force, stateDir } = parseVMStopArgs(args);
    const operation = engine.vmPower(testID, vm, "stop", {
      force: force ?? false,
      ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
      ...(stateDir === undefined ? {} : { stateDir }),
    });
    track(operation);
    const state = await operation;
    return {
      content: [{ type: "text", text: `VM ${vm} of ${testID} ${outcome(state, force ?? false, timeoutSeconds)}; its disk is kept` }],
      structuredContent: state,
    };
  },
};
