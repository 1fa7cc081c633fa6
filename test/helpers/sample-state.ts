import type { EnvironmentState, ResourceRecord } from "../../api/state.js";

// A valid EnvironmentState built in code, for the state tests and the state benchmark. No vitest here: the
// benchmarks import it from the build.

export interface SampleStateOptions {
  /** The state's stage; default "e2e". */
  stage?: string;
  /**
   * Give every record the rendered request of a VM (cloud-init included), the biggest record there is: for
   * measurements where the size of the file matters.
   */
  renderedRequests?: boolean;
}

/** A rendered vm_create request as the engine records it. */
function vmRequest(providerName: string): Record<string, unknown> {
  return {
    name: providerName,
    spec: {
      memory: 1024,
      vcpus: 1,
      disk: { size: "10G", baseImage: "/var/cache/testenv-vm/images/ubuntu-24.04.qcow2" },
      cloudInit: {
        users: [{ name: "ubuntu", sshAuthorizedKeys: [`ssh-ed25519 ${"A".repeat(68)} testenv`] }],
        runcmd: ["systemctl enable --now ssh", "echo ready > /run/marker"],
      },
    },
  };
}

/** A valid state with `count` resources spread over keys, networks and VMs. */
export function sampleState(testID: string, count = 3, options: SampleStateOptions = {}): EnvironmentState {
  const now = new Date().toISOString();
  const state: EnvironmentState = {
    version: 1,
    id: testID,
    stage: options.stage ?? "e2e",
    status: "creating",
    createdAt: now,
    updatedAt: now,
    specHash: "0".repeat(64),
    spec: { providers: [{ name: "stub", engine: "testenv-vm-provider-stub", default: true }] },
    providers: [{ name: "stub", engine: "testenv-vm-provider-stub", default: true }],
    prefix: "abc123",
    subnetOctet: 42,
    stateDir: "/tmp/state",
    artifactDir: `/tmp/artifacts/${testID}`,
    tmpDir: "/tmp/artifacts",
    rootDir: "/tmp",
    resources: { keys: {}, networks: {}, vms: {} },
    executionPlan: { phases: [] },
    errors: [],
  };
  for (let i = 0; i < count; i++) {
    const kind = (["key", "network", "vm"] as const)[i % 3] ?? "vm";
    const name = `${kind}-${i}`;
    const record: ResourceRecord = {
      kind,
      name,
      providerName: `abc123-${name}`,
      provider: "stub",
      engine: "testenv-vm-provider-stub",
      status: "ready",
      state: { name: `abc123-${name}`, ip: `192.168.42.${i % 250}`, mac: "52:54:00:00:00:01" },
      ...(options.renderedRequests === true ? { request: vmRequest(`abc123-${name}`) } : {}),
      createdAt: now,
      updatedAt: now,
    };
    state.resources[kind === "key" ? "keys" : kind === "network" ? "networks" : "vms"][name] = record;
  }
  return state;
}
