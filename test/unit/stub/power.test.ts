import { describe, expect, it } from "vitest";
import type { KeyState, VMCreateRequest, VMState } from "../../../api/provider.js";
import { callTool, readProviderContext, type ProviderImplementation } from "../../../providers/kit/index.js";
import { StubConfig } from "../../../providers/stub/config.js";
import { withFaults, type FaultHooks } from "../../../providers/stub/faults.js";
import { MemoryStore } from "../../../providers/stub/store.js";
import { createStub, stubCapabilities } from "../../../providers/stub/stub.js";

// vm_start / vm_stop, ListRequest.filter and DeleteRequest.force in the stub, through the kit as the bin serves them.

const PREFIX = "tvm-pw";
const context = readProviderContext("stub", {});
const noHooks: FaultHooks = {
  exit: (code, reason) => {
    throw new Error(`exit ${code}: ${reason}`);
  },
  sleep: () => Promise.resolve(),
};

function stub(config: Record<string, unknown> = {}): ProviderImplementation {
  const parsed = StubConfig.parse(config);
  return withFaults(createStub({ config: parsed, store: new MemoryStore(), context: { prefix: PREFIX, artifactDir: undefined } }), parsed, noHooks);
}

async function ok<T>(impl: ProviderImplementation, tool: string, args: unknown): Promise<T> {
  const result = await callTool(impl, tool, args, context);
  expect(result, `${tool}: ${JSON.stringify(result.error)}`).toMatchObject({ success: true });
  return result.resource as T;
}

const vmRequest = (name: string, networks: string[] = [], authorizedKey?: string): VMCreateRequest => ({
  name,
  spec: {
    memory: 256,
    vcpus: 1,
    networks,
    disk: { size: "1G" },
    boot: { order: ["hd"] },
    ...(authorizedKey !== undefined ? { cloudInit: { users: [{ name: "root", sshAuthorizedKeys: [authorizedKey] }] } } : {}),
  },
});

describe("stub vm_stop / vm_start", () => {
  it("declares start and stop for VMs only", () => {
    const resources = stubCapabilities().resources;
    expect(resources.find((r) => r.kind === "vm")?.operations).toEqual(["create", "get", "list", "delete", "start", "stop"]);
    expect(resources.find((r) => r.kind === "key")?.operations).toEqual(["create", "get", "list", "delete"]);
  });

  it("stops gracefully, says already-stopped the second time, and starts again with the same addresses", async () => {
    const s = stub();
    const created = await ok<VMState>(s, "vm_create", vmRequest(`${PREFIX}-web`));
    const stopped = await ok<VMState>(s, "vm_stop", { name: `${PREFIX}-web` });
    expect(stopped).toEqual({ ...created, status: "stopped", stopMethod: "graceful" });
    // stopMethod belongs to vm_stop's answer only.
    expect(await ok<VMState>(s, "vm_get", { name: `${PREFIX}-web` })).toEqual({ ...created, status: "stopped" });
    expect((await ok<VMState>(s, "vm_stop", { name: `${PREFIX}-web` })).stopMethod).toBe("already-stopped");
    expect(await ok<VMState>(s, "vm_start", { name: `${PREFIX}-web` })).toEqual(created);
    // Starting a running VM changes nothing.
    expect(await ok<VMState>(s, "vm_start", { name: `${PREFIX}-web`, waitReady: false })).toEqual(created);
  });

  it("forces with force:true, or when the guest is configured to ignore the ACPI request", async () => {
    const s = stub({ ignoreShutdown: ["deaf"] });
    await ok(s, "vm_create", vmRequest(`${PREFIX}-web`));
    await ok(s, "vm_create", vmRequest(`${PREFIX}-deaf`));
    expect((await ok<VMState>(s, "vm_stop", { name: `${PREFIX}-web`, force: true })).stopMethod).toBe("forced");
    expect((await ok<VMState>(s, "vm_stop", { name: `${PREFIX}-deaf`, timeoutSeconds: 1 })).stopMethod).toBe("forced");
  });

  it("answers NOT_FOUND for a VM that does not exist", async () => {
    const s = stub();
    expect((await callTool(s, "vm_stop", { name: "ghost" }, context)).error).toEqual({ code: "NOT_FOUND", message: 'vm "ghost" not found', retryable: false });
    expect((await callTool(s, "vm_start", { name: "ghost" }, context)).error?.code).toBe("NOT_FOUND");
  });

  it("injects faults, delays and exits on the new tools like on the others", async () => {
    const sleeps: number[] = [];
    const hooks: FaultHooks = { ...noHooks, sleep: (ms) => (sleeps.push(ms), Promise.resolve()) };
    const config = StubConfig.parse({
      faults: [{ tool: "vm_stop", name: "web", code: "TIMEOUT", message: "guest hung", times: 1 }],
      delayMs: { vm_start: 40 },
      exitOn: { tool: "vm_start", name: "doomed" },
    });
    const s = withFaults(createStub({ config, store: new MemoryStore(), context: { prefix: PREFIX, artifactDir: undefined } }), config, hooks);
    await ok(s, "vm_create", vmRequest(`${PREFIX}-web`));
    await ok(s, "vm_create", vmRequest(`${PREFIX}-doomed`));
    expect((await callTool(s, "vm_stop", { name: `${PREFIX}-web` }, context)).error).toEqual({ code: "TIMEOUT", message: "guest hung", retryable: true });
    expect((await ok<VMState>(s, "vm_get", { name: `${PREFIX}-web` })).status).toBe("running");
    expect((await ok<VMState>(s, "vm_stop", { name: `${PREFIX}-web` })).stopMethod).toBe("graceful");
    await ok(s, "vm_start", { name: `${PREFIX}-web` });
    expect(sleeps).toEqual([40]);
    await expect(s.vms!.start!({ name: `${PREFIX}-doomed`, waitReady: true })).rejects.toThrow("exit 1: exitOn vm_start");
  });
});

describe("stub list filter", () => {
  it("filters VMs, networks and keys by top-level fields", async () => {
    const s = stub();
    await ok(s, "network_create", { name: `${PREFIX}-net`, kind: "bridge", spec: { cidr: "10.40.0.1/24" } });
    await ok(s, "network_create", { name: `${PREFIX}-nat`, kind: "nat", spec: {} });
    await ok(s, "key_create", { name: `${PREFIX}-a`, spec: { type: "ed25519" } });
    await ok(s, "key_create", { name: `${PREFIX}-b`, spec: { type: "rsa" } });
    for (const name of ["one", "two", "three"]) await ok(s, "vm_create", vmRequest(`${PREFIX}-${name}`, [`${PREFIX}-net`]));
    await ok(s, "vm_stop", { name: `${PREFIX}-two` });
    const names = async (tool: string, filter: Record<string, unknown>) => (await ok<{ name: string }[]>(s, tool, { filter })).map((r) => r.name);
    expect(await names("vm_list", { status: "running" })).toEqual([`${PREFIX}-one`, `${PREFIX}-three`]);
    expect(await names("vm_list", { status: "stopped" })).toEqual([`${PREFIX}-two`]);
    expect(await names("vm_list", {})).toHaveLength(3);
    expect(await names("network_list", { kind: "nat" })).toEqual([`${PREFIX}-nat`]);
    expect(await names("key_list", { type: "rsa" })).toEqual([`${PREFIX}-b`]);
    expect((await callTool(s, "vm_list", { filter: { providerState: {} } }, context)).error?.code).toBe("INVALID_SPEC");
  });
});

describe("stub delete force", () => {
  it("refuses to delete a network or a key a VM uses, unless force", async () => {
    const s = stub();
    const key = await ok<KeyState>(s, "key_create", { name: `${PREFIX}-ssh`, spec: { type: "ed25519" } });
    await ok(s, "key_create", { name: `${PREFIX}-spare`, spec: { type: "ed25519" } });
    await ok(s, "network_create", { name: `${PREFIX}-net`, kind: "bridge", spec: {} });
    await ok(s, "network_create", { name: `${PREFIX}-child`, kind: "bridge", spec: { attachTo: `${PREFIX}-net` } });
    await ok(s, "vm_create", vmRequest(`${PREFIX}-vm`, [`${PREFIX}-net`], key.publicKey));

    const keyBusy = await callTool(s, "key_delete", { name: `${PREFIX}-ssh` }, context);
    expect(keyBusy.error).toMatchObject({ code: "RESOURCE_BUSY", retryable: true, message: expect.stringContaining(`vm "${PREFIX}-vm"`) });
    // A key no VM authorizes goes as before.
    expect((await callTool(s, "key_delete", { name: `${PREFIX}-spare` }, context)).success).toBe(true);
    expect((await callTool(s, "network_delete", { name: `${PREFIX}-net` }, context)).error?.code).toBe("RESOURCE_BUSY");
    expect((await callTool(s, "network_delete", { name: `${PREFIX}-net`, force: false }, context)).error?.code).toBe("RESOURCE_BUSY");

    expect(await callTool(s, "key_delete", { name: `${PREFIX}-ssh`, force: true }, context)).toEqual({ success: true });
    expect(await callTool(s, "network_delete", { name: `${PREFIX}-net`, force: true }, context)).toEqual({ success: true });
    expect((await callTool(s, "key_get", { name: `${PREFIX}-ssh` }, context)).error?.code).toBe("NOT_FOUND");
    expect((await callTool(s, "network_get", { name: `${PREFIX}-net` }, context)).error?.code).toBe("NOT_FOUND");
    // The VM and the attached network are left as they are.
    expect((await ok<VMState>(s, "vm_get", { name: `${PREFIX}-vm` })).status).toBe("running");
    expect(await ok(s, "network_get", { name: `${PREFIX}-child` })).toMatchObject({ name: `${PREFIX}-child` });
    // NOT_FOUND still wins over force.
    expect((await callTool(s, "network_delete", { name: `${PREFIX}-net`, force: true }, context)).error?.code).toBe("NOT_FOUND");
  });

  it("lets the key go once its VM is deleted", async () => {
    const s = stub();
    const key = await ok<KeyState>(s, "key_create", { name: `${PREFIX}-ssh`, spec: { type: "ed25519" } });
    await ok(s, "vm_create", vmRequest(`${PREFIX}-vm`, [], key.publicKey));
    await ok(s, "vm_delete", { name: `${PREFIX}-vm` });
    expect(await callTool(s, "key_delete", { name: `${PREFIX}-ssh` }, context)).toEqual({ success: true });
  });
});
