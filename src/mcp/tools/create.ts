import { z } from "zod";
import { Plan } from "../../../api/plan.js";
import { TestenvError } from "../../errors.js";
import { parseInput } from "../../orchestrator/input.js";
import { normalizeArtifact } from "../../orchestrator/summary.js";
import { CreateToolInput, parseCreateArgs } from "../inputs.js";
import { TEXT } from "../results.js";
import type { ToolDefinition } from "../tool.js";

/** A spec sent as JSON text: the object it encodes, or an error naming `spec`. */
function specFromJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TestenvError("INPUT_INVALID", `spec: a string must be the spec as JSON text, and this is not JSON (${(error as Error).message}); send the spec as an object`, {
      issues: [{ field: "spec", message: "not JSON" }],
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TestenvError("INPUT_INVALID", "spec: the JSON text must encode a spec object (providers, keys, networks, vms)", { issues: [{ field: "spec", message: "not an object" }] });
  }
  return value as Record<string, unknown>;
}

export const createTool: ToolDefinition = {
  name: "create",
  title: "Create test environment",
  description:
    "Create the keys, networks and VMs of a testenv-vm spec for one test run (Forge testenv engine contract). " +
    "Idempotent: the same testID and spec returns the existing environment. On failure everything created is rolled back " +
    "unless keepOnFailure is set. Sends progress notifications when the request has a progressToken; cancelling the request " +
    "stops the create and rolls it back. With `plan` (from the plan tool) it applies exactly that plan or refuses a stale one.",
  input: CreateToolInput.extend({
    // Some clients (MCP Inspector's CLI) can send only strings: the spec may also come as its JSON text.
    spec: z
      .union([z.record(z.string(), z.unknown()), z.string().describe("The same spec as JSON text, for clients that send only strings.")])
      .nullable()
      .optional(),
    plan: Plan.optional().describe("A plan from the plan tool: applied only while it is current, refused (PLAN_STALE) otherwise."),
  }),
  annotations: { destructiveHint: false, idempotentHint: true, readOnlyHint: false, openWorldHint: false },
  failurePrefix: "Create failed",
  async handler(args, { engine, onProgress, track, signal, resourcesChanged }) {
    const { plan: rawPlan, ...createArgs } = args;
    const input = parseCreateArgs({ ...createArgs, ...(typeof createArgs.spec === "string" ? { spec: specFromJson(createArgs.spec) } : {}) });
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
