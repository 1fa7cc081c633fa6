import { describe, expect, it } from "vitest";
import type { OwnedObject } from "../../../api/provider.js";
import { INSPECT_MODE, callTool, readProviderContext, type ProviderImplementation } from "../../../providers/kit/index.js";
import { StubConfig } from "../../../providers/stub/config.js";
import { MemoryStore, type StubStore } from "../../../providers/stub/store.js";
import { createStub } from "../../../providers/stub/stub.js";

// What gc needs of a provider: provider_owned lists every object with the owner it recorded; provider_reclaim
// removes one; an object's owner record goes with it.

const context = readProviderContext("stub", {});
const owner = { prefix: "abc123", testID: "test-a", stateDir: "/srv/state", artifactDir: undefined };

function stubOf(store: StubStore, who: Parameters<typeof createStub>[0]["context"] = owner): ProviderImplementation {
  return createStub({ config: StubConfig.parse({}), store, context: who });
}

const owned = async (impl: ProviderImplementation): Promise<OwnedObject[]> => ((await callTool(impl, "provider_owned", {}, context)).resource as { objects: OwnedObject[] }).objects;

describe("the stub's owned objects", () => {
  it("records the testID, prefix and state dir of the process that made each resource, and forgets it on delete", async () => {
    const store = new MemoryStore();
    const stub = stubOf(store);
    await callTool(stub, "network_create", { name: "abc123-net", kind: "bridge", spec: { cidr: "10.9.0.1/24" } }, context);
    await callTool(stub, "vm_create", { name: "abc123-vm", spec: { memory: 256, vcpus: 1, networks: ["abc123-net"], boot: {} } }, context);
    const other = stubOf(store, { prefix: "def456", artifactDir: undefined });
    await callTool(other, "key_create", { name: "def456-key", spec: { type: "ed25519" } }, context);

    const objects = await owned(stub);
    expect(objects.map((o) => [o.kind, o.name, o.testID, o.stateDir])).toEqual([
      ["key", "def456-key", undefined, undefined],
      ["network", "abc123-net", "test-a", "/srv/state"],
      ["vm", "abc123-vm", "test-a", "/srv/state"],
    ]);
    expect(objects.every((o) => typeof o.createdAt === "string")).toBe(true);

    await callTool(stub, "vm_delete", { name: "abc123-vm" }, context);
    expect((await owned(stub)).map((o) => o.name)).toEqual(["def456-key", "abc123-net"]);
    await store.transact((data) => expect(Object.keys(data.owners ?? {})).toEqual(["network/abc123-net", "key/def456-key"]));
  });

  it("reclaims one object, answers NOT_FOUND when it is gone, and refuses kinds it never makes", async () => {
    const stub = stubOf(new MemoryStore());
    await callTool(stub, "network_create", { name: "abc123-net", kind: "bridge", spec: {} }, context);
    expect((await callTool(stub, "provider_reclaim", { kind: "network", name: "abc123-net" }, context)).success).toBe(true);
    expect(await owned(stub)).toEqual([]);
    expect((await callTool(stub, "provider_reclaim", { kind: "network", name: "abc123-net" }, context)).error?.code).toBe("NOT_FOUND");
    expect((await callTool(stub, "provider_reclaim", { kind: "file", name: "/etc/passwd" }, context)).error?.code).toBe("INVALID_SPEC");
  });

  it("a provider without the handlers answers NOT_IMPLEMENTED, and inspect mode refuses reclaim", async () => {
    const bare: ProviderImplementation = { capabilities: () => ({ providerName: "bare", version: "0", resources: [] }) };
    expect((await callTool(bare, "provider_owned", {}, context)).error?.code).toBe("NOT_IMPLEMENTED");
    const inspecting = readProviderContext("stub", { TESTENV_VM_PROVIDER_MODE: INSPECT_MODE });
    const stub = stubOf(new MemoryStore());
    expect((await callTool(stub, "provider_owned", {}, inspecting)).success).toBe(true);
    const refused = await callTool(stub, "provider_reclaim", { kind: "vm", name: "x" }, inspecting);
    expect(refused.error).toMatchObject({ code: "NOT_IMPLEMENTED", message: expect.stringContaining("inspect mode") as unknown });
  });
});
