import type { Plan } from "../../../api/plan.js";
import { planText } from "../../orchestrator/orchestrator.js";
import { CreateToolInput, parseCreateArgs } from "../inputs.js";
import type { ToolDefinition } from "../tool.js";

export const planTool: ToolDefinition = {
  name: "plan",
  title: "Plan a test environment",
  description:
    "What create would do with the same arguments, changing nothing: resources in phase order with provider, provider-level name, " +
    "rendered request (placeholders for values known only after create) and each provider's own steps, with sha256 hashes. " +
    "Byte-identical for identical input. Pass the structured result as create's `plan` argument to apply exactly this plan.",
  input: CreateToolInput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Plan failed",
  async handler(args, { engine }) {
    const plan: Plan = await engine.plan(parseCreateArgs(args));
    return { content: [{ type: "text", text: planText(plan) }], structuredContent: plan as unknown as Record<string, unknown> };
  },
};
