import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ORCHESTRATOR_BIN, connectOrchestrator, textOf } from "../helpers/mcp.js";
import { designExample } from "../helpers/specs.js";
import { readStubStore } from "../helpers/stub-store.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// Living VMs on the stub: `vm start|stop|restart` on the CLI, vm-start/vm-stop over MCP, and `status` asking the
// provider, so that a VM stopped, resized or deleted behind the tool's back shows as such next to its record.

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(box: Sandbox, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ORCHESTRATOR_BIN, ...args, "--state-dir", box.stateDir],
      { cwd: box.root, env: { PATH: process.env.PATH ?? "", HOME: box.root, TESTENV_VM_LOG: "warn" }, timeout: 110_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr }),
    );
  });
}

async function json(box: Sandbox, args: string[]): Promise<Json> {
  const run = await cli(box, [...args, "--json"]);
  expect(run.code, `${args.join(" ")}: ${run.stderr}${run.stdout}`).toBe(0);
  return JSON.parse(run.stdout) as Json;
}

/** Changes the stub's record of a VM behind the orchestrator's back, as someone with virsh would. */
function editStoredVm(box: Sandbox, providerName: string, edit: (vm: Json | undefined, vms: Json) => void): void {
  const data = JSON.parse(readFileSync(box.store, "utf8")) as Json;
  edit(data.vms[providerName] as Json | undefined, data.vms as Json);
  writeFileSync(box.store, JSON.stringify(data, null, 2));
}

const liveVm = (status: Json): Json => (status.live.resources as Json[]).find((r) => r.kind === "vm")!;

async function createEnvironment(box: Sandbox, options: Record<string, unknown> = {}): Promise<{ id: string; vmName: string }> {
  writeFileSync(join(box.root, "forge.yaml"), stringify({ name: "demo", testenv: [{ name: "vms", engine: "testenv-vm", spec: designExample(box.store, options) }] }));
  const id = testID("live");
  const created = await cli(box, ["create", "--id", id, "--quiet"]);
  expect(created.code, created.stderr).toBe(0);
  return { id, vmName: `${box.readState(id).prefix as string}-test-vm` };
}

describe("CLI: vm start|stop|restart and a live status", () => {
  it("stop, start and restart say how, and status shows the live state next to the record", async () => {
    using box = sandbox("live-cli");
    const { id, vmName } = await createEnvironment(box);

    const fresh = await json(box, ["status", "--id", id]);
    // The recorded summary is all there; live is added beside it.
    expect(fresh).toMatchObject({ testID: id, status: "ready" });
    expect(fresh.resources).toHaveLength(5);
    expect(fresh.live).toMatchObject({ testID: id, status: "ready", inSync: true, mismatches: [], errors: [] });
    expect((fresh.live.resources as Json[]).map((r) => `${r.kind}/${r.name}=${r.live}`).sort()).toEqual([
      "key/vm-ssh=present",
      "network/bridge=present",
      "network/dnsmasq=present",
      "network/libvirt-net=present",
      "vm/test-vm=running",
    ]);
    expect(liveVm(fresh)).toMatchObject({ recorded: "ready", recordedPower: "running", live: "running", drift: { status: "none" } });

    const stopped = await json(box, ["vm", "stop", "--id", id, "test-vm"]);
    expect(stopped).toMatchObject({ name: vmName, status: "stopped", stopMethod: "graceful" });
    const afterStop = await json(box, ["status", "--id", id]);
    expect(liveVm(afterStop)).toMatchObject({ recordedPower: "stopped", live: "stopped" });
    expect(afterStop.live.inSync).toBe(true);
    expect(readStubStore(box.store)?.vms[vmName]?.status).toBe("stopped");

    const again = await cli(box, ["vm", "stop", "--id", id, "test-vm"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`vm test-vm of ${id} was already stopped; its disk is kept (testenv-vm vm start --id ${id} test-vm starts it again)\n`);

    const started = await cli(box, ["vm", "start", "--id", id, "test-vm"]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(new RegExp(`^vm test-vm of ${id} is running at \\d+\\.\\d+\\.\\d+\\.\\d+\\n$`));
    expect(liveVm(await json(box, ["status", "--id", id]))).toMatchObject({ recordedPower: "running", live: "running" });

    const restarted = await json(box, ["vm", "restart", "--id", id, "test-vm"]);
    expect(restarted).toMatchObject({ status: "running", stopMethod: "graceful" });
    const forced = await cli(box, ["vm", "stop", "--id", id, "test-vm", "--force", "--timeout", "5"]);
    expect(forced.stdout).toContain("was powered off at once (--force)");
    // What the state file recorded of the VM carries no stopMethod: that belongs to one answer.
    expect(box.readState(id).resources.vms["test-vm"].state).toMatchObject({ status: "stopped" });
    expect(box.readState(id).resources.vms["test-vm"].state.stopMethod).toBeUndefined();
  });

  it("a guest that ignores the shutdown request is forced off after --timeout, and says so", async () => {
    using box = sandbox("live-cli-deaf");
    const { id } = await createEnvironment(box, { ignoreShutdown: ["test-vm"] });
    const run = await cli(box, ["vm", "stop", "--id", id, "test-vm", "--timeout", "1"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("was forced off: it did not shut down within 1 s");
  });

  it("status says when reality disagrees: stopped, resized or deleted behind the tool's back", async () => {
    using box = sandbox("live-cli-drift");
    const { id, vmName } = await createEnvironment(box);

    editStoredVm(box, vmName, (vm) => (vm!.status = "stopped"));
    const stoppedBehind = await json(box, ["status", "--id", id]);
    expect(liveVm(stoppedBehind)).toMatchObject({ recordedPower: "running", live: "stopped" });
    expect(stoppedBehind.live.inSync).toBe(false);
    expect(stoppedBehind.live.mismatches).toEqual(["vm test-vm: it is stopped, but the state file records it running (changed outside testenv-vm)"]);
    const human = await cli(box, ["status", "--id", id]);
    expect(human.stdout).toMatch(/vm\s+test-vm\s+\w+-test-vm\s+stub\s+ready\s+stopped \(differs\)/);
    expect(human.stdout).toContain("state file and reality disagree:\n  vm test-vm: it is stopped, but the state file records it running");

    editStoredVm(box, vmName, (vm) => {
      vm!.status = "running";
      (vm!.providerState as Json).memory = 2048;
    });
    const resized = await json(box, ["status", "--id", id]);
    expect(liveVm(resized).drift).toEqual({ status: "drifted", differences: [{ field: "memory", requested: 1024, live: 2048 }] });
    expect(resized.live.mismatches).toEqual(["vm test-vm: memory is 2048 MiB, the request was 1024 MiB"]);
    expect((await cli(box, ["status", "--id", id])).stdout).toMatch(/running \(drifted\)/);

    editStoredVm(box, vmName, (_vm, vms) => delete vms[vmName]);
    const deleted = await json(box, ["status", "--id", id]);
    expect(liveVm(deleted)).toMatchObject({ recorded: "ready", live: "missing" });
    expect(deleted.live.mismatches).toEqual([`vm test-vm: the state file records it ready, but provider stub has no ${vmName}`]);
    // Read-only: the state file still says what it said.
    expect(box.readState(id).resources.vms["test-vm"].status).toBe("ready");

    const recorded = await json(box, ["status", "--id", id, "--recorded"]);
    expect(recorded.live).toBeUndefined();
    expect(recorded.resources).toHaveLength(5);

    const start = await cli(box, ["vm", "start", "--id", id, "test-vm"]);
    expect(start.code).toBe(1);
    expect(start.stderr).toContain("testenv-vm vm start failed: start of vm test-vm in");
    expect(start.stderr).toContain("NOT_FOUND");
  });

  it("a provider that cannot be started leaves its resources unknown; status still answers", async () => {
    using box = sandbox("live-cli-noprovider");
    const { id } = await createEnvironment(box);
    const state = box.readState(id);
    state.providers[0].engine = join(box.root, "no-such-provider");
    writeFileSync(box.stateFile(id), JSON.stringify(state, null, 2));
    const status = await json(box, ["status", "--id", id]);
    expect(status.resources).toHaveLength(5);
    expect(status.live.inSync).toBe(false);
    expect(new Set((status.live.resources as Json[]).map((r) => String(r.live)))).toEqual(new Set(["unknown"]));
    expect(status.live.errors).toHaveLength(5);
    expect(status.live.errors[0]).toMatch(/provider stub could not be started: /);
  });

  it("bad input is refused clearly and changes nothing", async () => {
    using box = sandbox("live-cli-bad");
    const { id } = await createEnvironment(box);
    const stateBefore = box.readState(id);
    const storeBefore = readStubStore(box.store);

    const unknownEnv = await cli(box, ["vm", "stop", "--id", "no-such-env", "test-vm"]);
    expect(unknownEnv.code).toBe(4);
    expect(unknownEnv.stderr).toMatch(/^testenv-vm vm stop failed: environment no-such-env not found in /);

    const unknownVm = await cli(box, ["vm", "stop", "--id", id, "nope", "--json"]);
    expect(unknownVm.code).toBe(1);
    expect(JSON.parse(unknownVm.stdout)).toMatchObject({ ok: false, operation: "vm stop", error: { code: "NOT_FOUND", message: `vm nope is not in environment ${id}; its VMs: test-vm` } });

    const badTimeout = await cli(box, ["vm", "stop", "--id", id, "test-vm", "--timeout", "-3"]);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toMatch(/option '--timeout' (needs a value|takes whole seconds)/);
    const zero = await cli(box, ["vm", "stop", "--id", id, "test-vm", "--timeout", "0"]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain("option '--timeout' takes whole seconds from 1 to 3600, not '0'");

    expect(box.readState(id)).toEqual(stateBefore);
    expect(readStubStore(box.store)).toEqual(storeBefore);
  });
});

describe("MCP: vm-start, vm-stop and a live status", () => {
  it("over the official SDK client: stop, status stopped, start, status running; bad input names the field", async () => {
    using box = sandbox("live-mcp");
    const id = testID("live");
    await using orchestrator = await connectOrchestrator({ env: box.env });
    const { tools } = await orchestrator.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get("vm-stop")!.annotations).toMatchObject({ destructiveHint: true, idempotentHint: true, readOnlyHint: false });
    expect(Object.keys((byName.get("vm-stop")!.inputSchema as Json).properties as Json).sort()).toEqual(["force", "stateDir", "testID", "timeoutSeconds", "vm"]);
    expect((byName.get("vm-start")!.inputSchema as Json).required).toEqual(["testID", "vm"]);

    const created = await orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec: designExample(box.store) });
    expect(created.isError, textOf(created)).toBeFalsy();

    const stopped = await orchestrator.call("vm-stop", { testID: id, vm: "test-vm", timeoutSeconds: 30 });
    expect(stopped.isError, textOf(stopped)).toBeFalsy();
    expect(textOf(stopped)).toBe(`VM test-vm of ${id} shut down gracefully; its disk is kept`);
    expect(stopped.structuredContent).toMatchObject({ status: "stopped", stopMethod: "graceful" });

    const status = await orchestrator.call("status", { testID: id });
    expect(textOf(status)).toContain(`Environment ${id} is ready: 5 resource(s)`);
    const summary = status.structuredContent as Json;
    expect(summary.resources).toHaveLength(5);
    expect(liveVm(summary)).toMatchObject({ recordedPower: "stopped", live: "stopped" });
    expect(summary.live.inSync).toBe(true);
    expect(status.content[1]).toEqual({ type: "text", text: "Live: every resource matches the state file" });

    const started = await orchestrator.call("vm-start", { testID: id, vm: "test-vm" });
    expect(started.isError, textOf(started)).toBeFalsy();
    expect(textOf(started)).toMatch(new RegExp(`^VM test-vm of ${id} is running at \\d+\\.\\d+\\.\\d+\\.\\d+$`));
    expect(liveVm((await orchestrator.call("status", { testID: id })).structuredContent as Json)).toMatchObject({ live: "running" });

    const stateBefore = box.readState(id);
    const refusals: Array<[Record<string, unknown>, string, string]> = [
      [{ testID: "no-such-env", vm: "test-vm" }, "STATE_NOT_FOUND", "VM stop failed: environment no-such-env not found"],
      [{ testID: id, vm: "nope" }, "NOT_FOUND", `VM stop failed: vm nope is not in environment ${id}; its VMs: test-vm`],
      [{ testID: id, vm: "test-vm", timeoutSeconds: 0 }, "INPUT_INVALID", "VM stop failed: timeoutSeconds: "],
      [{ testID: id, vm: "test-vm", timeoutSeconds: "60" }, "INPUT_INVALID", "VM stop failed: timeoutSeconds: "],
      [{ testID: id }, "INPUT_INVALID", "VM stop failed: missing required field 'vm'"],
      [{ testID: id, vm: "test-vm", forse: true }, "INPUT_INVALID", "VM stop failed: forse: unknown field"],
    ];
    for (const [args, code, text] of refusals) {
      const result = await orchestrator.call("vm-stop", args);
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(textOf(result)).toContain(text);
      expect((result.structuredContent as Json).error.code).toBe(code);
    }
    const badStart = await orchestrator.call("vm-start", { testID: id, vm: "test-vm", force: true });
    expect(textOf(badStart)).toBe("VM start failed: force: unknown field; remove it (see tools/list for the accepted fields)");
    expect(box.readState(id)).toEqual(stateBefore);

    // Deleted behind the tool's back: status says missing, and the disagreement in its second text.
    const vmName = `${stateBefore.prefix as string}-test-vm`;
    editStoredVm(box, vmName, (_vm, vms) => delete vms[vmName]);
    const gone = await orchestrator.call("status", { testID: id });
    expect(liveVm(gone.structuredContent as Json)).toMatchObject({ live: "missing" });
    expect(gone.content[1]).toEqual({ type: "text", text: `Live: state file and reality disagree:\n- vm test-vm: the state file records it ready, but provider stub has no ${vmName}` });

    const deleted = await orchestrator.call("delete", { testID: id, metadata: null });
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
  });
});
