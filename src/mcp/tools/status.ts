import { summarizeState } from "../../orchestrator/summary.js";
import { StatusInput, parseStatusArgs } from "../inputs.js";
import type { ToolDefinition } from "../tool.js";

function countByStatus(statuses: readonly string[]): string {
  if (statuses.length === 0) return "";
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return ` (${[...counts].map(([status, n]) => `${n} ${status}`).join(", ")})`;
}

export const statusTool: ToolDefinition = {
  name: "status",
  title: "Show one environment",
  description: "Status of an environment and of each of its resources (provider name, status, provider state, errors), from its state file.",
  input: StatusInput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Status failed",
  async handler(args, { engine }) {
    const input = parseStatusArgs(args);
    const state = await engine.status(input.testID, input.stateDir === undefined ? {} : { stateDir: input.stateDir });
    const summary = summarizeState(state);
    const counts = countByStatus(summary.resources.map((r) => r.status));
    return {
      content: [{ type: "text", text: `Environment ${summary.testID} is ${summary.status}: ${summary.resources.length} resource(s)${counts}` }],
      structuredContent: summary as unknown as Record<string, unknown>,
    };
  },
};
