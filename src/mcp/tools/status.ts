import type { LiveStatus } from "../../orchestrator/live-state.js";
import { summarizeState } from "../../orchestrator/summary.js";
import { StatusInput, parseStatusArgs } from "../inputs.js";
import type { ToolDefinition } from "../tool.js";

function countByStatus(statuses: readonly string[]): string {
  if (statuses.length === 0) return "";
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return ` (${[...counts].map(([status, n]) => `${n} ${status}`).join(", ")})`;
}

/** The second text: whether the providers agree with the state file, and where not. */
function liveText(live: LiveStatus): string {
  if (live.inSync) return "Live: every resource matches the state file";
  return [
    ...(live.mismatches.length > 0 ? ["Live: state file and reality disagree:", ...live.mismatches.map((m) => `- ${m}`)] : []),
    ...(live.errors.length > 0 ? ["Live: could not be checked:", ...live.errors.map((e) => `- ${e}`)] : []),
  ].join("\n");
}

export const statusTool: ToolDefinition = {
  name: "status",
  title: "Show one environment",
  description:
    "Status of an environment and of each of its resources (provider name, status, provider state, errors), from its state file. " +
    "`live` adds what each provider reports now: running, stopped, present or missing, a VM's memory/vCPU drift, and every disagreement with the state file.",
  input: StatusInput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Status failed",
  async handler(args, { engine }) {
    const input = parseStatusArgs(args);
    const options = input.stateDir === undefined ? {} : { stateDir: input.stateDir };
    const state = await engine.status(input.testID, options);
    const summary = summarizeState(state);
    const live = await engine.liveStatus(input.testID, options);
    const counts = countByStatus(summary.resources.map((r) => r.status));
    return {
      content: [
        { type: "text", text: `Environment ${summary.testID} is ${summary.status}: ${summary.resources.length} resource(s)${counts}` },
        { type: "text", text: liveText(live) },
      ],
      structuredContent: { ...summary, live } as unknown as Record<string, unknown>,
    };
  },
};
