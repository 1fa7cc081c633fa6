import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { describe, expect, it } from "vitest";
import type { VMCreateRequest } from "../../../api/provider.js";
import { createLogger } from "../../../lib/log.js";
import { callTool, createProviderServer, readProviderContext, type ProviderImplementation } from "../../../providers/kit/index.js";
import { checkpointUnavailable } from "../../../providers/podman/checkpoint.js";
import { StubConfig } from "../../../providers/stub/config.js";
import { withFaults } from "../../../providers/stub/faults.js";
import { MemoryStore } from "../../../providers/stub/store.js";
import { createStub } from "../../../providers/stub/stub.js";

// The optional vm_snapshot_* tools: NOT_IMPLEMENTED (with the provider's reason) without handlers, validated and
// routed (not listed) with them; the stub's simulation saves and puts back a VM's record, and its faults reach these tools too.

const context = { ...readProviderContext("test", {}), log: createLogger("test") };
const base: ProviderImplementation = { capabilities: () => ({ providerName: "x", version: "1", resources: [] }) };

function stub(config: Record<string, unknown> = {}): ProviderImplementation {
  return withFaults(createStub({ config: StubConfig.parse(config), store: new MemoryStore(), context: { prefix: "tvm-sn", artifactDir: undefined } }), StubConfig.parse(config));
}

const vmRequest: VMCreateRequest = { name: "tvm-sn-web", spec: { memory: 512, vcpus: 1, networks: [], boot: { order: ["hd"] }, disk: { size: "1G" } } };

describe("vm_snapshot_* on the kit", () => {
  it("a provider without snapshots answers NOT_IMPLEMENTED and says why", async () => {
    expect(await callTool(base, "vm_snapshot_save", { name: "vm", snapshot: "s" }, context)).toEqual({
      success: false,
      error: { code: "NOT_IMPLEMENTED", message: "vm_snapshot_save is not implemented by this provider: it cannot save a running VM's memory and disk state", retryable: false },
    });
    const withReason: ProviderImplementation = { ...base, snapshotsUnavailable: () => Promise.resolve("no CRIU here") };
    expect(await callTool(withReason, "vm_snapshot_restore", { name: "vm", snapshot: "s" }, context)).toMatchObject({
      error: { code: "NOT_IMPLEMENTED", message: "vm_snapshot_restore is not implemented by this provider: no CRIU here" },
    });
  });

  it("serves the tools without listing them: tools/list keeps the protocol's tools", async () => {
    const listed = async (impl: ProviderImplementation): Promise<string[]> => {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      const server = createProviderServer(impl, { name: "x", version: "1" }, context);
      await server.connect(serverSide);
      const client = new Client({ name: "test", version: "1" });
      await client.connect(clientSide);
      try {
        return (await client.listTools()).tools.map((t) => t.name);
      } finally {
        await client.close();
        await server.close();
      }
    };
    expect((await listed(base)).filter((name) => name.startsWith("vm_snapshot"))).toEqual([]);
    expect((await listed(stub())).filter((name) => name.startsWith("vm_snapshot"))).toEqual([]);
  });

  it("refuses a snapshot name that is not a plain token", async () => {
    expect(await callTool(stub(), "vm_snapshot_save", { name: "vm", snapshot: "../up" }, context)).toMatchObject({ success: false, error: { code: "INVALID_SPEC" } });
  });

  it("the stub saves a running VM's record and puts it back; delete of the VM drops its snapshots", async () => {
    const impl = stub();
    await callTool(impl, "vm_create", vmRequest, context);
    expect(await callTool(impl, "vm_snapshot_save", { name: "tvm-sn-web", snapshot: "clean" }, context)).toMatchObject({ success: true, resource: { snapshot: { snapshot: "clean", method: "record" } } });
    await callTool(impl, "vm_stop", { name: "tvm-sn-web", force: true }, context);
    expect(await callTool(impl, "vm_snapshot_save", { name: "tvm-sn-web", snapshot: "off" }, context)).toMatchObject({ success: false, error: { code: "RESOURCE_BUSY" } });
    expect(await callTool(impl, "vm_snapshot_restore", { name: "tvm-sn-web", snapshot: "clean" }, context)).toMatchObject({ success: true, resource: { vm: { status: "running" } } });
    expect(await callTool(impl, "vm_snapshot_list", { name: "tvm-sn-web" }, context)).toMatchObject({ resource: { snapshots: [{ snapshot: "clean" }] } });
    await callTool(impl, "vm_delete", { name: "tvm-sn-web" }, context);
    await callTool(impl, "vm_create", vmRequest, context);
    expect(await callTool(impl, "vm_snapshot_list", { name: "tvm-sn-web" }, context)).toEqual({ success: true, resource: { snapshots: [] } });
  });

  it("stub faults reach the snapshot tools", async () => {
    const impl = stub({ faults: [{ tool: "vm_snapshot_restore", code: "TIMEOUT" }] });
    await callTool(impl, "vm_create", vmRequest, context);
    await callTool(impl, "vm_snapshot_save", { name: "tvm-sn-web", snapshot: "clean" }, context);
    expect(await callTool(impl, "vm_snapshot_restore", { name: "tvm-sn-web", snapshot: "clean" }, context)).toMatchObject({ success: false, error: { code: "TIMEOUT" } });
  });
});

describe("podman without checkpointing", () => {
  it("says whether CRIU works on this host", async () => {
    expect(await checkpointUnavailable()).toMatch(/^(a container snapshot needs podman checkpoint\/restore, and CRIU does not work on this host \(criu check: .+\)|CRIU works on this host, but the podman provider does not checkpoint containers .+)$/);
  });
});
