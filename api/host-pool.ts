import { z } from "zod";

// A pool of hosts for a provider that reaches one host by `uri` (libvirt): the engine places each environment whole
// on one of them before anything is created (src/orchestrator/placement*.ts) and starts the provider with that
// host's fields, so the provider itself only ever serves one host.

const count = (what: string) => z.number().int().positive().describe(what);

/** How a qemu+ssh host is reached: the key and known_hosts of one host, or of every host of a pool. */
export const HostSsh = z.strictObject({
  key: z.string().min(1).optional().describe("Private key file for the host (default: ssh's own configuration)."),
  knownHosts: z.string().min(1).optional().describe("known_hosts file the host's key is checked against, strictly (default: ssh's own)."),
});

export const HostCapacity = z
  .strictObject({
    vcpus: count("vCPUs environments may use on this host (default: 4 per CPU that virsh nodeinfo reports).").optional(),
    memoryMiB: count("Memory in MiB environments may use (default: the host's free memory now).").optional(),
    diskGiB: count("Disk in GiB environments may use (default: free space of the provider's data dir there).").optional(),
  })
  .describe("What environments placed on this host may use in all; a field left out is read from the host.");
export type HostCapacity = z.infer<typeof HostCapacity>;

export const PoolHost = z
  .strictObject({
    uri: z.string().min(1).describe("The host's libvirt URI: qemu:///system (this machine) or qemu+ssh://user@host/system."),
    ssh: HostSsh.optional().describe("How to reach a qemu+ssh host (as the provider's own ssh field)."),
    capacity: HostCapacity.optional(),
    maxParallelCreates: count("Environments being created on this host at once, across processes (default 4); more wait.").optional(),
  })
  .describe("One host of a pool.");
export type PoolHost = z.infer<typeof PoolHost>;

export const HostPool = z.array(PoolHost).min(1).describe("Hosts the engine places each environment on, whole, instead of one uri.");
export type HostPool = z.infer<typeof HostPool>;

/** vCPUs, memory and disk: what an environment needs, or what a host has left. */
export const HostResources = z.object({ vcpus: z.number(), memoryMiB: z.number(), diskGiB: z.number() });
export type HostResources = z.infer<typeof HostResources>;

/** Where the engine placed an environment's resources of one pool provider, and why: kept in the state and the plan. */
export const Placement = z.object({
  provider: z.string(),
  /** The chosen host's uri. */
  host: z.string(),
  /** One sentence: why this host. */
  reason: z.string(),
  needs: HostResources,
  /** The other hosts of the pool, each with why it was not chosen. */
  passedOver: z.array(z.object({ host: z.string(), why: z.string() })),
});
export type Placement = z.infer<typeof Placement>;

/** What a plan says of a placement: only the choice, so the same pool and ledger give the same plan bytes. */
export const PlannedPlacement = Placement.pick({ provider: true, host: true, needs: true });
export type PlannedPlacement = z.infer<typeof PlannedPlacement>;
