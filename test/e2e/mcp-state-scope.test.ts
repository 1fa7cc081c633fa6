import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { storedResources } from "../helpers/stub-store.js";
import { designExample } from "../helpers/specs.js";
import { sandbox, testID, type Json } from "./env.js";

// An agent reaches only the environments of the MCP server's own state dirs: whatever state dir its arguments
// name (a tool's stateDir, a delete's metadata, a spec's stateDir) must be one the server was started with.

const errorOf = (result: { structuredContent?: unknown }): Json => (result.structuredContent as Json).error as Json;

describe("an MCP server reaches only its own state dirs", () => {
  it("refuses another project's state dir in every argument that names one, and leaves that environment alone", async () => {
    using mine = sandbox("scope-mine");
    using theirs = sandbox("scope-theirs");
    const id = testID();
    {
      await using other = await connectOrchestrator({ env: theirs.env });
      const created = await other.call("create", { testID: id, stage: "e2e", tmpDir: join(theirs.tmpDir, id), metadata: {}, spec: designExample(theirs.store) });
      expect(created.isError, textOf(created)).toBeFalsy();
    }
    const before = storedResources(theirs.store);
    expect(before).toHaveLength(5);

    await using agent = await connectOrchestrator({ env: mine.env });
    const refusals: Array<[string, Record<string, unknown>, string]> = [
      ["status", { testID: id, stateDir: theirs.stateDir }, "stateDir"],
      ["list", { stateDir: theirs.stateDir }, "stateDir"],
      ["vm-stop", { testID: id, vm: "test-vm", stateDir: theirs.stateDir }, "stateDir"],
      ["vm-start", { testID: id, vm: "test-vm", stateDir: theirs.stateDir }, "stateDir"],
      ["delete", { testID: id, stateDir: theirs.stateDir }, "stateDir"],
      ["delete", { testID: id, metadata: { "testenv-vm.stateDir": theirs.stateDir } }, "metadata.testenv-vm.stateDir"],
    ];
    for (const [tool, args, field] of refusals) {
      const result = await agent.call(tool, args);
      expect(result.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(errorOf(result).code).toBe("INPUT_INVALID");
      expect(textOf(result)).toContain(`${field}: state dir "${theirs.stateDir}" is not one this MCP server serves (${mine.stateDir})`);
      expect(textOf(result)).toContain("--allow-state-dir");
    }
    expect(theirs.stateFiles()).toEqual([`testenv-${id}.json`]);
    expect(theirs.readState(id).status).toBe("ready");
    expect(storedResources(theirs.store)).toEqual(before);

    // The server's own dir, spelled through a symlink, is still its own.
    const link = join(mine.root, "state-link");
    mkdirSync(mine.stateDir, { recursive: true });
    symlinkSync(mine.stateDir, link);
    const own = await agent.call("list", { stateDir: link });
    expect(own.isError, textOf(own)).toBeFalsy();
  });

  it("refuses a create whose spec.stateDir lies outside, before anything is created", async () => {
    using mine = sandbox("scope-create");
    using theirs = sandbox("scope-create-theirs");
    const id = testID();
    // No TESTENV_VM_STATE_DIR: the server's own dir is the default under its cwd, and a spec's stateDir would count.
    const { TESTENV_VM_STATE_DIR: _unused, ...env } = mine.env;
    mkdirSync(join(mine.root, "project"), { recursive: true });
    await using agent = await connectOrchestrator({ env, cwd: join(mine.root, "project") });
    const result = await agent.call("create", {
      testID: id, stage: "e2e", tmpDir: join(mine.tmpDir, id), rootDir: join(mine.root, "project"), metadata: {},
      spec: { ...designExample(mine.store), stateDir: theirs.stateDir },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(`spec.stateDir: state dir "${theirs.stateDir}" is not one this MCP server serves (${join(mine.root, "project", ".forge/testenv-vm")})`);
    expect(theirs.stateFiles()).toEqual([]);
    expect(storedResources(mine.store)).toEqual([]);
  });

  it("serves the dirs it was started with, and every dir with TESTENV_VM_MCP_STATE_DIRS=any", async () => {
    using mine = sandbox("scope-allowed");
    using theirs = sandbox("scope-allowed-theirs");
    const id = testID();
    {
      await using other = await connectOrchestrator({ env: theirs.env });
      expect((await other.call("create", { testID: id, stage: "e2e", tmpDir: join(theirs.tmpDir, id), metadata: {}, spec: designExample(theirs.store) })).isError).toBeFalsy();
    }
    const flagged = await connectOrchestrator({ env: { ...mine.env, TESTENV_VM_MCP_STATE_DIRS: theirs.stateDir } });
    try {
      const status = await flagged.call("status", { testID: id, stateDir: theirs.stateDir });
      expect(status.isError, textOf(status)).toBeFalsy();
      expect((status.structuredContent as Json).status).toBe("ready");
    } finally {
      await flagged.close();
    }
    await using open = await connectOrchestrator({ env: { ...mine.env, TESTENV_VM_MCP_STATE_DIRS: "any" } });
    const deleted = await open.call("delete", { testID: id, stateDir: theirs.stateDir });
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    expect(theirs.stateFiles()).toEqual([]);
    expect(storedResources(theirs.store)).toEqual([]);
  });
});
