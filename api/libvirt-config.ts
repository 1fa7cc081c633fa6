import { z } from "zod";

// The libvirt provider's config (providers[].spec): here in api/ so the engine checks it before starting the provider;
// defaults that read the host (paths, the environment) stay in providers/libvirt/config.ts.

export const LibvirtProviderConfig = z.strictObject({
  uri: z.string().min(1).optional().describe("libvirt connection URI; default TESTENV_VM_LIBVIRT_URI, then qemu:///system."),
  dataDir: z.string().min(1).optional().describe("Where disks, seed ISOs, NVRAM and records live; must be traversable by libvirt-qemu."),
  accelerator: z.enum(["auto", "kvm", "tcg"]).default("auto").describe("auto probes KVM once per boot and uses it only when it works."),
  machine: z.string().min(1).optional().describe("QEMU machine type (default pc)."),
  cpuModel: z.string().min(1).optional().describe("CPU model; default host-passthrough under KVM, qemu64 under TCG."),
  ssh: z
    .strictObject({
      key: z.string().min(1).optional().describe("Private key file for the remote host (default: ssh's own configuration)."),
      knownHosts: z.string().min(1).optional().describe("known_hosts file the remote host's key is checked against, strictly (default: ssh's own)."),
    })
    .optional()
    .describe("How to reach a remote host named by uri qemu+ssh://user@host/system: libvirt, commands, uploads and the jump to its guests."),
  imageCacheDir: z.string().min(1).optional().describe("On a remote host: where uploaded base images are kept by digest (default /var/lib/testenv-vm/images)."),
  bridgePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,7}$/, "1-8 lowercase letters, digits or '-', starting with a letter")
    .optional()
    .describe("Start of derived bridge names (default: the environment's name prefix)."),
});
export type LibvirtProviderConfig = z.infer<typeof LibvirtProviderConfig>;
