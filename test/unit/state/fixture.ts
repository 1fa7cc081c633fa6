import type { EnvironmentState, ResourceRecord } from "../../../api/state.js";

/** A valid state with `count` resources spread over keys, networks and VMs. */
export function sampleState(testID: string, count = 3): EnvironmentState {
  const now = new Date().toISOString();
  const state: EnvironmentState = {
    version: 1,
    id: testID,
    stage: "e2e",
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
      createdAt: now,
      updatedAt: now,
    };
    state.resources[kind === "key" ? "keys" : kind === "network" ? "networks" : "vms"][name] = record;
  }
  return state;
}
