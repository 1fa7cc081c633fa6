import { ListInput, parseListArgs } from "../inputs.js";
import type { ToolDefinition } from "../tool.js";

export const listTool: ToolDefinition = {
  name: "list",
  title: "List environments",
  description: "Every environment with a state file in the state directory, with its status and resources.",
  input: ListInput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "List failed",
  async handler(args, { engine }) {
    const input = parseListArgs(args);
    const environments = await engine.list(input.stateDir === undefined ? {} : { stateDir: input.stateDir });
    const lines = environments.map((env) => `${env.testID} ${env.status} (${env.resources.length} resource(s))`);
    return {
      content: [{ type: "text", text: [`${environments.length} environment(s)`, ...lines].join("\n") }],
      structuredContent: { environments, count: environments.length },
    };
  },
};
