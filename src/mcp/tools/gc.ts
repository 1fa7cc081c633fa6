import { z } from "zod";
import { ProviderConfig } from "../../../api/spec.js";
import { TestenvError } from "../../errors.js";
import { parseInput } from "../../orchestrator/input.js";
import { parseDurationMs } from "../../spec/index.js";
import type { ToolDefinition } from "../tool.js";

export const GcToolInput = z.strictObject({
  apply: z.boolean().default(false).describe("Remove the orphans. Without it (the default) gc only lists them."),
  olderThan: z.string().max(32).optional().describe("Only objects older than this duration, e.g. 30s, 10m, 1h, or 0 (default 10m)."),
  testID: z.string().min(1).max(200).optional().describe("Only objects of this environment."),
  stateDir: z.string().optional().describe("State directory to look owners up in, when not the default or TESTENV_VM_STATE_DIR."),
  providers: z.array(ProviderConfig).optional().describe("The providers to ask, with their config (a spec's); default those recorded in the state dir, else every one found."),
});

function graceMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = text === "0" ? 0 : parseDurationMs(text);
  if (ms === undefined) {
    throw new TestenvError("INPUT_INVALID", `olderThan: ${JSON.stringify(text)} is not a duration (expected e.g. 30s, 10m, 1h, or 0)`, {
      issues: [{ field: "olderThan", message: "not a duration" }],
    });
  }
  return ms;
}

export const gcTool: ToolDefinition = {
  name: "gc",
  title: "Find and remove orphans",
  description:
    "Asks the providers what they made and lists every object whose environment is gone (no state file, or one marked destroyed) and that is older than the grace period. " +
    "A dry run unless apply is true; then removes them, VMs first, then networks, keys and files, and reports each. Never touches a live environment's objects or one that records no environment.",
  input: GcToolInput,
  annotations: { destructiveHint: true, idempotentHint: true, readOnlyHint: false, openWorldHint: false },
  failurePrefix: "gc failed",
  async handler(args, { engine, resourcesChanged }) {
    const input = parseInput(GcToolInput, args, "gc");
    const olderThanMs = graceMs(input.olderThan);
    const report = await engine.gc({
      apply: input.apply,
      ...(olderThanMs !== undefined ? { olderThanMs } : {}),
      ...(input.testID !== undefined ? { testID: input.testID } : {}),
      ...(input.stateDir !== undefined ? { stateDir: input.stateDir } : {}),
      ...(input.providers !== undefined ? { providers: input.providers } : {}),
    });
    if (report.applied) resourcesChanged();
    const lines = report.objects
      .filter((o) => o.verdict !== "live")
      .map((o) => `${o.kind} ${o.name} (${o.provider}): ${o.removed === true ? "removed" : o.error !== undefined ? `FAILED: ${o.error}` : `${o.verdict}: ${o.reason}`}`);
    const silent = report.providers.filter((p) => p.answer !== "ok").map((p) => `provider ${p.name}: ${p.answer}${p.error !== undefined ? ` (${p.error})` : ""}`);
    const head = report.applied
      ? `gc: ${report.removed} of ${report.orphans} orphan(s) removed${report.failed > 0 ? `, ${report.failed} failed` : ""}`
      : `gc (dry run): ${report.orphans} orphan(s); call gc with apply: true to remove them`;
    return {
      content: [{ type: "text", text: [head, ...lines, ...silent].join("\n") }],
      structuredContent: report as unknown as Record<string, unknown>,
      ...(report.failed > 0 ? { isError: true } : {}),
    };
  },
};
