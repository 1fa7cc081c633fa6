import { z } from "zod";
import type { ToolDefinition } from "../tool.js";
import { MANIFEST_ARG, NAMES_ARG, manifestContext, parseManifestArgs } from "./vm-manifest-args.js";

export const VmStatusInput = z.strictObject({ manifest: MANIFEST_ARG, names: NAMES_ARG });

export const vmStatusTool: ToolDefinition = {
  name: "vm-status",
  title: "Status of the manifest's VMs",
  description:
    "running / stopped / missing of each VM of the VM manifest (vms.json), with its drift from the manifest, whether a " +
    "synced change waits for a restart, and its graphics URI. structuredContent: {manifest, machines: [...]}.",
  input: VmStatusInput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "VM status failed",
  async handler(args) {
    const input = parseManifestArgs(VmStatusInput, args);
    const { manifestStatus } = await import("../../manifest/machines.js");
    const { manifestPath, machines } = await manifestStatus(manifestContext(input.manifest), input.names ?? []);
    const text = machines.map((vm) => `${vm.name}: ${vm.state}${vm.drift.length > 0 ? `, drift in ${vm.drift.map((c) => c.field).join(", ")}` : ""}${vm.graphicsUri ? `, ${vm.graphicsUri}` : ""}`);
    return { content: [{ type: "text", text: text.join("\n") || "no VMs" }], structuredContent: { manifest: manifestPath, machines } };
  },
};
