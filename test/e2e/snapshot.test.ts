import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Environment } from "../../src/client/index.js";
import { runCli } from "../helpers/cli.js";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { readStubStore, storedResources } from "../helpers/stub-store.js";
import { loopbackPlace } from "./loopback-env.js";
import type { Json } from "./env.js";

// Snapshots on the stub (issue 14): the engine and every surface (client library, CLI, MCP over the SDK client)
// save, restore, list and delete; the stub keeps each VM's record as its "memory and disk". Its VMs point at a
// real SSH server on loopback, so the client's kept connection is seen to reconnect after a restore.

const place = loopbackPlace("snapshot");
const { root, stateDir, storePath, testID, orchestrator, state } = place;
let env: Environment;

const provider = (vm: string): string => `${state().prefix}-${vm}`;
const storedSnapshots = (): string[] => Object.keys(readStubStore(storePath)?.snapshots ?? {}).sort();
const cli = (...args: string[]) => runCli(root, args, { TESTENV_VM_STATE_DIR: stateDir });

beforeAll(async () => {
  ({ env } = await place.start(["web", "db"]));
});

afterAll(() => place.close());

describe("snapshots through the client library", () => {
  it("env.snapshot saves every VM; after a change, env.restore brings the state back and the kept connection reconnects", async () => {
    const web = env.vm("web");
    expect((await web.exec("echo up")).stdout).toBe("up\n");
    expect(web.connectionCount).toBe(1);

    const saved = await env.snapshot("clean");
    expect(saved.name).toBe("clean");
    expect(Object.keys(saved.vms).sort()).toEqual(["db", "web"]);
    expect(saved.vms.web).toMatchObject({ snapshot: "clean", vm: provider("web"), method: "record" });
    expect(storedSnapshots()).toEqual([`${provider("db")}/clean`, `${provider("web")}/clean`]);

    await web.stop({ force: true });
    expect(state().resources.vms.web?.state).toMatchObject({ status: "stopped" });

    const restored = await env.restore("clean");
    expect(restored.vms.web).toMatchObject({ name: provider("web"), status: "running" });
    expect(state().resources.vms.web?.state).toMatchObject({ status: "running" });
    expect((await web.exec("echo back")).stdout).toBe("back\n");
    expect(web.connectionCount).toBe(2);
  });

  it("a second save under the same name is refused unless overwrite", async () => {
    await expect(env.snapshot("clean")).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
    await expect(env.snapshot("clean", { overwrite: true })).resolves.toMatchObject({ name: "clean" });
    await expect(env.restore("never-saved")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(env.snapshot("no spaces")).rejects.toMatchObject({ code: "INPUT_INVALID" });
  });
});

describe("testenv-vm snapshot", () => {
  it("save, list, restore and delete from fresh CLI processes", async () => {
    const saved = await cli("snapshot", "save", "--id", testID, "cli-snap");
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout).toBe(`snapshot cli-snap of ${testID} saved: web, db\n`);

    const listed = await cli("snapshot", "list", "--id", testID, "--json");
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Json[]).map((s) => s.name as string)).toEqual(["clean", "cli-snap"]);

    const human = await cli("snapshot", "list", "--id", testID);
    expect(human.stdout).toMatch(/^NAME\tVMS\tCREATED\nclean\tweb,db\t\S+\ncli-snap\tweb,db\t\S+\n$/);

    const again = await cli("snapshot", "save", "--id", testID, "cli-snap");
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("ALREADY_EXISTS");
    expect((await cli("snapshot", "save", "--id", testID, "cli-snap", "--force")).code).toBe(0);

    const restored = await cli("snapshot", "restore", "--id", testID, "cli-snap", "--json");
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ name: "cli-snap", vms: { web: { status: "running" }, db: { status: "running" } } });

    const deleted = await cli("snapshot", "delete", "--id", testID, "cli-snap");
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe(`snapshot cli-snap of ${testID} deleted: web, db\n`);
    const gone = await cli("snapshot", "delete", "--id", testID, "cli-snap");
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain(`environment ${testID} has no snapshot "cli-snap"`);
  });

  it("refuses what it cannot do before touching anything", async () => {
    const noSub = await cli("snapshot", "--id", testID);
    expect(noSub.code).toBe(2);
    expect(noSub.stderr).toContain("'snapshot' needs a subcommand: save, restore, list, delete");
    const typo = await cli("snapshot", "restor", "--id", testID);
    expect(typo.stderr).toContain("did you mean 'restore'?");
    const noID = await cli("snapshot", "save");
    expect(noID.stderr).toContain("'snapshot save' needs the environment id");
    const stray = await cli("snapshot", "restore", "--id", testID, "--force");
    expect(stray.stderr).toContain("option '--force' does not apply for 'snapshot restore'");
  });
});

describe("MCP snapshot-* tools over the SDK client", () => {
  it("save, list, restore, delete; the default name is 'default'", async () => {
    await using mcp = await connectOrchestrator({ env: { TESTENV_VM_STATE_DIR: stateDir } });
    const tools = (await mcp.client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(["snapshot-save", "snapshot-restore", "snapshot-list", "snapshot-delete"]));

    const before = await mcp.call("exec", { testID, vm: "web", command: "echo before" });
    expect((before.structuredContent as Json).stdout).toBe("before\n");
    const saved = await mcp.call("snapshot-save", { testID });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    expect(textOf(saved)).toBe(`Snapshot default of ${testID} saved: web, db`);
    expect(saved.structuredContent).toMatchObject({ name: "default", vms: { web: { snapshot: "default" } } });

    const listed = await mcp.call("snapshot-list", { testID });
    expect((listed.structuredContent as { snapshots: Json[] }).snapshots.map((s) => s.name as string)).toEqual(["clean", "default"]);

    const restored = await mcp.call("snapshot-restore", { testID, name: "default" });
    expect(restored.isError, textOf(restored)).toBeFalsy();
    expect(restored.structuredContent).toMatchObject({ name: "default", vms: { web: { status: "running" } } });

    const exec = await mcp.call("exec", { testID, vm: "web", command: "echo after-restore" });
    expect(exec.isError, textOf(exec)).toBeFalsy();
    expect((exec.structuredContent as Json).stdout).toBe("after-restore\n");

    const missing = await mcp.call("snapshot-restore", { testID, name: "nope" });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/^Snapshot restore failed: .*NOT_FOUND.*has no snapshot "nope"/);

    const deleted = await mcp.call("snapshot-delete", { testID, name: "default" });
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    const noID = await mcp.call("snapshot-save", {});
    expect(textOf(noID)).toBe("Snapshot save failed: missing required field 'testID'");
  });
});

describe("deleting the environment", () => {
  it("removes every snapshot with its VMs", async () => {
    await env.snapshot("last");
    expect(storedSnapshots().length).toBeGreaterThan(0);
    await env.close();
    await orchestrator.delete({ testID }, { stateDir });
    expect(storedResources(storePath)).toEqual([]);
  });
});
