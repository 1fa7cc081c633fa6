import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { readStubStore, storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, type Json } from "./env.js";
import { designExample } from "../helpers/specs.js";

describe("design DAG example over MCP stdio", () => {
  it("creates in three phases, returns Forge's artifact, and a second process deletes everything", async () => {
    using box = sandbox("design");
    const id = testID();
    const forgeTmpDir = join(box.tmpDir, id);
    const progress: string[] = [];
    let artifact: Json;
    {
      await using orchestrator = await connectOrchestrator({ env: box.env });
      const result = await orchestrator.call(
        "create",
        { testID: id, stage: "e2e", tmpDir: forgeTmpDir, rootDir: box.root, metadata: {}, env: {}, spec: designExample(box.store) },
        { onprogress: (p) => progress.push(p.message ?? "") },
      );
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(textOf(result)).toBe("Created test environment resource using testenv-vm");
      artifact = result.structuredContent as Json;
    }

    // Exactly the five keys Forge reads.
    expect(Object.keys(artifact).sort()).toEqual(["env", "files", "managedResources", "metadata", "testID"]);
    expect(artifact.testID).toBe(id);

    // Phases from the state file.
    const state = box.readState(id);
    expect(state.status).toBe("ready");
    const phases = (state.executionPlan.phases as Array<{ resources: Array<{ kind: string; name: string }> }>).map((p) =>
      p.resources.map((r) => `${r.kind}:${r.name}`).sort(),
    );
    expect(phases).toEqual([["key:vm-ssh", "network:bridge"], ["network:dnsmasq", "network:libvirt-net"], ["vm:test-vm"]]);

    // Files are relative to Forge's tmpDir and point at real key files.
    const keyFile = artifact.files["testenv-vm.key.vm-ssh"] as string;
    expect(keyFile).toBeTypeOf("string");
    expect(isAbsolute(keyFile)).toBe(false);
    expect(keyFile.startsWith("..")).toBe(false);

    // Metadata and env for the test runner.
    const prefix = state.prefix as string;
    expect(prefix).toMatch(/^[0-9a-f]{6}$/);
    expect(artifact.env.TESTENV_VM_NAME_PREFIX).toBe(prefix);
    expect(artifact.metadata["testenv-vm.key.vm-ssh.fingerprint"]).toMatch(/\S/);
    expect(artifact.metadata["testenv-vm.vm.test-vm.ip"]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(artifact.metadata["testenv-vm.vm.test-vm.mac"]).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(artifact.metadata["testenv-vm.network.libvirt-net.ip"]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(artifact.env.TESTENV_VM_TEST_VM_IP).toBe(artifact.metadata["testenv-vm.vm.test-vm.ip"]);
    expect(artifact.managedResources).toEqual(
      expect.arrayContaining(["testenv-vm://key/vm-ssh", "testenv-vm://network/bridge", "testenv-vm://network/libvirt-net", "testenv-vm://network/dnsmasq", "testenv-vm://vm/test-vm"]),
    );

    // The VM got the rendered public key of the key created in phase 1, under prefixed names.
    const store = readStubStore(box.store)!;
    const key = store.keys[`${prefix}-vm-ssh`]!;
    expect(key).toBeDefined();
    // The stub picks the VM's ssh key by matching the authorized keys it received against the keys it holds.
    const vm = store.vms[`${prefix}-test-vm`]!;
    expect(vm.sshCommand).toContain(`-i ${key.privateKeyPath as string}`);
    expect(JSON.stringify(state.resources.vms["test-vm"].request)).toContain(key.publicKey as string);
    expect(storedResources(box.store)).toHaveLength(5);

    // Progress notifications arrived, one per phase at least.
    expect(progress.filter((m) => m.includes("phase")).length).toBeGreaterThanOrEqual(3);

    // Delete from a second process, as Forge does (metadata as Forge stored it).
    {
      await using orchestrator = await connectOrchestrator({ env: box.env });
      const result = await orchestrator.call("delete", { testID: id, metadata: artifact.metadata });
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(textOf(result)).toBe("Deleted test environment resource using testenv-vm");
    }
    expect(storedResources(box.store)).toEqual([]);
    expect(existsSync(box.stateFile(id))).toBe(false);
  });
});
