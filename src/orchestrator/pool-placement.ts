import { HostPool, type HostResources, type Placement, type PoolHost } from "../../api/host-pool.js";
import type { HealthResponse } from "../../api/provider.js";
import type { ProviderConfig, Spec } from "../../api/spec.js";
import type { Logger } from "../../lib/log.js";
import { retryUntil } from "../../lib/retry.js";
import { TestenvError } from "../errors.js";
import { checkProviders, DEFAULT_CHECK_TIMEOUT_MS, type ProviderReport } from "../provider/registry.js";
import { resolveProviderName } from "../spec/validate.js";
import { choosePlacement, environmentNeeds, sizeInGiB, type HostFacts, type PlacementDecision } from "./placement.js";
import { currentCreator, placedOn, type LedgerEntry, type PlacementLedger } from "./placement-ledger.js";

// The engine's placement step: for every provider whose config names a pool (`hosts:`), ask each host's health
// and capacity (its provider in inspect mode), choose one host under the ledger's lock, and start the provider
// for this environment with that host's fields instead of the pool. The state keeps the placed configs, so delete,
// status and gc of the environment go to its host without placing again.

const DEFAULT_MAX_PARALLEL_CREATES = 4;
/** How long a create waits for a slot on a host that fits (its maxParallelCreates reached). */
const SLOT_WAIT_MS = 20 * 60_000;
const SLOT_POLL_MS = 2_000;
const GIB = 1024 ** 3;

export interface PlacementContext {
  testID: string;
  stateDir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  ledger: PlacementLedger;
  /** plan: choose as a create would now, record nothing and never wait. */
  preview?: boolean;
  signal?: AbortSignal;
  /** Asks each host of a pool for its health and capacity; default: its provider in inspect mode (tests pass their own). */
  probe?: HostProbe;
}

/** One report per host, in the pool's order. */
export type HostProbe = (provider: ProviderConfig, configs: readonly Record<string, unknown>[]) => Promise<ProviderReport[]>;

export interface PlacedProviders {
  /** The spec's providers, each pool replaced by its chosen host. */
  providers: ProviderConfig[];
  placements: Placement[];
}

/** Whether the provider config names a pool of hosts. */
export function isPool(provider: ProviderConfig): boolean {
  return provider.spec?.hosts !== undefined;
}

/** The provider's config for one host of its pool: the pool's shared fields with the host's uri and ssh. */
export function configForHost(config: Record<string, unknown>, host: PoolHost): Record<string, unknown> {
  const { hosts: _pool, ...shared } = config;
  return { ...shared, uri: host.uri, ...(host.ssh ? { ssh: host.ssh } : {}) };
}

/** Every host of a pool provider as a provider of its own (gc asks each). */
export function expandPool(provider: ProviderConfig): ProviderConfig[] {
  if (!isPool(provider)) return [provider];
  const parsed = HostPool.safeParse(provider.spec?.hosts);
  if (!parsed.success) return [provider];
  return parsed.data.map((host) => ({ ...provider, spec: configForHost(provider.spec ?? {}, host) }));
}

function poolOf(index: number, provider: ProviderConfig): PoolHost[] {
  const parsed = HostPool.safeParse(provider.spec?.hosts);
  if (parsed.success) {
    if (provider.spec?.uri !== undefined) throw poolInvalid(index, "uri", "name either uri (one host) or hosts (a pool), not both");
    return parsed.data;
  }
  const issue = parsed.error.issues[0];
  const at = issue && issue.path.length > 0 ? `hosts.${issue.path.join(".")}` : "hosts";
  throw poolInvalid(index, at, issue?.message ?? "not a list of hosts");
}

function poolInvalid(index: number, field: string, message: string): TestenvError {
  const path = `providers[${index}].spec.${field}`;
  return new TestenvError("SPEC_INVALID", `${path}: ${message}`, { issues: [{ field: path, message }] });
}

/** What the provider's VMs in this spec need in all. */
export function needsOf(spec: Spec, provider: string): HostResources {
  const vms = (spec.vms ?? []).filter((vm) => resolveProviderName(spec, vm) === provider);
  return environmentNeeds(vms.map((vm) => ({ vcpus: vm.spec.vcpus, memoryMiB: vm.spec.memory, diskGiB: vm.spec.disk ? (sizeInGiB(vm.spec.disk.size) ?? 0) : 0 })));
}

/** What the host reported: vCPUs and free memory from libvirt, free disk of the provider's data dir. */
function readCapacity(health: HealthResponse | undefined): Partial<HostResources> {
  const capacity = health?.capacity;
  const disk = health?.disks[0];
  return {
    ...(capacity?.vcpus !== undefined ? { vcpus: capacity.vcpus } : {}),
    ...(capacity?.freeMemoryMiB !== undefined ? { memoryMiB: capacity.freeMemoryMiB } : {}),
    ...(disk !== undefined ? { diskGiB: disk.freeBytes / GIB } : {}),
  };
}

function unavailability(report: ProviderReport): string | undefined {
  if (report.outcome !== "ok") return `${report.outcome === "timed out" ? "did not answer in time" : "failed"}: ${report.error ?? "no detail"}`;
  if (report.healthy === true) return undefined;
  const daemon = report.health?.daemon;
  if (daemon && !daemon.reachable) return `not reachable: ${daemon.detail ?? "no detail"}`;
  const warnings = report.health?.warnings.map((warning) => warning.message).join("; ");
  return `unhealthy: ${warnings || report.error || "it says so without a reason"}`;
}

function probeHosts(provider: ProviderConfig, hosts: readonly PoolHost[], context: PlacementContext): Promise<ProviderReport[]> {
  const configs = hosts.map((host) => configForHost(provider.spec ?? {}, host));
  if (context.probe) return context.probe(provider, configs);
  return checkProviders(
    configs.map((config) => ({ name: provider.name, engine: provider.engine, source: "spec" as const, config })),
    { cwd: context.cwd, env: context.env, timeoutMs: DEFAULT_CHECK_TIMEOUT_MS, log: context.log },
  );
}

function hostFacts(hosts: readonly PoolHost[], reports: readonly ProviderReport[], entries: readonly LedgerEntry[], preview: boolean): HostFacts[] {
  return hosts.map((host, i) => {
    const report = reports[i];
    const unavailable = report ? unavailability(report) : "not asked";
    return {
      uri: host.uri,
      ...(unavailable !== undefined ? { unavailable } : {}),
      configured: host.capacity ?? {},
      read: readCapacity(report?.health),
      placed: placedOn(entries, host.uri),
      maxParallelCreates: preview ? Number.POSITIVE_INFINITY : (host.maxParallelCreates ?? DEFAULT_MAX_PARALLEL_CREATES),
    };
  });
}

function refusal(provider: ProviderConfig, index: number, needs: HostResources, decision: Extract<PlacementDecision, { kind: "refused" }>): TestenvError {
  const lines = decision.passedOver.map((host) => `${host.host}: ${host.why}`).join("; ");
  const need = `${needs.vcpus} vCPUs, ${needs.memoryMiB} MiB memory, ${needs.diskGiB.toFixed(1)} GiB disk`;
  const field = `providers[${index}].spec.hosts`;
  const message =
    decision.reason === "no-fit"
      ? `no host of provider ${provider.name}'s pool (${field}) fits this environment, which needs ${need}: ${lines}; nothing was created. Make the VMs smaller, raise a host's capacity, or add a host`
      : `no host of provider ${provider.name}'s pool (${field}) is available: ${lines}; nothing was created. Bring a host back (libvirtd, sshd, the network) or add one`;
  return new TestenvError("PLACEMENT_FAILED", message, {
    retryable: decision.reason === "no-host-available",
    details: { provider: provider.name, reason: decision.reason, needs, hosts: decision.passedOver },
    issues: [{ field, message }],
  });
}

async function placeOne(spec: Spec, index: number, provider: ProviderConfig, context: PlacementContext): Promise<{ config: ProviderConfig; placement: Placement }> {
  const hosts = poolOf(index, provider);
  const needs = needsOf(spec, provider.name);
  const reports = await probeHosts(provider, hosts, context);
  reports.forEach((report, i) => {
    const why = unavailability(report);
    if (why !== undefined) context.log.warn(`placement: provider ${provider.name} skips host ${hosts[i]?.uri ?? "?"}: ${why}`);
  });
  const decide = async (entries: readonly LedgerEntry[]): Promise<{ result: PlacementDecision; add?: LedgerEntry }> => {
    const decision = choosePlacement(needs, hostFacts(hosts, reports, entries, context.preview === true));
    if (decision.kind !== "placed" || context.preview === true) return { result: decision };
    const creator = await currentCreator();
    const add: LedgerEntry = { testID: context.testID, stateDir: context.stateDir, provider: provider.name, host: decision.host, needs, since: new Date().toISOString(), ...(creator ? { creator } : {}) };
    return { result: decision, add };
  };
  let waited = false;
  const outcome = await retryUntil(
    async () => {
      const decision = context.preview === true ? (await decide(await context.ledger.read())).result : await context.ledger.update(decide);
      if (decision.kind !== "wait") return decision;
      if (!waited) context.log.info(`placement: provider ${provider.name} waits for a host: ${decision.why}`);
      waited = true;
      return undefined;
    },
    { timeoutMs: SLOT_WAIT_MS, intervalMs: SLOT_POLL_MS, retryable: () => false, ...(context.signal ? { signal: context.signal } : {}) },
  );
  if (!outcome.ok) {
    throw new TestenvError("PLACEMENT_FAILED", `provider ${provider.name}: no host of its pool had a free create slot within ${SLOT_WAIT_MS / 60_000} min (maxParallelCreates); nothing was created`, { retryable: true, details: { provider: provider.name, reason: "busy" } });
  }
  const decision = outcome.value;
  if (decision.kind === "refused") throw refusal(provider, index, needs, decision);
  const host = hosts.find((candidate) => candidate.uri === decision.host);
  if (host === undefined) throw new TestenvError("INTERNAL", `placement chose ${decision.host}, which is not in the pool`);
  context.log.info(`placement: provider ${provider.name} → ${host.uri}: ${decision.reason}`);
  return {
    config: { ...provider, spec: configForHost(provider.spec ?? {}, host) },
    placement: { provider: provider.name, host: host.uri, reason: decision.reason, needs, passedOver: decision.passedOver },
  };
}

/**
 * Places the environment on one host of each pool its providers name; undefined when none names a pool. A create
 * records each choice in the ledger (in flight until settle); refusals throw PLACEMENT_FAILED before anything exists.
 */
export async function placeEnvironment(spec: Spec, context: PlacementContext): Promise<PlacedProviders | undefined> {
  const providers = spec.providers ?? [];
  if (!providers.some(isPool)) return undefined;
  const placed: ProviderConfig[] = [];
  const placements: Placement[] = [];
  try {
    for (const [index, provider] of providers.entries()) {
      if (!isPool(provider)) {
        placed.push(provider);
        continue;
      }
      const one = await placeOne(spec, index, provider, context);
      placed.push(one.config);
      placements.push(one.placement);
    }
  } catch (error) {
    // A second pool refused: the first one's slot is not kept.
    if (placements.length > 0 && context.preview !== true) await context.ledger.release(context.testID, context.stateDir).catch(() => undefined);
    throw error;
  }
  return { providers: placed, placements };
}
