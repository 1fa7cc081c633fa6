import { z } from "zod";

// The VM manifest (vms.json / vms.yaml): long-lived libvirt domains declared by name, synced by `testenv-vm vm sync`.
// The single source of truth for the manifest's fields and for the provider tools that apply it (machine_*);
// vms.schema.json is generated from VmManifest by `npm run generate`.

/** A libvirt domain name: the manifest's key, used as is (no test prefix). */
export const MachineName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$/, "1-63 letters, digits, '_', '.', '+' or '-', starting with a letter or digit")
  .describe("The libvirt domain name.");

const Sha256 = z.string().regex(/^(sha256:)?[0-9a-fA-F]{64}$/, "64 hex digits (optionally prefixed sha256:)");

export const IsoPathSource = z.strictObject({
  path: z.string().min(1).describe("An ISO file on the libvirt host; a leading ~ is the user's home. It must exist."),
});

export const IsoUrlSource = z.strictObject({
  url: z.url({ protocol: /^https$/, error: "an https:// URL" }).describe("An https:// URL, fetched into the verified image cache only with sha256 or --allow-download."),
  sha256: Sha256.optional().describe("The ISO's SHA-256; with it the download is verified and needs no --allow-download."),
});

export const IsoSource = z
  .union([IsoPathSource, IsoUrlSource], { error: "each entry is either {path} or {url, sha256?}, nothing else" })
  .describe("An installer ISO, attached as a CD-ROM.");
export type IsoSource = z.infer<typeof IsoSource>;

export const VmDefinition = z
  .strictObject({
    memory_gb: z.number().int().min(1).describe("Memory in GiB."),
    vcpus: z.number().int().min(1).describe("Virtual CPUs."),
    disk_path: z.string().min(1).describe("The VM's disk, used in place (never copied); absolute after ~ expansion."),
    disk_size_gb: z.number().int().min(1).describe("The disk's size in GiB: a larger value grows the disk, a smaller one is refused."),
    create_if_missing: z.boolean().default(false).describe("Create disk_path as an empty qcow2 of disk_size_gb when it does not exist."),
    boot: z.enum(["uefi", "bios"]).describe("Firmware: uefi (OVMF, per-VM NVRAM) or bios (SeaBIOS)."),
    tpm: z.enum(["2.0", "none"]).default("none").describe('TPM 2.0 through swtpm, or none. "2.0" with uefi also turns secure boot on unless secure_boot says otherwise.'),
    network: z.string().min(1).describe("An existing libvirt network or host bridge; it is never created or deleted here."),
    graphics: z.enum(["spice", "vnc", "none"]).describe("spice or vnc on 127.0.0.1 with an automatic port, or none (headless, serial console)."),
    iso_sources: z.array(IsoSource).default([]).describe("Installer ISOs, attached as CD-ROMs in this order."),
    autostart: z.boolean().default(false).describe("Start the VM when the libvirt host boots."),
    cpu_model: z.string().min(1).optional().describe("A QEMU CPU model (e.g. Skylake-Client); default host-passthrough under KVM."),
    secure_boot: z.boolean().optional().describe("UEFI secure boot; default on exactly when boot is uefi and tpm is 2.0."),
  })
  .describe("One VM of the manifest.");
export type VmDefinition = z.infer<typeof VmDefinition>;
export type VmDefinitionInput = z.input<typeof VmDefinition>;

export const VmManifest = z
  .strictObject({
    $schema: z.string().nullable().optional().describe("The JSON Schema this file follows (editors use it)."),
    vms: z.record(MachineName, VmDefinition).describe("The VMs, keyed by libvirt domain name."),
  })
  .describe("The vms.json manifest.");
export type VmManifest = z.infer<typeof VmManifest>;

// ---- The provider tools that apply a manifest (optional; a provider declares them with vmFeatures "manifest") ----

/** A manifest VM as the provider gets it: every ISO resolved to a file on the libvirt host. */
export const MachineSpec = VmDefinition.extend({
  iso_sources: z.array(IsoPathSource).default([]),
});
export type MachineSpec = z.infer<typeof MachineSpec>;

export const MachineSyncRequest = z.strictObject({
  /** Absolute path of the manifest: recorded in each domain's metadata, so prune knows which domains it made. */
  manifestPath: z.string().min(1),
  machines: z.record(MachineName, MachineSpec),
  /** Only plan: change nothing. */
  dryRun: z.boolean().default(false),
  /** Shut a running VM down and start it again when a change needs it. */
  restart: z.boolean().default(false),
  /** Undefine domains carrying this manifest's metadata that are no longer in `machines`. */
  prune: z.boolean().default(false),
  /** With prune: delete the pruned domains' disks too. */
  removeStorage: z.boolean().default(false),
  /** Let disk_path be a block device. */
  allowBlockDevice: z.boolean().default(false),
});
export type MachineSyncRequest = z.infer<typeof MachineSyncRequest>;

export const MachineChange = z.object({
  field: z.string(),
  from: z.string(),
  to: z.string(),
  /** The change takes effect only after the VM is powered off and on again. */
  needsRestart: z.boolean(),
});
export type MachineChange = z.infer<typeof MachineChange>;

export const MachineAction = z.enum(["create", "update", "unchanged", "prune", "error"]);
export type MachineAction = z.infer<typeof MachineAction>;

export const MachinePlanEntry = z.object({
  name: z.string(),
  action: MachineAction,
  changes: z.array(MachineChange),
  /** The VM runs and a change waits for its next power cycle (false once --restart did it). */
  restartNeeded: z.boolean(),
  /** Whether the plan was carried out (false for dryRun, unchanged and error). */
  applied: z.boolean(),
  restarted: z.boolean(),
  /** Why an entry is an error, and what else the user should know (skipped prune, dropped devices). */
  notes: z.array(z.string()),
});
export type MachinePlanEntry = z.infer<typeof MachinePlanEntry>;

export const MachineSyncResult = z.object({ dryRun: z.boolean(), machines: z.array(MachinePlanEntry) });
export type MachineSyncResult = z.infer<typeof MachineSyncResult>;

export const MachineStatusRequest = z.strictObject({
  machines: z.record(MachineName, MachineSpec),
});
export type MachineStatusRequest = z.infer<typeof MachineStatusRequest>;

export const MachinePowerState = z.enum(["running", "stopped", "missing"]);
export type MachinePowerState = z.infer<typeof MachinePowerState>;

export const MachineStatus = z.object({
  name: z.string(),
  state: MachinePowerState,
  /** The domain carries our manifest metadata. */
  managed: z.boolean(),
  /** Where the domain differs from the manifest (sync would change these). */
  drift: z.array(MachineChange),
  /** The running VM still runs with an older configuration than its definition. */
  pendingRestart: z.boolean(),
  /** e.g. vnc://127.0.0.1:5900, while it runs with graphics. */
  graphicsUri: z.string().optional(),
});
export type MachineStatus = z.infer<typeof MachineStatus>;

export const MachineStatusResult = z.object({ machines: z.array(MachineStatus) });
export type MachineStatusResult = z.infer<typeof MachineStatusResult>;

export const MachineCaptureRequest = z.strictObject({ names: z.array(MachineName).min(1) });
export type MachineCaptureRequest = z.infer<typeof MachineCaptureRequest>;

export const MachineCapture = z.object({
  name: z.string(),
  /** Absent when the domain does not exist. */
  vm: MachineSpec.optional(),
  /** What the domain has that the manifest cannot express; capture does not drop it silently. */
  notRoundTripped: z.array(z.string()),
});
export type MachineCapture = z.infer<typeof MachineCapture>;

export const MachineCaptureResult = z.object({ machines: z.array(MachineCapture) });
export type MachineCaptureResult = z.infer<typeof MachineCaptureResult>;

export const MachinePowerRequest = z.strictObject({
  name: MachineName,
  action: z.enum(["start", "stop"]),
  /** stop: seconds the guest gets after the ACPI request before it is forced off. */
  timeoutSeconds: z.number().min(1).max(3600).default(60),
  /** stop: power off at once. */
  force: z.boolean().default(false),
});
export type MachinePowerRequest = z.infer<typeof MachinePowerRequest>;

export const MachinePowerResult = z.object({
  name: z.string(),
  state: MachinePowerState,
  /** start: it ran already; stop: graceful, forced or already-stopped. */
  outcome: z.enum(["started", "already-running", "graceful", "forced", "already-stopped"]),
});
export type MachinePowerResult = z.infer<typeof MachinePowerResult>;
