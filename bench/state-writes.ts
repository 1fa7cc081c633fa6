// Measures what one state save costs as environments grow: `node dist/bench/state-writes.js` (after npm run build).
// Every resource update saves the whole file, so save time × resources is the state overhead of a create.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EnvironmentState, ResourceRecord } from "../api/state.js";
import { StateStore, createStateWriter } from "../src/state/index.js";

function stateWith(testID: string, count: number): EnvironmentState {
  const now = new Date().toISOString();
  const providers = [{ name: "libvirt", engine: "testenv-vm-provider-libvirt", default: true }];
  const state: EnvironmentState = {
    version: 1,
    id: testID,
    stage: "bench",
    status: "creating",
    createdAt: now,
    updatedAt: now,
    specHash: "0".repeat(64),
    spec: { providers },
    providers,
    prefix: "abc123",
    subnetOctet: 42,
    stateDir: "/tmp/state",
    artifactDir: `/tmp/${testID}`,
    tmpDir: "/tmp",
    rootDir: "/tmp",
    resources: { keys: {}, networks: {}, vms: {} },
    executionPlan: { phases: [] },
    errors: [],
  };
  for (let i = 0; i < count; i++) {
    const kind = (["key", "network", "vm"] as const)[i % 3] ?? "vm";
    const name = `${kind}-${i}`;
    // A VM record carries its rendered request (cloud-init included): the biggest record there is.
    const record: ResourceRecord = {
      kind,
      name,
      providerName: `abc123-${name}`,
      provider: "libvirt",
      engine: "testenv-vm-provider-libvirt",
      status: "ready",
      state: { name: `abc123-${name}`, ip: `192.168.42.${i % 250}`, mac: "52:54:00:12:34:56", uuid: "6f1b0c2e-0000-4000-8000-000000000000" },
      request: {
        name: `abc123-${name}`,
        spec: {
          memory: 1024,
          vcpus: 1,
          disk: { size: "10G", baseImage: "/var/cache/testenv-vm/images/ubuntu-24.04.qcow2" },
          cloudInit: {
            users: [{ name: "ubuntu", sshAuthorizedKeys: [`ssh-ed25519 ${"A".repeat(68)} testenv`] }],
            runcmd: ["systemctl enable --now ssh", "echo ready > /run/marker"],
          },
        },
      },
      createdAt: now,
      updatedAt: now,
    };
    state.resources[kind === "key" ? "keys" : kind === "network" ? "networks" : "vms"][name] = record;
  }
  return state;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "testenv-bench-state-"));
  try {
    const store = new StateStore(dir);
    console.log("resources  file size   save (median)  save (p90)  load (median)  1 write per resource, coalesced");
    for (const count of [10, 100, 1000]) {
      const state = stateWith(`bench-${count}`, count);
      const saves: number[] = [];
      const loads: number[] = [];
      for (let run = 0; run < 30; run++) {
        let start = performance.now();
        await store.save(state);
        saves.push(performance.now() - start);
        start = performance.now();
        await store.load(state.id);
        loads.push(performance.now() - start);
      }
      const size = (await stat(store.statePath(state.id))).size;
      // A create's worst case: every resource finishes at once and asks for a save.
      const writer = createStateWriter(store, () => state);
      const start = performance.now();
      await Promise.all(Array.from({ length: count }, () => writer.write()));
      const burst = performance.now() - start;
      const p90 = [...saves].sort((a, b) => a - b)[Math.floor(saves.length * 0.9)] ?? 0;
      console.log(
        `${String(count).padStart(9)}  ${`${(size / 1024).toFixed(1)} KiB`.padStart(9)}  ` +
          `${median(saves).toFixed(2).padStart(10)} ms  ${p90.toFixed(2).padStart(7)} ms  ` +
          `${median(loads).toFixed(2).padStart(10)} ms  ${burst.toFixed(1).padStart(8)} ms for ${count} writes`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
