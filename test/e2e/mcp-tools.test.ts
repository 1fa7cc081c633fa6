import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { sandbox, testID, type Json } from "./env.js";
import { designExample } from "../helpers/specs.js";

describe("the MCP surface as Forge and agents see it", () => {
  it("serves the Forge tools and the agents' tools with schemas and annotations", async () => {
    using box = sandbox("tools");
    await using orchestrator = await connectOrchestrator({ env: box.env });
    expect(orchestrator.client.getServerVersion()?.name).toBe("testenv-vm");
    const { tools } = await orchestrator.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual([
      "config-validate", "console", "copy", "create", "delete", "doctor", "exec", "gc", "list", "logs", "plan", "read-file",
      "snapshot-delete", "snapshot-list", "snapshot-restore", "snapshot-save", "status",
      "vm-add", "vm-capture", "vm-remove", "vm-start", "vm-status", "vm-stop", "vm-sync", "write-file",
    ]);
    expect(byName.get("create")!.annotations).toMatchObject({ destructiveHint: false, idempotentHint: true });
    expect(byName.get("delete")!.annotations).toMatchObject({ destructiveHint: true, idempotentHint: true });
    for (const name of ["config-validate", "status", "list"]) expect(byName.get(name)!.annotations?.readOnlyHint, name).toBe(true);
    const create = byName.get("create")!.inputSchema as Json;
    expect(create.required).toEqual(expect.arrayContaining(["testID", "stage", "tmpDir"]));
    expect(Object.keys(create.properties as Json)).toEqual(expect.arrayContaining(["testID", "stage", "tmpDir", "rootDir", "metadata", "spec", "env", "envPropagation"]));
  });

  it("status and list show an environment and its resources; errors name what is missing", async () => {
    using box = sandbox("status");
    const id = testID();
    await using orchestrator = await connectOrchestrator({ env: box.env });
    const created = await orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec: designExample(box.store) });
    expect(created.isError, textOf(created)).toBeFalsy();

    const status = await orchestrator.call("status", { testID: id });
    expect(status.isError, textOf(status)).toBeFalsy();
    expect(textOf(status)).toContain(`Environment ${id} is ready: 5 resource(s)`);
    const summary = status.structuredContent as Json;
    expect(summary).toMatchObject({ testID: id, stage: "e2e", status: "ready" });
    expect(summary.spec).toBeUndefined();
    const vm = (summary.resources as Json[]).find((r) => r.kind === "vm")!;
    expect(vm).toMatchObject({ name: "test-vm", status: "ready", provider: "stub" });
    expect(vm.providerName).toBe(`${summary.prefix as string}-test-vm`);
    expect(vm.state.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const list = await orchestrator.call("list", {});
    expect(list.isError, textOf(list)).toBeFalsy();
    const environments = (list.structuredContent as Json).environments as Json[];
    expect(environments.map((e) => String(e.testID))).toEqual([id]);
    expect(environments[0]!.resources).toHaveLength(5);

    const unknown = await orchestrator.call("status", { testID: "no-such-env" });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/^Status failed: environment no-such-env not found/);
    expect((unknown.structuredContent as Json).error.code).toBe("STATE_NOT_FOUND");

    const deleted = await orchestrator.call("delete", { testID: id, metadata: null });
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    const empty = await orchestrator.call("list", {});
    expect((empty.structuredContent as Json).count).toBe(0);
  });

  it("config-validate answers valid specs, invalid specs and spec files", async () => {
    using box = sandbox("validate");
    await using orchestrator = await connectOrchestrator({ env: box.env });
    const valid = await orchestrator.call("config-validate", { spec: designExample(box.store) });
    expect(valid.isError).toBeFalsy();
    expect(textOf(valid)).toBe("Configuration is valid");
    expect(valid.structuredContent).toEqual({ valid: true });

    const spec = designExample(box.store);
    (spec.vms as Json[])[0]!.spec.memory = -1;
    (spec.vms as Json[])[0]!.spec.vcpus = 0;
    const invalid = await orchestrator.call("config-validate", { spec });
    expect(invalid.isError).toBeFalsy();
    expect(textOf(invalid)).toBe("Configuration validation failed with 2 error(s)");
    const errors = (invalid.structuredContent as Json).errors as Json[];
    expect(errors.map((e) => String(e.field)).sort()).toEqual(["vms[0].spec.memory", "vms[0].spec.vcpus"]);

    const fromFile = await orchestrator.call("config-validate", { configPath: join(import.meta.dirname, "../fixtures/specs/basic_vm.yaml") });
    expect(textOf(fromFile)).toBe("Configuration is valid");
    const missing = await orchestrator.call("config-validate", { configPath: join(box.root, "nope.yaml") });
    expect(textOf(missing)).toBe("Configuration validation failed with 1 error(s)");
    expect(JSON.stringify(missing.structuredContent)).toContain("does not exist");
    expect(box.stateFiles()).toEqual([]);
  });
});
