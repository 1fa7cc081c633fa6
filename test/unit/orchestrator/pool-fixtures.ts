import type { HealthResponse } from "../../../api/provider.js";
import type { Spec } from "../../../api/spec.js";
import type { ProviderReport } from "../../../src/provider/registry.js";
import type { HostProbe } from "../../../src/orchestrator/pool-placement.js";

export const LOCAL = "qemu:///system";
export const REMOTE = "qemu+ssh://root@lab2.example/system";

/** A spec whose provider `lab` is a pool of the local and a remote host; `vms` tiny VMs of 1 vCPU and 128 MiB. */
export function poolSpec(hosts: unknown[] = [{ uri: LOCAL }, { uri: REMOTE, ssh: { key: "/k", knownHosts: "/kh" } }], vms = 1): Spec {
  return {
    providers: [{ name: "lab", engine: "testenv-vm-provider-libvirt", spec: { dataDir: "/data", hosts } }],
    vms: Array.from({ length: vms }, (_, i) => ({ name: `vm${i}`, spec: { vcpus: 1, memory: 128, disk: { baseImage: "tiny", size: "1G" } } })),
  };
}

export function healthReport(config: Record<string, unknown>, health: Partial<HealthResponse> = {}, report: Partial<ProviderReport> = {}): ProviderReport {
  return {
    name: "lab",
    engine: "testenv-vm-provider-libvirt",
    source: "spec",
    config,
    outcome: "ok",
    available: true,
    healthy: health.healthy ?? true,
    health: { healthy: true, versions: {}, tools: [], disks: [], running: {}, warnings: [], ...health },
    ms: 1,
    ...report,
  };
}

/** Every host healthy, with what `health(uri)` adds. */
export function healthyProbe(health: (uri: string) => Partial<HealthResponse> = () => ({})): HostProbe {
  return (_provider, configs) => Promise.resolve(configs.map((config) => healthReport(config, health(String(config.uri)))));
}
