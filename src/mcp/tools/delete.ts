import { DeleteToolInput, parseDeleteArgs } from "../inputs.js";
import { TEXT } from "../results.js";
import type { ToolDefinition } from "../tool.js";

export const deleteTool: ToolDefinition = {
  name: "delete",
  title: "Delete test environment",
  description:
    "Delete every resource of an environment from its state file (no spec needed), then the state file and artifact dir. " +
    "Succeeds when the environment is already gone. Fails, listing what is left, when something could not be deleted.",
  input: DeleteToolInput,
  annotations: { destructiveHint: true, idempotentHint: true, readOnlyHint: false, openWorldHint: false },
  failurePrefix: "Delete failed",
  async handler(args, { engine, onProgress, track, sessions, resourcesChanged }) {
    const { stateDir, ...input } = parseDeleteArgs(args);
    await sessions.forget(input.testID);
    const operation = engine.delete(input, {
      ...(onProgress ? { onProgress } : {}),
      ...(stateDir === undefined ? {} : { stateDir }),
    });
    track(operation);
    operation.then(resourcesChanged, resourcesChanged);
    await operation;
    return { content: [{ type: "text", text: TEXT.deleted }] };
  },
};
