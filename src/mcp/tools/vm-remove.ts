import { TestenvError } from "../../errors.js";
import type { ToolDefinition } from "../tool.js";
import { VMRemoveInput, parseVMRemoveArgs } from "../vm-inputs.js";

export const vmRemoveTool: ToolDefinition = {
  name: "vm-remove",
  title: "Remove a VM added with vm-add",
  description:
    "Delete a VM that vm-add (or the client library's createVM) added to an environment, and its record. VMs of the spec are refused: " +
    "they go away with delete of the environment.",
  input: VMRemoveInput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  failurePrefix: "VM remove failed",
  async handler(args, { engine, sessions, track, resourcesChanged }) {
    const input = parseVMRemoveArgs(args);
    const record = (await sessions.state(input.testID)).resources.vms[input.vm];
    if (record && !record.runtime) {
      const message = `vm "${input.vm}" comes from the spec of environment ${input.testID}; vm-remove only removes VMs added with vm-add`;
      throw new TestenvError("INPUT_INVALID", message, { issues: [{ field: "vm", message: "not a runtime VM" }] });
    }
    await sessions.forget(input.testID);
    const operation = engine.deleteRuntimeVM(input.testID, input.vm, { stateDir: sessions.stateDir });
    track(operation);
    await operation;
    resourcesChanged();
    return { content: [{ type: "text", text: `VM ${input.vm} removed from ${input.testID}` }], structuredContent: { testID: input.testID, vm: input.vm, removed: true } };
  },
};
