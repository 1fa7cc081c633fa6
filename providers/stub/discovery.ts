import type { AvailabilityResponse, HealthResponse, PlannedStep } from "../../api/provider.js";
import { packageVersion } from "../../lib/package.js";
import type { DiscoveryHandlers, PlannableRequest } from "../kit/index.js";
import type { StubConfig } from "./config.js";
import type { StubStore } from "./store.js";

// The stub needs nothing from the host: it is always available and healthy. Its plan names the records it would
// keep and, with writeKeyFiles, the key files it would write.

function storeStep(config: StubConfig, summary: string): PlannedStep {
  return config.store === undefined
    ? { action: "note", summary: `${summary} (in the process's memory)` }
    : { action: "write", summary: `${summary} (in the stub's store file, under its lock)`, path: config.store };
}

function planSteps(planned: PlannableRequest, config: StubConfig): PlannedStep[] {
  switch (planned.tool) {
    case "key_create": {
      const { name, spec } = planned.request;
      const steps: PlannedStep[] = [storeStep(config, `record ${spec.type} key ${name}`)];
      if (config.writeKeyFiles && spec.outputDir !== undefined) {
        steps.push(
          { action: "write", summary: `private key of ${name} (mode 0600, generated at create)`, path: `${spec.outputDir}/${name}` },
          { action: "write", summary: `public key of ${name} (mode 0644)`, path: `${spec.outputDir}/${name}.pub` },
        );
      }
      return steps;
    }
    case "network_create": {
      const { name, kind, spec } = planned.request;
      const cidr = spec.cidr ?? "a free /24 in 192.168.100-199.0/24, chosen from the name at create";
      return [storeStep(config, `record ${kind} network ${name} with cidr ${cidr}`)];
    }
    case "vm_create": {
      const { name, spec } = planned.request;
      const networks = spec.networks.length > 0 ? spec.networks.join(", ") : "no network";
      return [storeStep(config, `record vm ${name}: ${spec.memory} MiB, ${spec.vcpus} vCPU, on ${networks}`)];
    }
  }
}

export function stubDiscovery(config: StubConfig, store: StubStore): DiscoveryHandlers {
  return {
    available: (): AvailabilityResponse => ({ available: true, reason: "the stub needs nothing from the host" }),
    health: async (): Promise<HealthResponse> => {
      const running = await store.transact((data) => ({
        keys: Object.keys(data.keys).length,
        networks: Object.keys(data.networks).length,
        vms: Object.values(data.vms).filter((vm) => vm.status === "running").length,
      }));
      return {
        healthy: true,
        versions: { stub: packageVersion() },
        accelerator: { kind: "none", reason: "the stub runs no guests" },
        tools: [],
        disks: [],
        running,
        warnings: [],
      };
    },
    plan: (planned) => Promise.resolve(planSteps(planned, config)),
  };
}
