import { z } from "zod";
import { OperationError } from "./errors.js";
import { BootDevice, CloudInitSpec, ContainerSpec, Firmware, KeySpec, NetworkSpec, ReadinessSpec } from "./spec.js";

// The provider protocol: 15 MCP tools, each answering an OperationResult.
// Requests carry provider-level (prefixed) names and fully rendered specs.
// vm_start / vm_stop came after the original's 13: a provider that lacks them answers NOT_IMPLEMENTED.

export const PROVIDER_TOOLS = [
  "provider_capabilities",
  "vm_create",
  "vm_get",
  "vm_list",
  "vm_delete",
  "network_create",
  "network_get",
  "network_list",
  "network_delete",
  "key_create",
  "key_get",
  "key_list",
  "key_delete",
  "vm_start",
  "vm_stop",
] as const;
export type ProviderToolName = (typeof PROVIDER_TOOLS)[number];

/**
 * Optional tools of a provider that applies a VM manifest (api/vm-manifest.ts): it lists them in tools/list and
 * declares vmFeatures "manifest". Other providers neither list nor serve them.
 */
export const MACHINE_TOOLS = ["machine_sync", "machine_status", "machine_capture", "machine_power"] as const;
export type MachineToolName = (typeof MACHINE_TOOLS)[number];
/** vmFeatures entry of a provider that serves MACHINE_TOOLS. */
export const MANIFEST_FEATURE = "manifest";

/** start/stop are declared on the vm resource only, by providers that serve vm_start/vm_stop. */
export const Operation = z.enum(["create", "get", "list", "delete", "start", "stop"]);
export type Operation = z.infer<typeof Operation>;

export const ResourceCapability = z.object({
  kind: z.enum(["key", "network", "vm"]),
  operations: z.array(Operation),
  networkKinds: z.array(z.string()).optional(),
  keyTypes: z.array(z.string()).optional(),
  /** Features a VM may use on this provider (see src/orchestrator/vm-features.ts); "x" also covers "x.y". */
  vmFeatures: z.array(z.string()).optional(),
  /** Features every VM must use on this provider, e.g. libvirt needs a disk. */
  requiredVmFeatures: z.array(z.string()).optional(),
});
export type ResourceCapability = z.infer<typeof ResourceCapability>;

export const CapabilitiesResponse = z.object({
  providerName: z.string(),
  version: z.string(),
  resources: z.array(ResourceCapability),
  /** True for a test double that creates nothing real (the stub): never picked for a spec unless preferred by name. */
  simulated: z.boolean().optional(),
});
export type CapabilitiesResponse = z.infer<typeof CapabilitiesResponse>;

const providerSpec = z.record(z.string(), z.unknown()).optional();

export const KeyCreateRequest = z.strictObject({
  name: z.string().min(1),
  spec: KeySpec,
  providerSpec,
});
export type KeyCreateRequest = z.infer<typeof KeyCreateRequest>;

export const NetworkCreateRequest = z.strictObject({
  name: z.string().min(1),
  kind: z.string().min(1),
  spec: NetworkSpec,
  providerSpec,
});
export type NetworkCreateRequest = z.infer<typeof NetworkCreateRequest>;

export const ProviderVMSpec = z.strictObject({
  memory: z.number().int().positive(),
  vcpus: z.number().int().positive(),
  /** Provider-level network names, one NIC each, in order. */
  networks: z.array(z.string()).default([]),
  /** Kept for the original's requests; `networks` wins. */
  network: z.string().optional(),
  /** Provider-level network name → IPv4 address reserved for this VM's NIC on it. */
  fixedIPs: z.record(z.string(), z.string()).optional(),
  disk: z.strictObject({ baseImage: z.string().optional(), size: z.string() }).optional(),
  container: ContainerSpec.optional(),
  boot: z.strictObject({
    order: z.array(BootDevice).default(["hd"]),
    firmware: Firmware.optional(),
    secureBoot: z.boolean().optional(),
    tpm: z.boolean().optional(),
  }),
  cloudInit: CloudInitSpec.optional(),
  readiness: ReadinessSpec.optional(),
});
export type ProviderVMSpec = z.infer<typeof ProviderVMSpec>;

export const VMCreateRequest = z.strictObject({
  name: z.string().min(1),
  spec: ProviderVMSpec,
  providerSpec,
});
export type VMCreateRequest = z.infer<typeof VMCreateRequest>;

export const GetRequest = z.strictObject({ name: z.string().min(1) });
export type GetRequest = z.infer<typeof GetRequest>;
/** filter: equality on top-level scalar fields of the state, e.g. {status: "running"}; every pair must match. */
export const ListRequest = z.strictObject({ filter: z.record(z.string(), z.unknown()).optional() });
export type ListRequest = z.infer<typeof ListRequest>;
/** force: delete even while other resources use it (RESOURCE_BUSY otherwise). */
export const DeleteRequest = z.strictObject({ name: z.string().min(1), force: z.boolean().optional() });
export type DeleteRequest = z.infer<typeof DeleteRequest>;

export const VMStartRequest = z.strictObject({
  name: z.string().min(1),
  /** Wait for the readiness checks the VM was created with again (its IP may be discovered anew). */
  waitReady: z.boolean().default(true),
});
export type VMStartRequest = z.infer<typeof VMStartRequest>;

export const VMStopRequest = z.strictObject({
  name: z.string().min(1),
  /** How long the guest gets to power off after the ACPI shutdown request before it is forced off. */
  timeoutSeconds: z.number().min(1).max(3600).default(60),
  /** Power off at once, without asking the guest. */
  force: z.boolean().default(false),
});
export type VMStopRequest = z.infer<typeof VMStopRequest>;

/** How vm_stop ended: the guest powered off, it was powered off (force, or the timeout passed), or it was off already. */
export const StopMethod = z.enum(["graceful", "forced", "already-stopped"]);
export type StopMethod = z.infer<typeof StopMethod>;

export const KeyState = z.looseObject({
  name: z.string(),
  type: z.string(),
  publicKey: z.string(),
  publicKeyPath: z.string(),
  privateKeyPath: z.string(),
  fingerprint: z.string(),
  createdAt: z.string().optional(),
  providerState: z.record(z.string(), z.unknown()).optional(),
});
export type KeyState = z.infer<typeof KeyState>;

export const NetworkState = z.looseObject({
  name: z.string(),
  kind: z.string(),
  status: z.string(),
  ip: z.string().optional(),
  cidr: z.string().optional(),
  gateway: z.string().optional(),
  interfaceName: z.string().optional(),
  uuid: z.string().optional(),
  pid: z.number().int().optional(),
  providerState: z.record(z.string(), z.unknown()).optional(),
});
export type NetworkState = z.infer<typeof NetworkState>;

export const VMState = z.looseObject({
  name: z.string(),
  /** running | stopped | creating | error | unknown (a string: providers written for the original may say more). */
  status: z.string(),
  ip: z.string().optional(),
  mac: z.string().optional(),
  /** Per provider-level network name. */
  ips: z.record(z.string(), z.string()).optional(),
  macs: z.record(z.string(), z.string()).optional(),
  uuid: z.string().optional(),
  consoleOutput: z.string().optional(),
  sshCommand: z.string().optional(),
  sshUser: z.string().optional(),
  /** SSH port when it is not 22 (e.g. a stub pointed at a loopback sshd). */
  sshPort: z.number().int().optional(),
  /** "kvm" or "tcg": how the VM is actually accelerated. */
  accelerator: z.string().optional(),
  createdAt: z.string().optional(),
  /** Only in vm_stop's answer. */
  stopMethod: StopMethod.optional(),
  providerState: z.record(z.string(), z.unknown()).optional(),
});
export type VMState = z.infer<typeof VMState>;

export const OperationResult = z.object({
  success: z.boolean(),
  error: OperationError.optional(),
  resource: z.unknown().optional(),
});
export type OperationResult = z.infer<typeof OperationResult>;

// Optional tools beyond the 15: discovery (availability, health) and the dry run of a create. They are called by
// name; a provider written before them answers NOT_IMPLEMENTED (unknown tool), which the engine reports as
// "unknown" and never as a failure of the provider.
export const OPTIONAL_PROVIDER_TOOLS = ["provider_available", "provider_health", "provider_plan", "provider_owned", "provider_reclaim"] as const;
export type OptionalProviderToolName = (typeof OPTIONAL_PROVIDER_TOOLS)[number];

/** provider_available: fast, opens no connection (binaries and device nodes present, config readable). */
export const AvailabilityResponse = z.object({
  available: z.boolean(),
  /** Why not, or what makes it available (e.g. "virsh found at /usr/bin/virsh"). */
  reason: z.string().optional(),
});
export type AvailabilityResponse = z.infer<typeof AvailabilityResponse>;

export const HealthWarning = z.object({
  message: z.string(),
  /** What the user can do about it, e.g. "sudo usermod -aG kvm $USER". */
  fix: z.string(),
});
export type HealthWarning = z.infer<typeof HealthWarning>;

export const HealthResponse = z.object({
  healthy: z.boolean(),
  /** Component versions, e.g. {libvirt: "10.0.0", qemu: "8.2.2"}. */
  versions: z.record(z.string(), z.string()).default({}),
  /** The daemon the provider talks to, when it has one. */
  daemon: z.object({ name: z.string(), reachable: z.boolean(), detail: z.string().optional() }).optional(),
  accelerator: z.object({ kind: z.enum(["kvm", "tcg", "none"]), reason: z.string() }).optional(),
  /** External commands the provider runs, and where they were found. */
  tools: z.array(z.object({ name: z.string(), present: z.boolean(), path: z.string().optional() })).default([]),
  /** Free space in the directories the provider writes to. */
  disks: z.array(z.object({ path: z.string(), freeBytes: z.number().nonnegative() })).default([]),
  /** Resources the provider runs right now, by kind. */
  running: z.record(z.string(), z.number().int().nonnegative()).default({}),
  /** What the host has for guests, for placement on a pool of hosts: its CPUs, and its memory in all and free now. */
  capacity: z.object({ vcpus: z.number().int().nonnegative(), memoryMiB: z.number().nonnegative(), freeMemoryMiB: z.number().nonnegative().optional() }).optional(),
  warnings: z.array(HealthWarning).default([]),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

export const PlannableTool = z.enum(["key_create", "network_create", "vm_create"]);
export type PlannableTool = z.infer<typeof PlannableTool>;

/** provider_plan: what `tool` with `arguments` would do, without doing any of it (no files, processes, sockets). */
export const PlanRequest = z.strictObject({
  tool: PlannableTool,
  arguments: z.record(z.string(), z.unknown()),
});
export type PlanRequest = z.infer<typeof PlanRequest>;

/** One step a create would take: a command (argv), a file it would write, an object it would define, or a fact. */
export const PlannedStep = z.object({
  action: z.enum(["exec", "write", "define", "note"]),
  summary: z.string(),
  argv: z.array(z.string()).optional(),
  path: z.string().optional(),
  /** File or object contents (XML, user-data, ...), exactly as they would be written. */
  content: z.string().optional(),
});
export type PlannedStep = z.infer<typeof PlannedStep>;

export const PlanResponse = z.object({ steps: z.array(PlannedStep) });
export type PlanResponse = z.infer<typeof PlanResponse>;

// Garbage collection (`testenv-vm gc`): a provider lists every object it created, of every environment, with the
// owner it recorded on it; the engine decides which owners are gone and asks the provider to remove those objects.

/**
 * What an owned object is, in the order gc removes them: VMs (and containers) first, then networks (bridges,
 * dnsmasq processes, libvirt networks), then keys, then files and directories.
 */
export const OwnedKind = z.enum(["vm", "network", "key", "file"]);
export type OwnedKind = z.infer<typeof OwnedKind>;

export const OwnedObject = z.object({
  kind: OwnedKind,
  /** The provider's name for it (a provider-level resource name, a bridge, a path); provider_reclaim takes it back. */
  name: z.string().min(1),
  /** What it is on the host, e.g. "libvirt domain", "dnsmasq pid 4242", "data dir". */
  detail: z.string().optional(),
  /** The environment it belongs to, as recorded when it was made; absent when the object records none. */
  testID: z.string().optional(),
  prefix: z.string().optional(),
  /** The state dir of that environment, as recorded; absent on objects made before it was recorded. */
  stateDir: z.string().optional(),
  /** ISO time it was made, when known. */
  createdAt: z.string().optional(),
});
export type OwnedObject = z.infer<typeof OwnedObject>;

export const OwnedResponse = z.object({ objects: z.array(OwnedObject) });
export type OwnedResponse = z.infer<typeof OwnedResponse>;

/** provider_reclaim: remove one object provider_owned listed; NOT_FOUND when it is gone, refused when not ours. */
export const ReclaimRequest = z.strictObject({ kind: OwnedKind, name: z.string().min(1) });
export type ReclaimRequest = z.infer<typeof ReclaimRequest>;
