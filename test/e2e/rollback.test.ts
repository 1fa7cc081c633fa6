import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";
import { designExample } from "../helpers/specs.js";

// Phase 2 of the design example is [libvirt-net, dnsmasq]: fail dnsmasq with a code of the provider's own.
const FAULT = { tool: "network_create", name: "dnsmasq", code: "PERMISSION_DENIED", message: "injected: bridge is owned by root" };

async function createFailing(box: Sandbox, id: string, spec: Json, extra: Json = {}, env: Record<string, string> = {}): Promise<string> {
  await using orchestrator = await connectOrchestrator({ env: { ...box.env, ...env } });
  const result = await orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec, ...extra });
  expect(result.isError).toBe(true);
  return textOf(result);
}

async function deleteEnv(box: Sandbox, id: string): Promise<void> {
  await using orchestrator = await connectOrchestrator({ env: box.env });
  const result = await orchestrator.call("delete", { testID: id, metadata: null });
  expect(result.isError, textOf(result)).toBeFalsy();
}

describe("rollback when a phase fails", () => {
  it("fails with the provider's error code, deletes what phase 1 created, and records it in the state", async () => {
    using box = sandbox("rollback");
    const id = testID();
    const text = await createFailing(box, id, designExample(box.store, { faults: [FAULT] }));
    expect(text).toMatch(/^Create failed: /);
    expect(text).toContain("PERMISSION_DENIED");
    expect(text).toContain("dnsmasq");
    expect(text).toContain("injected: bridge is owned by root");

    // Nothing is left at the provider.
    expect(storedResources(box.store)).toEqual([]);

    // The state says what happened: failed, the error against dnsmasq, and every resource rolled back.
    const state = box.readState(id);
    expect(state.status).toBe("failed");
    const errors = state.errors as Json[];
    expect(errors.some((e) => e.resource?.name === "dnsmasq" && e.operation === "create" && String(e.code ?? e.error).includes("PERMISSION_DENIED"))).toBe(true);
    const resources = state.resources as Record<"keys" | "networks" | "vms", Record<string, Json>>;
    const records = [...Object.values(resources.keys), ...Object.values(resources.networks), ...Object.values(resources.vms)];
    expect(records.map((r) => String(r.name)).sort()).toEqual(expect.arrayContaining(["bridge", "vm-ssh"]));
    for (const record of records) expect(record.status, `${record.kind} ${record.name}`).toBe("destroyed");
    expect(state.resources.vms["test-vm"]).toBeUndefined();

    // Delete then removes the failed environment's state.
    await deleteEnv(box, id);
    expect(existsSync(box.stateFile(id))).toBe(false);
  });

  const keepers: Array<{ name: string; extra?: Json; spec?: Json; env?: Record<string, string> }> = [
    { name: "keepOnFailure in CreateInput", extra: { keepOnFailure: true } },
    { name: "cleanupOnFailure: false in the spec", spec: { cleanupOnFailure: false } },
    { name: "TESTENV_VM_CLEANUP_ON_FAILURE=false", env: { TESTENV_VM_CLEANUP_ON_FAILURE: "false" } },
  ];
  it.each(keepers)("$name keeps what was created; delete removes it", async ({ extra, spec, env }) => {
    using box = sandbox("keep");
    const id = testID();
    const text = await createFailing(box, id, { ...designExample(box.store, { faults: [FAULT] }), ...spec }, extra, env);
    expect(text).toContain("PERMISSION_DENIED");
    const prefix = box.readState(id).prefix as string;
    // Phase 1 and the phase-2 network that succeeded are still there for debugging.
    expect(storedResources(box.store)).toEqual([`key/${prefix}-vm-ssh`, `network/${prefix}-bridge`, `network/${prefix}-libvirt-net`].sort());
    expect(box.readState(id).status).toBe("failed");

    await deleteEnv(box, id);
    expect(storedResources(box.store)).toEqual([]);
    expect(existsSync(box.stateFile(id))).toBe(false);
  });
});

describe("provider crash mid-phase", () => {
  it("fails with PROVIDER_ERROR and rolls everything back", async () => {
    using box = sandbox("crash");
    const id = testID();
    const spec = designExample(box.store, { exitOn: { tool: "network_create", name: "dnsmasq", code: 3 } });
    const text = await createFailing(box, id, spec);
    expect(text).toMatch(/^Create failed: /);
    expect(text).toContain("PROVIDER_ERROR");
    expect(storedResources(box.store)).toEqual([]);
    const state = box.readState(id);
    expect(state.status).toBe("failed");
    await deleteEnv(box, id);
    expect(existsSync(box.stateFile(id))).toBe(false);
  });
});
