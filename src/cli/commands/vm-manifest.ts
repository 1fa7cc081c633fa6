import type { MachinePlanEntry, MachinePowerResult, MachineStatus, MachineSyncResult } from "../../../api/vm-manifest.js";
import { createLogger } from "../../../lib/log.js";
import type { ManifestContext } from "../../manifest/machines.js";
import { booleanFlag, stringFlag } from "../args.js";
import type { CommandContext } from "../command.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import type { Flag } from "../flags.js";
import { table, writeJson } from "../output.js";

// `vm sync | capture | status` and `vm start|stop <name>` without --id: the VMs of the manifest (vms.json).

export const MANIFEST: Flag = { name: "manifest", value: true, placeholder: "file", description: "vm sync/capture/status/start/stop: the VM manifest (default ./manifests/vms.json, then ./vms.json)" };
export const DRY_RUN: Flag = { name: "dry-run", value: false, description: "vm sync: print the plan and change nothing" };
export const RESTART: Flag = { name: "restart", value: false, description: "vm sync: shut a running VM down and start it again when a change needs it" };
export const PRUNE: Flag = { name: "prune", value: false, description: "vm sync: undefine domains this manifest made that it no longer lists" };
export const REMOVE_STORAGE: Flag = { name: "remove-storage", value: false, description: "vm sync --prune: delete the pruned domains' disks too" };
export const ALLOW_DOWNLOAD: Flag = { name: "allow-download", value: false, description: "vm sync: download ISO URLs that pin no sha256" };
export const ALLOW_BLOCK_DEVICE: Flag = { name: "allow-block-device", value: false, description: "vm sync: let disk_path be a block device" };

export const SYNC_FLAGS = [MANIFEST, DRY_RUN, RESTART, PRUNE, REMOVE_STORAGE, ALLOW_DOWNLOAD, ALLOW_BLOCK_DEVICE] as const;

function manifestContext(context: CommandContext): ManifestContext {
  const manifestPath = stringFlag(context.args.flags, MANIFEST);
  return { cwd: context.cwd, env: context.env, log: createLogger("testenv-vm"), ...(manifestPath === undefined ? {} : { manifestPath }) };
}

const ACTION_LABEL: Record<MachinePlanEntry["action"], string> = { create: "create", update: "update", unchanged: "unchanged", prune: "prune", error: "error" };

/** The plan as a user reads it: one line per VM, one indented line per changed field. */
export function formatPlan(result: MachineSyncResult, manifestPath: string): string {
  const lines = [`${result.dryRun ? "Plan" : "Sync"} of ${manifestPath}:`];
  for (const entry of result.machines) {
    const restart = entry.restartNeeded ? " (restart needed: it runs with its old configuration until powered off and on)" : entry.restarted ? " (restarted)" : "";
    lines.push(`  ${ACTION_LABEL[entry.action].padEnd(9)} ${entry.name}${restart}`);
    for (const change of entry.changes) lines.push(`      ${change.field}: ${change.from} -> ${change.to}${change.needsRestart && entry.action === "update" ? "  [needs restart]" : ""}`);
    for (const note of entry.notes) lines.push(`      note: ${note}`);
  }
  if (result.machines.every((entry) => entry.action === "unchanged")) lines.push("  no changes");
  return lines.join("\n");
}

export async function runSync(context: CommandContext, names: readonly string[]): Promise<ExitCode> {
  const { syncManifest } = await import("../../manifest/machines.js");
  const flags = context.args.flags;
  const json = booleanFlag(flags, "json");
  const dryRun = booleanFlag(flags, DRY_RUN);
  const { manifestPath, result } = await syncManifest(
    manifestContext(context),
    {
      names,
      dryRun,
      restart: booleanFlag(flags, RESTART),
      prune: booleanFlag(flags, PRUNE),
      removeStorage: booleanFlag(flags, REMOVE_STORAGE),
      allowDownload: booleanFlag(flags, ALLOW_DOWNLOAD),
      allowBlockDevice: booleanFlag(flags, ALLOW_BLOCK_DEVICE),
    },
    (plan, path) => {
      if (!json) context.stdout.write(`${formatPlan(plan, path)}\n`);
    },
  );
  if (json) writeJson(context, { manifest: manifestPath, ...result });
  else if (!dryRun && result.machines.some((entry) => entry.applied)) {
    const applied = result.machines.filter((entry) => entry.applied);
    const waiting = result.machines.filter((entry) => entry.restartNeeded).map((entry) => entry.name);
    context.stdout.write(`applied: ${applied.map((entry) => `${entry.action} ${entry.name}`).join(", ")}\n`);
    if (waiting.length > 0) context.stdout.write(`restart needed for: ${waiting.join(", ")} (testenv-vm vm stop/start, or vm sync --restart)\n`);
  }
  return result.machines.some((entry) => entry.action === "error") ? EXIT.failed : EXIT.ok;
}

function statusRow(vm: MachineStatus): string[] {
  const drift = vm.drift.map((change) => `${change.field} ${change.from} -> ${change.to}`).join("; ");
  return [vm.name, vm.state, vm.graphicsUri ?? "-", vm.pendingRestart ? "restart pending" : "", drift === "" ? (vm.state === "missing" ? "" : "in sync") : `drift: ${drift}`];
}

export async function runStatus(context: CommandContext, names: readonly string[]): Promise<ExitCode> {
  const { manifestStatus } = await import("../../manifest/machines.js");
  const { manifestPath, machines } = await manifestStatus(manifestContext(context), names);
  if (booleanFlag(context.args.flags, "json")) writeJson(context, { manifest: manifestPath, machines });
  else context.stdout.write(`${table([["NAME", "STATE", "GRAPHICS", "", "MANIFEST"], ...machines.map(statusRow)])}\n`);
  return EXIT.ok;
}

export async function runCapture(context: CommandContext, names: readonly string[]): Promise<ExitCode> {
  const { captureManifest } = await import("../../manifest/machines.js");
  const outcome = await captureManifest(manifestContext(context), names);
  if (booleanFlag(context.args.flags, "json")) {
    writeJson(context, outcome);
    return EXIT.ok;
  }
  for (const capture of outcome.captured) {
    if (capture.vm === undefined && capture.notRoundTripped.length === 0) context.stdout.write(`${capture.name}: not defined in libvirt; its entry is left as it is\n`);
    else if (capture.vm === undefined) context.stdout.write(`${capture.name}: cannot be captured: ${capture.notRoundTripped.join("; ")}\n`);
    else {
      context.stdout.write(`${capture.name}: captured into ${outcome.manifestPath}\n`);
      for (const note of capture.notRoundTripped) context.stdout.write(`  not in the manifest (does not round-trip): ${note}\n`);
    }
  }
  return EXIT.ok;
}

const POWER_LINE: Record<MachinePowerResult["outcome"], string> = {
  started: "started",
  "already-running": "was already running",
  graceful: "shut down gracefully",
  forced: "was forced off",
  "already-stopped": "was already stopped",
};

export async function runPower(context: CommandContext, name: string, action: "start" | "stop", options: { timeoutSeconds?: number; force?: boolean }): Promise<ExitCode> {
  const { powerManifestVm } = await import("../../manifest/machines.js");
  const result = await powerManifestVm(manifestContext(context), name, action, options);
  if (booleanFlag(context.args.flags, "json")) writeJson(context, result);
  else context.stdout.write(`vm ${name} ${POWER_LINE[result.outcome]}${action === "stop" ? "; its disk is kept" : ""}\n`);
  return EXIT.ok;
}
