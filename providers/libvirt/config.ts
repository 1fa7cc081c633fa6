import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { parseProviderConfig, type ProviderContext } from "../kit/index.js";

export const PROVIDER_NAME = "libvirt";
export const URI_ENV = "TESTENV_VM_LIBVIRT_URI";

export const LibvirtProviderConfig = z.strictObject({
  uri: z.string().min(1).optional().describe("libvirt connection URI; default TESTENV_VM_LIBVIRT_URI, then qemu:///system."),
  dataDir: z.string().min(1).optional().describe("Where disks, seed ISOs, NVRAM and records live; must be traversable by libvirt-qemu."),
  accelerator: z.enum(["auto", "kvm", "tcg"]).default("auto").describe("auto probes KVM once per boot and uses it only when it works."),
  machine: z.string().min(1).optional().describe("QEMU machine type (default pc)."),
  cpuModel: z.string().min(1).optional().describe("CPU model; default host-passthrough under KVM, qemu64 under TCG."),
  bridgePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,7}$/, "1-8 lowercase letters, digits or '-', starting with a letter")
    .optional()
    .describe("Start of derived bridge names (default: the environment's name prefix)."),
});
export type LibvirtProviderConfig = z.infer<typeof LibvirtProviderConfig>;

export interface ResolvedConfig {
  uri: string;
  dataDir: string;
  /** dataDir is the per-environment default (not configured), so the provider may remove it when empty. */
  dataDirIsDefault: boolean;
  accelerator: "auto" | "kvm" | "tcg";
  machine: string;
  cpuModel: string | undefined;
  bridgePrefix: string | undefined;
  prefix: string | undefined;
  testID: string | undefined;
  artifactDir: string | undefined;
}

export function defaultDataDir(prefix: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const leaf = prefix && /^[A-Za-z0-9_.-]+$/.test(prefix) && prefix !== ".." ? prefix : "default";
  if (process.getuid?.() === 0) return join("/var/lib/testenv-vm", leaf);
  const base = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "testenv-vm", leaf);
}

export function resolveConfig(context: ProviderContext, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const config = parseProviderConfig(LibvirtProviderConfig, context, PROVIDER_NAME);
  return {
    uri: config.uri ?? (env[URI_ENV] || "qemu:///system"),
    dataDir: config.dataDir ?? defaultDataDir(context.prefix, env),
    dataDirIsDefault: config.dataDir === undefined && context.prefix !== undefined,
    accelerator: config.accelerator,
    machine: config.machine ?? "pc",
    cpuModel: config.cpuModel,
    bridgePrefix: config.bridgePrefix,
    prefix: context.prefix,
    testID: context.testID,
    artifactDir: context.artifactDir,
  };
}
