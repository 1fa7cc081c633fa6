import { describe, expect, it } from "vitest";
import type { VMState } from "../../../api/provider.js";
import { INSPECT_MODE, callTool, readProviderContext } from "../../../providers/kit/index.js";
import { StubConfig } from "../../../providers/stub/config.js";
import { stubDiscovery } from "../../../providers/stub/discovery.js";
import { createStubProvider } from "../../../providers/stub/index.js";
import { MemoryStore } from "../../../providers/stub/store.js";
import { createStub, stubCapabilities } from "../../../providers/stub/stub.js";

const context = readProviderContext("stub", {});
const vm = (boot: Record<string, unknown>) => ({ name: "p-vm", spec: { memory: 256, vcpus: 1, disk: { size: "1G" }, boot } });

function impl() {
  const config = StubConfig.parse({});
  const store = new MemoryStore();
  return { ...createStub({ config, store, context: { prefix: "p", artifactDir: undefined } }), ...stubDiscovery(config, store) };
}

describe("the stub's features, health and plan", () => {
  it("declares the VM features it simulates, records firmware, TPM and readiness, and refuses secure boot without UEFI", async () => {
    expect(stubCapabilities().resources.find((r) => r.kind === "vm")?.vmFeatures).toEqual(expect.arrayContaining(["uefi", "tpm", "readiness.ssh"]));
    const stub = impl();
    const created = await callTool(stub, "vm_create", vm({ firmware: "uefi", tpm: true, secureBoot: true }), context);
    expect((created.resource as VMState).providerState?.boot).toMatchObject({ firmware: "uefi", tpm: true, secureBoot: true });
    const refused = await callTool(stub, "vm_create", { ...vm({ secureBoot: true }), name: "p-vm2" }, context);
    expect(refused.error).toMatchObject({ code: "INVALID_SPEC", message: expect.stringContaining("secureBoot needs firmware uefi") as unknown });
  });

  it("answers availability, health and plan through the kit", async () => {
    const stub = impl();
    expect((await callTool(stub, "provider_available", {}, context)).resource).toMatchObject({ available: true });
    expect((await callTool(stub, "provider_health", {}, context)).resource).toMatchObject({ healthy: true, accelerator: { kind: "none" }, running: { vms: 0 } });
    const plan = await callTool(stub, "provider_plan", { tool: "vm_create", arguments: vm({}) }, context);
    expect(plan.resource).toEqual({ steps: [{ action: "note", summary: "record vm p-vm: 256 MiB, 1 vCPU, on no network (in the process's memory)" }] });
    const bad = await callTool(stub, "provider_plan", { tool: "vm_create", arguments: { name: "x" } }, context);
    expect(bad.error?.code).toBe("INVALID_SPEC");
  });

  it("in inspect mode refuses every change, and opens no store file", async () => {
    const inspecting = readProviderContext("stub", { TESTENV_VM_PROVIDER_MODE: INSPECT_MODE, TESTENV_VM_PROVIDER_CONFIG: JSON.stringify({ store: "/nonexistent/stub-store.json" }) });
    const stub = createStubProvider(inspecting);
    const refused = await callTool(stub, "vm_create", vm({}), inspecting);
    expect(refused.error).toMatchObject({ code: "NOT_IMPLEMENTED", message: expect.stringContaining("inspect mode") as unknown });
    expect((await callTool(stub, "vm_list", {}, inspecting)).success).toBe(true);
  });
});
