import type { HostResources } from "../../api/host-pool.js";

// Which host of a pool an environment goes to: pure, from what each host has, what is placed there already and
// what the environment needs. The engine gathers those facts (src/orchestrator/pool-placement.ts); this decides.

export type ResourceName = keyof HostResources;
export const RESOURCE_NAMES: readonly ResourceName[] = ["vcpus", "memoryMiB", "diskGiB"];
const UNITS: Record<ResourceName, string> = { vcpus: "vCPUs", memoryMiB: "MiB memory", diskGiB: "GiB disk" };

export const NO_RESOURCES: HostResources = { vcpus: 0, memoryMiB: 0, diskGiB: 0 };

/**
 * vCPUs per host CPU when the CPU count is read from the host (not configured): guests of test environments idle
 * most of the time, so vCPUs are shared, as every hypervisor scheduler does; configure capacity.vcpus for a hard limit.
 */
export const READ_VCPUS_PER_CPU = 4;

/** One environment already on a host, from the ledger. */
export interface PlacedEnvironment {
  needs: HostResources;
  /** Still being created: counts against maxParallelCreates, and against what the host reported free. */
  creating: boolean;
}

export interface HostFacts {
  uri: string;
  /** Why the host cannot take anything now (unreachable, unhealthy); absent when it can. */
  unavailable?: string;
  /** Limits from the pool's config: every environment placed here counts against them. */
  configured: Partial<HostResources>;
  /**
   * Read from the host now (for fields not configured): vCPUs are its CPU count (READ_VCPUS_PER_CPU each), so
   * every placed environment counts; memory and disk are what is free now, which running guests already use, so
   * only those still being created count.
   */
  read: Partial<HostResources>;
  placed: readonly PlacedEnvironment[];
  maxParallelCreates: number;
}

export type PlacementDecision =
  | { kind: "placed"; host: string; reason: string; passedOver: { host: string; why: string }[] }
  /** Some host could take it once a create in flight there ends: wait and decide again. */
  | { kind: "wait"; why: string }
  | { kind: "refused"; reason: "no-host-available" | "no-fit"; passedOver: { host: string; why: string }[] };

function sum(entries: readonly PlacedEnvironment[], field: ResourceName): number {
  return entries.reduce((total, entry) => total + entry.needs[field], 0);
}

/** What is left on the host per resource; a resource neither configured nor read is unlimited (absent). */
export function freeOnHost(host: HostFacts): Partial<HostResources> {
  const free: Partial<HostResources> = {};
  for (const field of RESOURCE_NAMES) {
    const configured = host.configured[field];
    const read = host.read[field];
    if (configured !== undefined) free[field] = configured - sum(host.placed, field);
    else if (read !== undefined && field === "vcpus") free[field] = read * READ_VCPUS_PER_CPU - sum(host.placed, field);
    else if (read !== undefined) free[field] = read - sum(host.placed.filter((e) => e.creating), field);
  }
  return free;
}

/** What the host lacks for `needs`, in words ("2 vCPUs (has 1 of 4 free)"); empty when it fits. */
export function shortfall(host: HostFacts, needs: HostResources): string[] {
  const free = freeOnHost(host);
  return RESOURCE_NAMES.flatMap((field) => {
    const left = free[field];
    if (left === undefined || needs[field] <= left) return [];
    return [`${formatAmount(needs[field])} ${UNITS[field]} (${formatAmount(Math.max(0, left))} free)`];
  });
}

const formatAmount = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1));

/** Memory left after this environment, as a share of what was free: more room left ranks first. */
function roomAfter(host: HostFacts, needs: HostResources): number {
  const free = freeOnHost(host);
  const shares = RESOURCE_NAMES.flatMap((field) => {
    const left = free[field];
    return left === undefined || left <= 0 ? [] : [(left - needs[field]) / left];
  });
  return shares.length === 0 ? 1 : Math.min(...shares);
}

/**
 * Places the environment on the healthy host that fits it with the fewest environments already there, then the
 * most room left, then the pool's order. Hosts whose creates in flight are at their limit are passed over while
 * another fits; when only they fit, the answer is to wait.
 */
export function choosePlacement(needs: HostResources, hosts: readonly HostFacts[]): PlacementDecision {
  const passedOver: { host: string; why: string }[] = [];
  const fitting: HostFacts[] = [];
  const full: HostFacts[] = [];
  for (const host of hosts) {
    if (host.unavailable !== undefined) {
      passedOver.push({ host: host.uri, why: `skipped: ${host.unavailable}` });
      continue;
    }
    const lacks = shortfall(host, needs);
    if (lacks.length > 0) {
      passedOver.push({ host: host.uri, why: `lacks ${lacks.join(", ")}` });
      continue;
    }
    const creating = host.placed.filter((entry) => entry.creating).length;
    if (creating >= host.maxParallelCreates) full.push(host);
    else fitting.push(host);
  }
  const ranked = fitting
    .map((host, order) => ({ host, order, environments: host.placed.length, room: roomAfter(host, needs) }))
    .sort((a, b) => a.environments - b.environments || b.room - a.room || a.order - b.order);
  const best = ranked[0];
  if (best !== undefined) {
    for (const other of ranked.slice(1)) passedOver.push({ host: other.host.uri, why: `fits, but has ${other.environments} environment(s) to ${best.environments} on ${best.host.uri}` });
    for (const host of full) passedOver.push({ host: host.uri, why: `fits, but ${host.maxParallelCreates} create(s) are in flight there (maxParallelCreates)` });
    const reason = `fewest environments there (${best.environments}) of the ${ranked.length} host(s) that fit and are free to create; ${describeFree(best.host)}`;
    return { kind: "placed", host: best.host.uri, reason, passedOver: ordered(passedOver, hosts) };
  }
  if (full.length > 0) {
    return { kind: "wait", why: `every host that fits is at its maxParallelCreates (${full.map((h) => `${h.uri}: ${h.maxParallelCreates}`).join(", ")})` };
  }
  const anyAvailable = hosts.some((host) => host.unavailable === undefined);
  return { kind: "refused", reason: anyAvailable ? "no-fit" : "no-host-available", passedOver: ordered(passedOver, hosts) };
}

function describeFree(host: HostFacts): string {
  const free = freeOnHost(host);
  const parts = RESOURCE_NAMES.flatMap((field) => (free[field] === undefined ? [] : [`${formatAmount(free[field])} ${UNITS[field]}`]));
  return parts.length === 0 ? "no capacity configured or read" : `free before it: ${parts.join(", ")}`;
}

/** The pool's order, so messages list hosts as the config does. */
function ordered(passedOver: { host: string; why: string }[], hosts: readonly HostFacts[]): { host: string; why: string }[] {
  const index = (uri: string): number => hosts.findIndex((host) => host.uri === uri);
  return [...passedOver].sort((a, b) => index(a.host) - index(b.host));
}

/** Adds up what an environment's VMs need: vCPUs, memory and disk (GiB; a VM's disk without a size counts 0). */
export function environmentNeeds(vms: readonly { vcpus: number; memoryMiB: number; diskGiB: number }[]): HostResources {
  return vms.reduce((total, vm) => ({ vcpus: total.vcpus + vm.vcpus, memoryMiB: total.memoryMiB + vm.memoryMiB, diskGiB: total.diskGiB + vm.diskGiB }), NO_RESOURCES);
}

/** "10G", "512M", "1T", "2048" (bytes) as GiB; undefined when it is not a size. */
export function sizeInGiB(size: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(size);
  if (!match?.[1]) return undefined;
  const scale: Record<string, number> = { "": 1 / 1024 ** 3, K: 1 / 1024 ** 2, M: 1 / 1024, G: 1, T: 1024 };
  return Number(match[1]) * (scale[(match[2] ?? "").toUpperCase()] ?? 1);
}
