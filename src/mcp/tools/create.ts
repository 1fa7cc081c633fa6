import { Plan } from "../../../api/plan.js";
import { parseInput } from "../../orchestrator/input.js";
import { normalizeArtifact } from "../../orchestrator/summary.js";
import { CreateToolInput, parseCreateArgs } from "../inputs.js";
import { TEXT } from "../results.js";
import type { ToolDefinition } from "../tool.js";

export const createTool: ToolDefinition = {
  name: "create",
  title: "Create test environment",
  description:
    "Create the keys, networks and VMs of a testenv-vm spec for one test run (Forge testenv engine contract). " +
    "Idempotent: the same testID and spec returns the existing environment. On failure everything created is rolled back " +
    "unless keepOnFailure is set. Sends progress notifications when the request has a progressToken; cancelling the request " +
    "stops the create and rolls it back. With `plan` (from the plan tool) it applies exactly that plan or refuses a stale one.",
  input: CreateToolInput.extend({ plan: Plan.optional().describe("A plan from the plan tool: applied only while it is current, refused (PLAN_STALE) otherwise.") }),
  annotations: { destructiveHint: false, idempotentHint: true, readOnlyHint: false, openWorldHint: false },
  failurePrefix: "Create failed",
  async handler(args, { engine, onProgress, track, signal, resourcesChanged }) {
    const { plan: rawPlan, ...createArgs } = args;
    const input = parseCreateArgs(createArgs);
    const plan = rawPlan === undefined ? undefined : parseInput(Plan, rawPlan, "create plan");
    // A cancelled request stops the create and rolls back what it made (CANCELLED).
    const operation = engine.create(input, {
      signal,
      ...(onProgress ? { onProgress } : {}),
      ...(input.keepOnFailure === undefined ? {} : { keepOnFailure: input.keepOnFailure }),
      ...(plan ? { plan } : {}),
    });
    track(operation);
    // A failed create may leave a kept environment behind: the list may have changed either way.
    operation.then(resourcesChanged, resourcesChanged);
    const artifact = normalizeArtifact(await operation);
    return {
      content: [{ type: "text", text: TEXT.created }],
      structuredContent: artifact,
    };
  },
};
