import { z } from "zod";
import type { ToolDefinition } from "../tool.js";
import { MANIFEST_ARG, NAMES_ARG, manifestContext, parseManifestArgs } from "./vm-manifest-args.js";

export const VmCaptureInput = z.strictObject({ manifest: MANIFEST_ARG, names: NAMES_ARG });

export const vmCaptureTool: ToolDefinition = {
  name: "vm-capture",
  title: "Capture VMs into the manifest",
  description:
    "Read libvirt domains (default: every VM of the manifest) and write their configuration into the VM manifest, so " +
    "that vm-sync right after changes nothing. What the manifest cannot express is listed per VM (notRoundTripped). " +
    "structuredContent: {manifestPath, captured, written}.",
  input: VmCaptureInput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "VM capture failed",
  async handler(args) {
    const input = parseManifestArgs(VmCaptureInput, args);
    const { captureManifest } = await import("../../manifest/machines.js");
    const outcome = await captureManifest(manifestContext(input.manifest), input.names ?? []);
    const dropped = outcome.captured.filter((c) => c.notRoundTripped.length > 0).map((c) => `${c.name}: ${c.notRoundTripped.join("; ")}`);
    return {
      content: [{ type: "text", text: `captured ${outcome.written.join(", ") || "nothing"} into ${outcome.manifestPath}${dropped.length > 0 ? `; not round-tripped: ${dropped.join(" | ")}` : ""}` }],
      structuredContent: { ...outcome },
    };
  },
};
