import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { MachineToolName } from "../../api/provider.js";
import { MANIFEST_FEATURE } from "../../api/provider.js";
import {
  MachineCaptureResult,
  MachinePowerResult,
  MachineStatusResult,
  MachineSyncResult,
  type MachineCapture,
  type MachineSpec,
  type MachineStatus,
  type VmManifest,
} from "../../api/vm-manifest.js";
import type { Logger } from "../../lib/log.js";
import { TestenvError } from "../errors.js";
import { ProviderClient } from "../provider/index.js";
import { mergeCaptured } from "./capture.js";
import { resolveIsoSources } from "./isos.js";
import { findManifest, loadManifest, writeManifest, type LoadedManifest } from "./load.js";
import type { z } from "zod";

// The VM manifest use case: load vms.json, resolve its ISOs, and have the libvirt provider (spawned as the
// orchestrator spawns providers) apply it. testenv-vm never talks to virsh itself, so a remote libvirt host works
// the same way once the provider can reach one.

export const LIBVIRT_ENGINE = "testenv-vm-provider-libvirt";

export interface ManifestContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** --manifest; default ./manifests/vms.json, then ./vms.json. */
  manifestPath?: string;
}

export interface SyncOptions {
  names: readonly string[];
  dryRun: boolean;
  restart: boolean;
  prune: boolean;
  removeStorage: boolean;
  allowDownload: boolean;
  allowBlockDevice: boolean;
}

async function withProvider<T>(context: ManifestContext, use: (call: (tool: MachineToolName, args: unknown) => Promise<unknown>) => Promise<T>): Promise<T> {
  const client = await ProviderClient.start({
    name: "libvirt",
    engine: context.env.TESTENV_VM_LIBVIRT_ENGINE || LIBVIRT_ENGINE,
    cwd: context.cwd,
    parentEnv: context.env,
    log: context.log.child("provider:libvirt"),
  });
  try {
    if (!client.supports("vm", "create") || !(client.capabilities.resources.find((r) => r.kind === "vm")?.vmFeatures ?? []).includes(MANIFEST_FEATURE)) {
      throw new TestenvError("NOT_IMPLEMENTED", `provider ${client.engine} does not apply VM manifests (no vmFeatures "${MANIFEST_FEATURE}"); update testenv-vm`);
    }
    return await use(async (tool, args) => {
      const result = await client.call(tool, args);
      if (!result.success) {
        const error = result.error;
        throw new TestenvError(error?.code ?? "PROVIDER_ERROR", error?.message ?? `${tool} failed`, { ...(error?.details ? { details: error.details } : {}), retryable: error?.retryable ?? false });
      }
      return result.resource;
    });
  } finally {
    await client.close();
  }
}

function decode<T>(schema: z.ZodType<T>, tool: string, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new TestenvError("PROVIDER_ERROR", `${tool} answered an unexpected shape: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** The manifest's VMs the command names (all when none), or a usage-level error naming the unknown ones. */
function selected(loaded: LoadedManifest, names: readonly string[]): [string, VmManifest["vms"][string]][] {
  const entries = Object.entries(loaded.manifest.vms);
  if (names.length === 0) return entries;
  const unknown = names.filter((name) => !Object.hasOwn(loaded.manifest.vms, name));
  if (unknown.length > 0) {
    throw new TestenvError("NOT_FOUND", `${unknown.join(", ")} ${unknown.length === 1 ? "is" : "are"} not in ${loaded.path} (it has: ${entries.map(([n]) => n).join(", ") || "no VMs"})`);
  }
  return entries.filter(([name]) => names.includes(name));
}

async function resolvedMachines(context: ManifestContext, loaded: LoadedManifest, names: readonly string[], options: { fetch: boolean; allowDownload: boolean }): Promise<Record<string, MachineSpec>> {
  const machines: Record<string, MachineSpec> = {};
  for (const [name, vm] of selected(loaded, names)) {
    machines[name] = await resolveIsoSources(name, vm, { rootDir: context.cwd, env: context.env, log: context.log, ...options });
  }
  return machines;
}

/**
 * Plans first (a dry run), hands the plan to onPlan, then carries it out unless dryRun or nothing differs. Both
 * calls go to the same provider process; the second plans again, so a change made in between is not missed.
 */
export async function syncManifest(
  context: ManifestContext,
  options: SyncOptions,
  onPlan: (plan: MachineSyncResult, manifestPath: string) => void = () => undefined,
): Promise<{ manifestPath: string; result: MachineSyncResult }> {
  const loaded = await loadManifest(findManifest(context.cwd, context.manifestPath));
  if (options.prune && options.names.length > 0) {
    throw new TestenvError("INPUT_INVALID", "--prune looks at the whole manifest; run it without VM names");
  }
  if (options.removeStorage && !options.prune) throw new TestenvError("INPUT_INVALID", "--remove-storage applies to --prune only");
  const machines = await resolvedMachines(context, loaded, options.names, { fetch: true, allowDownload: options.allowDownload });
  const request = {
    manifestPath: loaded.path,
    machines,
    restart: options.restart,
    prune: options.prune,
    removeStorage: options.removeStorage,
    allowBlockDevice: options.allowBlockDevice,
  };
  const result = await withProvider(context, async (call) => {
    const plan = decode(MachineSyncResult, "machine_sync", await call("machine_sync", { ...request, dryRun: true }));
    onPlan(plan, loaded.path);
    const todo = plan.machines.some((entry) => entry.action !== "unchanged" && entry.action !== "error");
    if (options.dryRun || !todo) return { ...plan, dryRun: options.dryRun };
    return decode(MachineSyncResult, "machine_sync", await call("machine_sync", { ...request, dryRun: false }));
  });
  return { manifestPath: loaded.path, result };
}

export async function manifestStatus(context: ManifestContext, names: readonly string[]): Promise<{ manifestPath: string; machines: MachineStatus[] }> {
  const loaded = await loadManifest(findManifest(context.cwd, context.manifestPath));
  const machines = await resolvedMachines(context, loaded, names, { fetch: false, allowDownload: false });
  const result = await withProvider(context, (call) => call("machine_status", { machines }));
  return { manifestPath: loaded.path, machines: decode(MachineStatusResult, "machine_status", result).machines };
}

export interface CaptureOutcome {
  manifestPath: string;
  captured: MachineCapture[];
  /** Names written into the manifest (missing domains are not). */
  written: string[];
}

/** Reads the named domains (default: every manifest VM) back into the manifest file. */
export async function captureManifest(context: ManifestContext, names: readonly string[]): Promise<CaptureOutcome> {
  let path: string;
  try {
    path = findManifest(context.cwd, context.manifestPath);
  } catch (error) {
    if (!(error instanceof TestenvError && error.code === "SPEC_NOT_FOUND") || names.length === 0) throw error;
    path = join(context.cwd, "manifests", "vms.json");
  }
  const existing: LoadedManifest | undefined = await loadManifest(path).catch((error: unknown) => {
    if (error instanceof TestenvError && error.code === "SPEC_NOT_FOUND" && names.length > 0) return undefined;
    throw error;
  });
  const wanted = names.length > 0 ? [...names] : Object.keys(existing?.manifest.vms ?? {});
  if (wanted.length === 0) throw new TestenvError("INPUT_INVALID", `${path} lists no VMs; name the domains to capture: testenv-vm vm capture <name>…`);
  const result = decode(MachineCaptureResult, "machine_capture", await withProvider(context, (call) => call("machine_capture", { names: wanted })));
  const known = existing === undefined ? {} : await resolvedMachines(context, existing, wanted.filter((name) => Object.hasOwn(existing.manifest.vms, name)), { fetch: false, allowDownload: false });
  const { document, written } = mergeCaptured(existing?.raw, result.machines, known);
  if (written.length > 0) {
    await mkdir(dirname(path), { recursive: true });
    await writeManifest(path, document);
  }
  return { manifestPath: path, captured: result.machines, written };
}

export async function powerManifestVm(
  context: ManifestContext,
  name: string,
  action: "start" | "stop",
  options: { timeoutSeconds?: number; force?: boolean } = {},
): Promise<MachinePowerResult> {
  const loaded = await loadManifest(findManifest(context.cwd, context.manifestPath));
  selected(loaded, [name]);
  const result = await withProvider(context, (call) => call("machine_power", { name, action, ...options }));
  return decode(MachinePowerResult, "machine_power", result);
}
