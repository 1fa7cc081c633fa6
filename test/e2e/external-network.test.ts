import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { readStubStore, storedResources } from "../helpers/stub-store.js";
import { stubProvider } from "../helpers/specs.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// A network an environment uses but never creates or deletes (spec `external`): libvirt's `default` or a host
// bridge in project folders. On the stub, one environment owns a network and a second one uses it as external.

const owner = (store: string): Json => ({
  providers: [stubProvider(store)],
  networks: [{ name: "lan", kind: "bridge", spec: { cidr: "192.168.60.1/24" } }],
});

const user = (store: string, external: string): Json => ({
  providers: [stubProvider(store)],
  keys: [{ name: "k", spec: { type: "ed25519" } }],
  networks: [{ name: "net", kind: "bridge", external, spec: {} }],
  vms: [{ name: "box", spec: { memory: 256, vcpus: 1, networks: ["net"], disk: { size: "1G" }, cloudInit: { users: [{ name: "root", sshAuthorizedKeys: ["{{ .Keys.k.PublicKey }}"] }] } } }],
});

async function create(box: Sandbox, id: string, spec: Json) {
  await using orchestrator = await connectOrchestrator({ env: box.env });
  return orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec });
}

async function remove(box: Sandbox, id: string) {
  await using orchestrator = await connectOrchestrator({ env: box.env });
  const result = await orchestrator.call("delete", { testID: id, metadata: null });
  expect(result.isError, textOf(result)).toBeFalsy();
}

describe("external networks", () => {
  it("are attached by their real name, and neither created nor deleted", async () => {
    using box = sandbox("external");
    const ownerID = testID();
    const made = await create(box, ownerID, owner(box.store));
    expect(made.isError, textOf(made)).toBeFalsy();
    const lan = String((box.readState(ownerID).resources.networks.lan as Json).providerName);

    const userID = testID();
    const used = await create(box, userID, user(box.store, lan));
    expect(used.isError, textOf(used)).toBeFalsy();
    const record = box.readState(userID).resources.networks.net as Json;
    expect(record).toMatchObject({ providerName: lan, external: true, status: "ready" });
    const vms = Object.values(readStubStore(box.store)?.vms ?? {});
    expect(vms).toHaveLength(1);
    expect(JSON.stringify(vms[0])).toContain(lan);
    // Only the owner's network exists at the provider: the user environment made a key and a VM, no network.
    expect(storedResources(box.store).filter((r) => r.startsWith("network/"))).toEqual([`network/${lan}`]);

    await remove(box, userID);
    expect(storedResources(box.store)).toEqual([`network/${lan}`]);
    await remove(box, ownerID);
    expect(storedResources(box.store)).toEqual([]);
  });

  it("that do not exist fail the create before the VM, naming the network, and leave nothing", async () => {
    using box = sandbox("external-missing");
    const id = testID();
    const result = await create(box, id, user(box.store, "no-such-br"));
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('external network "no-such-br"');
    expect(textOf(result)).toContain("create it first, or name an existing network or bridge");
    const errors = box.readState(id).errors as Json[];
    expect(errors.some((e) => e.resource?.name === "net" && e.code === "DEPENDENCY_FAILED")).toBe(true);
    expect(box.readState(id).resources.vms.box).toBeUndefined();
    expect(storedResources(box.store)).toEqual([]);
    await remove(box, id);
  });

  it("refuse a spec of their own", async () => {
    using box = sandbox("external-spec");
    const id = testID();
    const spec = user(box.store, "br0");
    spec.networks[0].spec = { cidr: "10.1.2.1/24" };
    await using orchestrator = await connectOrchestrator({ env: box.env });
    const result = await orchestrator.call("config-validate", { spec });
    expect(JSON.stringify(result)).toMatch(/an external network is used as it is: remove cidr from its spec/);
    expect(box.stateFiles()).toEqual([]);
    void id;
  });
});
