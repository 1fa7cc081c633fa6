import type { ToolDefinition } from "../tool.js";
import { VMAddInput, parseVMAddArgs } from "../vm-inputs.js";

export const vmAddTool: ToolDefinition = {
  name: "vm-add",
  title: "Add a VM to an environment",
  description:
    "Create a VM in a ready environment now, on the same path as the client library's createVM: its spec is rendered with the " +
    "environment's template context ({{ .Keys.<key>.PublicKey }}, {{ .Networks.<net>.IP }}), validated like spec VMs, named with the " +
    "environment's prefix and recorded in the state file under its lock, so delete of the environment removes it. structuredContent " +
    "is its state record.",
  input: VMAddInput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  failurePrefix: "VM add failed",
  async handler(args, { engine, sessions, track, onProgress, resourcesChanged }) {
    const input = parseVMAddArgs(args);
    const operation = engine.createRuntimeVM(
      input.testID,
      {
        name: input.vm,
        spec: input.spec,
        ...(input.provider === undefined ? {} : { provider: input.provider }),
        ...(input.providerSpec === undefined ? {} : { providerSpec: input.providerSpec }),
      },
      { stateDir: sessions.stateDir, ...(onProgress ? { onProgress } : {}) },
    );
    track(operation);
    const record = await operation;
    resourcesChanged();
    const ip = typeof record.state?.ip === "string" ? ` at ${record.state.ip}` : "";
    return {
      content: [{ type: "text", text: `VM ${input.vm} added to ${input.testID} as ${record.providerName}${ip}` }],
      // Not the rendered request: it may carry what templates put into cloud-init.
      structuredContent: { name: record.name, providerName: record.providerName, provider: record.provider, status: record.status, runtime: true, ...(record.state ? { state: record.state } : {}) },
    };
  },
};
