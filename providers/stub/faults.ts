import type { OptionalProviderToolName, ProviderToolName } from "../../api/provider.js";
import type { SnapshotToolName } from "../../api/snapshot.js";
import { ProviderError, type ProviderImplementation, type ResourceHandlers, type SnapshotHandlers, type VMHandlers } from "../kit/index.js";
import type { ExitOn, Fault, StubConfig } from "./config.js";

// Fault injection for tests: fail, delay or crash on chosen tools and resource names.

type StubTool = ProviderToolName | OptionalProviderToolName | SnapshotToolName;

/** A fault's name matches the provider-level name or its logical suffix (`<prefix>-<name>`). */
export function nameMatches(pattern: string | undefined, name: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (name === undefined) return false;
  return name === pattern || name.endsWith(`-${pattern}`);
}

export interface FaultHooks {
  /** Exits the process; replaced in unit tests. */
  exit(code: number, reason: string): never;
  sleep(ms: number): Promise<void>;
}

const defaultHooks: FaultHooks = {
  exit(code, reason) {
    process.stderr.write(`testenv-vm-provider-stub: exiting with code ${code}: ${reason}\n`);
    process.exit(code);
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export function withFaults(impl: ProviderImplementation, config: StubConfig, hooks: FaultHooks = defaultHooks): ProviderImplementation {
  const used = new Map<Fault, number>();

  const delayFor = (tool: StubTool): number =>
    typeof config.delayMs === "number" ? config.delayMs : (config.delayMs?.[tool] ?? 0);

  const maybeExit = (exitOn: ExitOn | undefined, tool: StubTool, name: string | undefined, when: ExitOn["when"]): void => {
    if (exitOn === undefined || exitOn.tool !== tool || exitOn.when !== when || !nameMatches(exitOn.name, name)) return;
    hooks.exit(exitOn.code, `exitOn ${tool}${name !== undefined ? ` "${name}"` : ""} (${when} the operation)`);
  };

  const injectedFault = (tool: StubTool, name: string | undefined): ProviderError | undefined => {
    const fault = config.faults.find((f) => f.tool === tool && nameMatches(f.name, name) && (f.times === undefined || (used.get(f) ?? 0) < f.times));
    if (fault === undefined) return undefined;
    used.set(fault, (used.get(fault) ?? 0) + 1);
    const message = fault.message ?? `injected fault: ${tool}${name !== undefined ? ` "${name}"` : ""} fails with ${fault.code}`;
    return new ProviderError(fault.code, message, fault.retryable !== undefined ? { retryable: fault.retryable } : {});
  };

  const around = async <T>(tool: StubTool, name: string | undefined, run: () => Promise<T>): Promise<T> => {
    const ms = delayFor(tool);
    if (ms > 0) await hooks.sleep(ms);
    maybeExit(config.exitOn, tool, name, "before");
    const fault = injectedFault(tool, name);
    if (fault !== undefined) throw fault;
    const result = await run();
    maybeExit(config.exitOn, tool, name, "after");
    return result;
  };

  function wrap<R extends { name: string }, S>(kind: "key" | "network" | "vm", handlers: ResourceHandlers<R, S> | undefined): ResourceHandlers<R, S> | undefined {
    if (handlers === undefined) return undefined;
    return {
      create: (request) => around(`${kind}_create`, request.name, () => handlers.create(request)),
      get: (name) => around(`${kind}_get`, name, () => handlers.get(name)),
      list: (filter) => around(`${kind}_list`, undefined, () => handlers.list(filter)),
      delete: (name, force) => around(`${kind}_delete`, name, () => handlers.delete(name, force)),
    };
  }

  function wrapVMs(handlers: VMHandlers | undefined): VMHandlers | undefined {
    const crud = wrap("vm", handlers);
    if (handlers === undefined || crud === undefined) return undefined;
    const start = handlers.start?.bind(handlers);
    const stop = handlers.stop?.bind(handlers);
    return {
      ...crud,
      ...(start ? { start: (request) => around("vm_start", request.name, () => start(request)) } : {}),
      ...(stop ? { stop: (request) => around("vm_stop", request.name, () => stop(request)) } : {}),
    };
  }

  function wrapSnapshots(handlers: SnapshotHandlers | undefined): SnapshotHandlers | undefined {
    if (handlers === undefined) return undefined;
    return {
      save: (request) => around("vm_snapshot_save", request.name, () => handlers.save(request)),
      restore: (request) => around("vm_snapshot_restore", request.name, () => handlers.restore(request)),
      list: (request) => around("vm_snapshot_list", request.name, () => handlers.list(request)),
      delete: (request) => around("vm_snapshot_delete", request.name, () => handlers.delete(request)),
    };
  }

  const keys = wrap("key", impl.keys);
  const networks = wrap("network", impl.networks);
  const vms = wrapVMs(impl.vms);
  const snapshots = wrapSnapshots(impl.snapshots);
  return {
    capabilities: () => {
      maybeExit(config.exitOn, "provider_capabilities", undefined, "before");
      const fault = injectedFault("provider_capabilities", undefined);
      if (fault !== undefined) throw fault;
      return impl.capabilities();
    },
    ...(keys ? { keys } : {}),
    ...(networks ? { networks } : {}),
    ...(vms ? { vms } : {}),
    ...(snapshots ? { snapshots } : {}),
    ...(impl.shutdown ? { shutdown: impl.shutdown.bind(impl) } : {}),
    ...wrapDiscovery(impl, around),
    ...(impl.owned ? { owned: () => around("provider_owned", undefined, () => impl.owned?.() ?? Promise.resolve([])) } : {}),
    ...(impl.reclaim ? { reclaim: (request) => around("provider_reclaim", request.name, () => impl.reclaim?.(request) ?? Promise.resolve()) } : {}),
  };
}

type Around = <T>(tool: StubTool, name: string | undefined, run: () => Promise<T>) => Promise<T>;

/** Discovery and plan go through the same faults and delays (a stub that hangs on provider_health, say). */
function wrapDiscovery(impl: ProviderImplementation, around: Around): Pick<ProviderImplementation, "available" | "health" | "plan"> {
  return {
    ...(impl.available ? { available: () => around("provider_available", undefined, async () => (await impl.available?.()) ?? { available: true }) } : {}),
    ...(impl.health ? { health: () => around("provider_health", undefined, () => impl.health?.() ?? Promise.reject(new Error("no health"))) } : {}),
    ...(impl.plan ? { plan: (planned) => around("provider_plan", planned.request.name, () => impl.plan?.(planned) ?? Promise.resolve([])) } : {}),
  };
}
