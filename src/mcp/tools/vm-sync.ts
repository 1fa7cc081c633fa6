import { z } from "zod";
import type { ToolDefinition } from "../tool.js";
import { MANIFEST_ARG, NAMES_ARG, manifestContext, parseManifestArgs } from "./vm-manifest-args.js";

export const VmSyncInput = z.strictObject({
  manifest: MANIFEST_ARG,
  names: NAMES_ARG,
  dryRun: z.boolean().optional().describe("Only plan: change nothing (default false)."),
  restart: z.boolean().optional().describe("Shut a running VM down and start it again when a change needs it (default false)."),
  prune: z.boolean().optional().describe("Undefine domains this manifest made that it no longer lists (whole manifest only)."),
  removeStorage: z.boolean().optional().describe("With prune: delete the pruned domains' disks too."),
  allowDownload: z.boolean().optional().describe("Download ISO URLs that pin no sha256."),
});

export const vmSyncTool: ToolDefinition = {
  name: "vm-sync",
  title: "Sync the VM manifest",
  description:
    "Create or update the libvirt domains of the VM manifest (vms.json) to match it. Idempotent: only fields that " +
    "differ change. A running VM is never destroyed unless restart; the plan says which changes wait for a restart. " +
    "dryRun returns the plan only. structuredContent: {manifest, dryRun, machines: [{name, action, changes, restartNeeded, applied, notes}]}.",
  input: VmSyncInput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  failurePrefix: "VM sync failed",
  async handler(args, { track }) {
    const input = parseManifestArgs(VmSyncInput, args);
    const { syncManifest } = await import("../../manifest/machines.js");
    const operation = syncManifest(manifestContext(input.manifest), {
      names: input.names ?? [],
      dryRun: input.dryRun ?? false,
      restart: input.restart ?? false,
      prune: input.prune ?? false,
      removeStorage: input.removeStorage ?? false,
      allowDownload: input.allowDownload ?? false,
      allowBlockDevice: false,
    });
    track(operation);
    const { manifestPath, result } = await operation;
    const summary = result.machines.map((entry) => `${entry.name}: ${entry.action}${entry.restartNeeded ? " (restart needed)" : ""}`).join(", ");
    return {
      content: [{ type: "text", text: `${result.dryRun ? "Plan" : "Sync"} of ${manifestPath}: ${summary || "no VMs"}` }],
      structuredContent: { manifest: manifestPath, ...result },
      ...(result.machines.some((entry) => entry.action === "error") ? { isError: true } : {}),
    };
  },
};
