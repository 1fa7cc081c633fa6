import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, type Json } from "./env.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/specs");

/** A fixture spec from the original's e2e scenarios, with the stub pointed at this test's store. */
function fixture(name: string, store: string): Json {
  const spec = parse(readFileSync(join(FIXTURES, `${name}.yaml`), "utf8")) as Json;
  for (const provider of spec.providers as Json[]) provider.spec = { ...(provider.spec as Json | undefined), store };
  return spec;
}

// The original's scenarios (contract §11.1) and what its tests asserted of each artifact.
const SCENARIOS: Array<{ name: string; metadata: string[]; files: string[]; managed: string[]; env: string[]; resources: number }> = [
  {
    name: "basic_vm",
    metadata: ["testenv-vm.vm.test-vm.ip", "testenv-vm.network.test-network.ip", "testenv-vm.vm.test-vm.mac", "testenv-vm.key.test-key.fingerprint"],
    files: ["testenv-vm.key.test-key"],
    managed: ["testenv-vm://key/test-key", "testenv-vm://network/test-network", "testenv-vm://vm/test-vm"],
    env: ["TESTENV_VM_TEST_VM_IP", "TESTENV_VM_TEST_VM_SSH", "TESTENV_VM_NAME_PREFIX"],
    resources: 3,
  },
  {
    name: "multi_network",
    metadata: ["testenv-vm.network.mgmt.ip", "testenv-vm.network.data.ip", "testenv-vm.network.storage.ip", "testenv-vm.vm.multi-vm.ip"],
    files: ["testenv-vm.key.multi-key"],
    managed: ["testenv-vm://network/mgmt", "testenv-vm://network/data", "testenv-vm://network/storage", "testenv-vm://vm/multi-vm", "testenv-vm://key/multi-key"],
    env: ["TESTENV_VM_NAME_PREFIX"],
    resources: 5,
  },
  {
    name: "dependency_chain",
    metadata: ["testenv-vm.vm.vm-a.ip", "testenv-vm.vm.vm-b.ip", "testenv-vm.key.key-rsa.fingerprint"],
    files: ["testenv-vm.key.key-ed25519", "testenv-vm.key.key-rsa", "testenv-vm.key.key-ecdsa"],
    managed: ["testenv-vm://key/key-ed25519", "testenv-vm://key/key-rsa", "testenv-vm://key/key-ecdsa", "testenv-vm://network/net-a", "testenv-vm://network/net-b", "testenv-vm://vm/vm-a", "testenv-vm://vm/vm-b"],
    env: ["TESTENV_VM_NAME_PREFIX", "TESTENV_VM_VM_A_IP", "TESTENV_VM_VM_B_IP"],
    resources: 7,
  },
  {
    name: "templated_attachto",
    metadata: ["testenv-vm.network.parent-bridge.ip", "testenv-vm.network.child-network.ip"],
    files: [],
    managed: ["testenv-vm://network/parent-bridge", "testenv-vm://network/child-network"],
    env: ["TESTENV_VM_NAME_PREFIX"],
    resources: 4,
  },
];

const KIND_OF = { keys: "key", networks: "network", vms: "vm" } as const;

describe("the original's e2e scenarios on the stub", () => {
  it.each(SCENARIOS)("$name: create, artifact, delete from another process", async (scenario) => {
    using box = sandbox(scenario.name);
    const id = testID();
    const spec = fixture(scenario.name, box.store);
    let artifact: Json;
    {
      await using orchestrator = await connectOrchestrator({ env: box.env });
      const result = await orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec });
      expect(result.isError, textOf(result)).toBeFalsy();
      artifact = result.structuredContent as Json;
    }
    expect(artifact.testID).toBe(id);
    for (const key of scenario.metadata) expect(artifact.metadata, key).toHaveProperty([key]);
    for (const key of scenario.files) expect(artifact.files, key).toHaveProperty([key]);
    for (const key of scenario.env) expect(artifact.env, key).toHaveProperty([key]);
    expect(artifact.managedResources).toEqual(expect.arrayContaining(scenario.managed));
    const uris = (artifact.managedResources as string[]).filter((r) => r.startsWith("testenv-vm://"));
    expect(uris).toHaveLength(scenario.resources);
    expect(storedResources(box.store)).toHaveLength(scenario.resources);
    // Every key, network and vm of the spec is in the artifact.
    for (const kind of ["keys", "networks", "vms"] as const) {
      for (const resource of (spec[kind] as Json[] | undefined) ?? []) {
        expect(uris).toContain(`testenv-vm://${KIND_OF[kind]}/${resource.name}`);
      }
    }

    {
      await using orchestrator = await connectOrchestrator({ env: box.env });
      const result = await orchestrator.call("delete", { testID: id, metadata: artifact.metadata });
      expect(result.isError, textOf(result)).toBeFalsy();
    }
    expect(storedResources(box.store)).toEqual([]);
    expect(existsSync(box.stateFile(id))).toBe(false);
  });
});
