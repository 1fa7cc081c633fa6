import { z } from "zod";
import { CREATES_PATH } from "./config-schema.js";
import { HostPool, HostSsh } from "./host-pool.js";

// The libvirt provider's config (providers[].spec): here in api/ so the engine checks it before starting the provider;
// defaults that read the host (paths, the environment) stay in providers/libvirt/config.ts.

export const LibvirtProviderConfig = z.strictObject({
  uri: z.string().min(1).optional().describe("libvirt connection URI; default TESTENV_VM_LIBVIRT_URI, then qemu:///system."),
  dataDir: z
    .string()
    .min(1)
    .meta(CREATES_PATH)
    .optional()
    .describe("Where disks, seed ISOs, NVRAM and records live; must be traversable by libvirt-qemu."),
  accelerator: z.enum(["auto", "kvm", "tcg"]).default("auto").describe("auto probes KVM once per boot and uses it only when it works."),
  machine: z.string().min(1).optional().describe("QEMU machine type (default pc)."),
  cpuModel: z.string().min(1).optional().describe("CPU model; default host-passthrough under KVM, qemu64 under TCG."),
  ssh: HostSsh.optional().describe("How to reach a remote host named by uri qemu+ssh://user@host/system: libvirt, commands, uploads and the jump to its guests."),
  imageCacheDir: z.string().min(1).optional().describe("On a remote host: where uploaded base images are kept by digest (default /var/lib/testenv-vm/images)."),
  hosts: HostPool.optional().describe("A pool of hosts instead of uri: the engine places each environment whole on one of them (docs/scale-out.md)."),
  bridgePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,7}$/, "1-8 lowercase letters, digits or '-', starting with a letter")
    .optional()
    .describe("Start of derived bridge names (default: the environment's name prefix)."),
});
export type LibvirtProviderConfig = z.infer<typeof LibvirtProviderConfig>;
