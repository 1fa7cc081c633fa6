import { z } from "zod";
import { ProviderConfig } from "../../../api/spec.js";
import { parseInput } from "../../orchestrator/input.js";
import type { ToolDefinition } from "../tool.js";

export const DoctorToolInput = z.strictObject({
  providers: z.array(ProviderConfig).optional().describe("The providers of the spec at hand: the answer is healthy only when all of them are."),
  needs: z.array(z.string().min(1)).optional().describe("What some provider must serve, e.g. uefi, tpm, pxe, container, network:nat."),
  timeLimitSeconds: z.number().positive().max(600).optional().describe("Seconds each provider gets to start and answer (default 20)."),
});

export const doctorTool: ToolDefinition = {
  name: "doctor",
  title: "Check the providers",
  description:
    "Finds every provider (bundled, testenv-vm-provider-* on PATH, the given ones) and checks each in parallel, in inspect mode: availability, health (versions, daemon, accelerator with its reason, tools, free disk, running resources, warnings with a fix each) and capabilities. Changes nothing.",
  input: DoctorToolInput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Doctor failed",
  async handler(args, { engine }) {
    const input = parseInput(DoctorToolInput, args, "doctor");
    const report = await engine.doctor({
      ...(input.providers ? { specProviders: input.providers } : {}),
      ...(input.needs ? { needs: input.needs } : {}),
      ...(input.timeLimitSeconds !== undefined ? { timeoutMs: Math.round(input.timeLimitSeconds * 1000) } : {}),
    });
    const lines = report.providers.map((p) => {
      const warnings = (p.health?.warnings ?? []).map((w) => `\n  warning: ${w.message} (fix: ${w.fix})`).join("");
      return `${p.name}: ${p.outcome === "ok" ? `healthy ${String(p.healthy)}` : p.outcome}${p.health?.accelerator ? `, ${p.health.accelerator.kind} (${p.health.accelerator.reason})` : ""}${warnings}`;
    });
    return {
      content: [{ type: "text", text: [`${report.healthy ? "healthy" : "NOT healthy"}: ${report.verdict}`, ...lines].join("\n") }],
      structuredContent: report as unknown as Record<string, unknown>,
    };
  },
};
