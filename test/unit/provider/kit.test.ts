import { describe, expect, it } from "vitest";
import { PROVIDER_TOOLS, type VMState } from "../../../api/provider.js";
import { TOOL_DEFINITIONS, applyListFilter, callTool, readProviderContext, type ProviderImplementation, type VMHandlers } from "../../../providers/kit/index.js";

// The provider kit's tool table as every provider gets it: validation, NOT_IMPLEMENTED, the list filter.

const context = readProviderContext("kit-test", {});

const vm = (name: string, status = "running"): VMState => ({ name, status, ip: "10.0.0.2" });

/** A provider with VMs whose power calls are recorded; start/stop only when asked for. */
function provider(options: { power: boolean; vms?: VMState[] }): { impl: ProviderImplementation; calls: unknown[] } {
  const calls: unknown[] = [];
  const vms: VMHandlers = {
    create: () => Promise.reject(new Error("not used")),
    get: (name) => Promise.resolve(vm(name)),
    list: () => Promise.resolve(options.vms ?? []),
    delete: () => Promise.resolve(),
    ...(options.power
      ? {
          start: (request) => {
            calls.push({ start: request });
            return Promise.resolve(vm(request.name));
          },
          stop: (request) => {
            calls.push({ stop: request });
            return Promise.resolve({ ...vm(request.name, "stopped"), stopMethod: request.force ? "forced" : "graceful" });
          },
        }
      : {}),
  };
  return { impl: { capabilities: () => ({ providerName: "kit-test", version: "0", resources: [] }), vms }, calls };
}

describe("vm_start and vm_stop in the kit", () => {
  it("are the 14th and 15th tools, after the original 13 unchanged", () => {
    expect(PROVIDER_TOOLS).toHaveLength(15);
    expect(PROVIDER_TOOLS.slice(13)).toEqual(["vm_start", "vm_stop"]);
    expect(Object.keys(TOOL_DEFINITIONS).sort()).toEqual([...PROVIDER_TOOLS].sort());
    expect(TOOL_DEFINITIONS.vm_stop).toMatchObject({ destructive: false, readOnly: false, idempotent: true });
    expect(TOOL_DEFINITIONS.vm_start).toMatchObject({ destructive: false, readOnly: false, idempotent: true });
    // The original's hints stay as they were: read-only and delete idempotent, create not.
    expect(TOOL_DEFINITIONS.vm_create.idempotent).toBe(false);
    expect(TOOL_DEFINITIONS.vm_delete.idempotent).toBe(true);
    expect(TOOL_DEFINITIONS.key_list.idempotent).toBe(true);
  });

  it("pass the defaults to the handler", async () => {
    const { impl, calls } = provider({ power: true });
    expect(await callTool(impl, "vm_stop", { name: "v" }, context)).toEqual({ success: true, resource: { ...vm("v", "stopped"), stopMethod: "graceful" } });
    expect(await callTool(impl, "vm_start", { name: "v" }, context)).toEqual({ success: true, resource: vm("v") });
    await callTool(impl, "vm_stop", { name: "v", timeoutSeconds: 2.5, force: true }, context);
    await callTool(impl, "vm_start", { name: "v", waitReady: false }, context);
    expect(calls).toEqual([
      { stop: { name: "v", timeoutSeconds: 60, force: false } },
      { start: { name: "v", waitReady: true } },
      { stop: { name: "v", timeoutSeconds: 2.5, force: true } },
      { start: { name: "v", waitReady: false } },
    ]);
  });

  it.each([
    ["vm_stop", { name: "v", timeoutSeconds: 0 }, "timeoutSeconds"],
    ["vm_stop", { name: "v", timeoutSeconds: 3601 }, "timeoutSeconds"],
    ["vm_stop", { name: "v", timeoutSeconds: "60" }, "timeoutSeconds"],
    ["vm_stop", { name: "v", force: "yes" }, "force"],
    ["vm_stop", { name: "" }, "name"],
    ["vm_stop", { name: "v", graceful: true }, '"graceful"'],
    ["vm_start", {}, "name"],
    ["vm_start", { name: "v", waitReady: 1 }, "waitReady"],
    ["vm_start", { name: "v", wait: true }, '"wait"'],
  ] as const)("%s %j is INVALID_SPEC naming %s", async (tool, args, field) => {
    const { impl, calls } = provider({ power: true });
    const result = await callTool(impl, tool, args, context);
    expect(result.error?.code).toBe("INVALID_SPEC");
    expect(result.error?.message).toContain(`${tool}: `);
    expect(result.error?.message).toContain(field);
    expect(calls).toEqual([]);
  });

  it("answer NOT_IMPLEMENTED when the provider has no start/stop, or no VMs at all", async () => {
    const { impl } = provider({ power: false });
    expect(await callTool(impl, "vm_stop", { name: "v" }, context)).toEqual({
      success: false,
      error: { code: "NOT_IMPLEMENTED", message: 'operation "stop" not implemented for resource "vm"', retryable: false },
    });
    expect((await callTool(impl, "vm_start", { name: "v" }, context)).error?.message).toBe('operation "start" not implemented for resource "vm"');
    const keysOnly: ProviderImplementation = { capabilities: () => ({ providerName: "k", version: "0", resources: [] }) };
    expect((await callTool(keysOnly, "vm_start", { name: "v" }, context)).error?.code).toBe("NOT_IMPLEMENTED");
    // Validation comes first: bad input to a missing tool still names the field.
    expect((await callTool(keysOnly, "vm_stop", { name: "v", timeoutSeconds: -1 }, context)).error?.code).toBe("INVALID_SPEC");
  });
});

describe("list filter", () => {
  const states = [vm("a"), vm("b", "stopped"), { ...vm("c", "stopped"), sshPort: 2222, debug: true }];

  it("keeps what equals every pair, on top-level fields", async () => {
    const { impl } = provider({ power: false, vms: states });
    const names = async (filter: Record<string, unknown> | undefined) =>
      ((await callTool(impl, "vm_list", filter === undefined ? {} : { filter }, context)).resource as VMState[]).map((s) => s.name);
    expect(await names(undefined)).toEqual(["a", "b", "c"]);
    expect(await names({})).toEqual(["a", "b", "c"]);
    expect(await names({ status: "stopped" })).toEqual(["b", "c"]);
    expect(await names({ status: "stopped", name: "b" })).toEqual(["b"]);
    expect(await names({ sshPort: 2222, debug: true })).toEqual(["c"]);
    expect(await names({ sshPort: "2222" })).toEqual([]);
    expect(await names({ nosuchfield: "x" })).toEqual([]);
  });

  it("refuses values it cannot compare, naming the field", async () => {
    const { impl } = provider({ power: false, vms: states });
    for (const value of [{ a: 1 }, ["running"], null]) {
      const result = await callTool(impl, "vm_list", { filter: { status: value } }, context);
      expect(result.error?.code).toBe("INVALID_SPEC");
      expect(result.error?.message).toContain("filter.status: ");
    }
  });

  it("never matches inherited properties", () => {
    expect(applyListFilter([{ name: "x" }], { toString: "x" })).toEqual([]);
  });
});
