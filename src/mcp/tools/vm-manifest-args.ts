import { z } from "zod";
import { createLogger } from "../../../lib/log.js";
import { TestenvError } from "../../errors.js";
import type { ManifestContext } from "../../manifest/machines.js";
import { zodIssues } from "../inputs.js";

// What vm-sync, vm-capture and vm-status share: the manifest they read (relative paths resolve against the MCP
// server's working directory, as the CLI's do against the shell's) and argument checking that names the field.

export const MANIFEST_ARG = z.string().min(1).optional().describe("The VM manifest (vms.json or vms.yaml); default ./manifests/vms.json, then ./vms.json.");
export const NAMES_ARG = z.array(z.string().min(1)).optional().describe("Manifest VMs to act on; default all of them.");

export function parseManifestArgs<T>(schema: z.ZodType<T>, raw: Record<string, unknown>): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error);
  throw new TestenvError("INPUT_INVALID", issues.map((i) => `${i.field}: ${i.message}`).join("; "), { issues });
}

export function manifestContext(manifest: string | undefined): ManifestContext {
  return { cwd: process.cwd(), env: process.env, log: createLogger("testenv-vm:mcp"), ...(manifest === undefined ? {} : { manifestPath: manifest }) };
}
