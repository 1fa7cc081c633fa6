import type { ProviderConfig } from "../../../api/spec.js";
import type { DoctorProvider, DoctorReport } from "../../orchestrator/orchestrator.js";
import { UsageError, booleanFlag, rejectPositionals, stringFlag } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import type { Flag } from "../flags.js";
import { COMMON_FLAGS } from "../flags.js";
import { indent, table, writeJson } from "../output.js";

const NEED: Flag = { name: "need", value: true, placeholder: "a,b", description: "doctor: needs some provider must serve, e.g. uefi,tpm,pxe,container,network:nat" };
const TIME_LIMIT: Flag = { name: "time-limit", value: true, placeholder: "s", description: "doctor: seconds each provider gets to start and answer (default 20)" };

const word = (value: boolean | "unknown"): string => (value === "unknown" ? "unknown" : value ? "yes" : "no");

function capabilitySummary(provider: DoctorProvider): string {
  const vm = provider.capabilities?.resources.find((r) => r.kind === "vm");
  const kinds = provider.capabilities?.resources.map((r) => r.kind).join(",") ?? "-";
  return vm?.vmFeatures && vm.vmFeatures.length > 0 ? `${kinds}; ${vm.vmFeatures.join(",")}` : kinds;
}

function healthCell(provider: DoctorProvider): string {
  if (provider.outcome === "timed out") return "timed out";
  if (provider.outcome === "failed") return "failed";
  return word(provider.healthy);
}

export function formatDoctor(report: DoctorReport): string {
  const withNeeds = report.serving !== undefined;
  const header = ["PROVIDER", "SOURCE", "AVAILABLE", "HEALTHY", "ACCELERATOR", ...(withNeeds ? ["UNMET"] : []), "CAPABILITIES"];
  const rows = [header];
  for (const p of report.providers) {
    const accel = p.health?.accelerator ? p.health.accelerator.kind : "-";
    rows.push([p.name, p.source, word(p.available), healthCell(p), accel, ...(withNeeds ? [p.unmet?.length ? p.unmet.join(",") : "-"] : []), capabilitySummary(p)]);
  }
  const notes: string[] = [];
  for (const p of report.providers) {
    const lines: string[] = [];
    if (p.error !== undefined) lines.push(`error: ${p.error.split("\n")[0] ?? ""}`);
    if (p.availableReason !== undefined && p.available !== true) lines.push(`not available: ${p.availableReason}`);
    if (p.health?.accelerator) lines.push(`accelerator ${p.health.accelerator.kind}: ${p.health.accelerator.reason}`);
    for (const warning of p.health?.warnings ?? []) lines.push(`warning: ${warning.message}\n  fix: ${warning.fix}`);
    if (lines.length > 0) notes.push(`${p.name} (${p.engine}, ${p.ms} ms):\n${indent(lines.join("\n"))}`);
  }
  return `${table(rows)}\n\n${notes.length > 0 ? `${notes.join("\n")}\n\n` : ""}${report.healthy ? "healthy" : "NOT healthy"}: ${report.verdict} (${report.ms} ms)\n`;
}

/** The providers of --spec (which must load) or of ./forge.yaml (only when it loads). */
export async function specProviders(context: CommandContext): Promise<readonly ProviderConfig[] | undefined> {
  const { specFile } = context;
  try {
    return (await specFile.load()).spec.providers;
  } catch (error) {
    if (specFile.named) throw error;
    return undefined;
  }
}

function timeLimitMs(context: CommandContext): number | undefined {
  const text = stringFlag(context.args.flags, TIME_LIMIT);
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) throw new UsageError(`--time-limit must be seconds between 0 and 600, got "${text}"`);
  return Math.round(seconds * 1000);
}

export const doctorCommand: CommandDefinition = {
  name: "doctor",
  summary: "find every provider and check its availability and health (in parallel)",
  usage:
    "testenv-vm doctor [--spec forge.yaml] [--need uefi,tpm,...] [--time-limit s] [--json]\n" +
    "  exit 0 when the spec's providers are healthy (with --need: when a healthy provider serves every need; without a spec: when any is)",
  flags: ["spec", "name", NEED, TIME_LIMIT, ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "doctor");
    const { parseNeeds } = await import("../../provider/needs.js");
    const needs = parseNeeds(stringFlag(context.args.flags, NEED));
    const providers = await specProviders(context);
    const timeoutMs = timeLimitMs(context);
    const report = await (await openEngine(context)).doctor({
      ...(providers ? { specProviders: providers } : {}),
      ...(needs.length > 0 ? { needs } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    if (booleanFlag(context.args.flags, "json")) writeJson(context, report);
    else context.stdout.write(formatDoctor(report));
    return report.healthy ? EXIT.ok : EXIT.failed;
  },
};
