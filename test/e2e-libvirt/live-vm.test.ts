import { execFile, execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openEnvironment, type Environment } from "../../src/client/index.js";
import { ensureTestImages } from "../helpers/images.js";
import { waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import {
  artifactFile,
  connectOrchestrator,
  createOverMcp,
  deleteIfLeft,
  deleteOverMcp,
  fourResourceSpec,
  leakScope,
  readState,
  sshRun,
  textOf,
  workspace,
  type Json,
  type Workspace,
} from "./support.js";

// Living VMs of an environment with real libvirt (issue 10, part 1): `status` reads every resource live, so a
// domain destroyed behind the tool's back shows as stopped next to its "running" record; `vm stop` shuts the tiny
// guest down gracefully, `vm start` and handle.start() bring it back to SSH with its data kept, `vm restart` does
// both, and MCP vm-stop/vm-start do the same over the protocol. Each CLI call is a fresh `testenv-vm` process.

const BIN = resolve(import.meta.dirname, "../../dist/src/bin.js");
const run = promisify(execFile);
const virsh = (...args: string[]): string => execFileSync("virsh", ["-q", "-c", "qemu:///system", ...args], { encoding: "utf8" }).trim();
/** On the tiny image only /boot/state survives a power cycle (the root is an initramfs). */
const MARKER = "/boot/state/living-marker";

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describeIfTestHost("e2e_libvirt: live status, vm stop/start/restart of an environment VM", () => {
  let ws: Workspace;
  let artifact: Json;
  let env: Environment | undefined;
  let domain = "";
  const marker = `living-${process.pid}-${Date.now()}`;

  async function cli(...args: string[]): Promise<CliResult> {
    try {
      const { stdout, stderr } = await run("node", [BIN, ...args], { timeout: 600_000, env: { ...process.env, ...ws.env, TESTENV_VM_LOG: "warn" } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  }

  async function cliJson(...args: string[]): Promise<Json> {
    const result = await cli(...args, "--json");
    expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
    return JSON.parse(result.stdout) as Json;
  }

  const liveVm = (status: Json): Json => (status.live.resources as Json[]).find((r) => r.kind === "vm")!;

  /**
   * A command over a fresh SSH connection to the address the state records now. After a hard power-off the
   * client handle's kept connection is half-open until the new guest resets it; a fresh one avoids the wait.
   */
  async function onGuest(command: string): Promise<string> {
    const ip = readState(ws).resources.vms["test-vm"].state.ip as string;
    const out = await sshRun(ip, artifactFile(ws, artifact, "testenv-vm.key.vm-ssh"), command);
    expect(out.code, out.stderr).toBe(0);
    return out.stdout.trim();
  }

  beforeAll(async () => {
    const images = ensureTestImages(["tiny"]);
    ws = workspace("living");
    const result = await createOverMcp(ws, fourResourceSpec({ baseImage: images.tiny, octet: 140, hostname: "living" }));
    expect(result.isError, textOf(result)).toBeFalsy();
    artifact = result.structuredContent as Json;
    domain = `${readState(ws).prefix as string}-test-vm`;
    env = await openEnvironment({ artifact: artifact as never, tmpDir: ws.tmpDir });
    await env.vm("test-vm").exec(`echo ${marker} > ${MARKER} && sync`, { check: true });
  });

  afterAll(async () => {
    await env?.close();
    await deleteIfLeft(ws);
    ws[Symbol.dispose]();
  });

  it("status reads every resource live: present, running, and the size the domain really has", async () => {
    const status = await cliJson("status", "--id", ws.testID);
    expect(status.resources).toHaveLength(4);
    expect(status.live).toMatchObject({ inSync: true, mismatches: [], errors: [] });
    expect((status.live.resources as Json[]).map((r) => `${r.kind}/${r.name}=${r.live}`).sort()).toEqual([
      "key/vm-ssh=present",
      "network/bridge=present",
      "network/libvirt-net=present",
      "vm/test-vm=running",
    ]);
    // libvirt's vm_get reads memory and vCPUs from the domain XML: the request's 256 MiB and 1 vCPU.
    expect(liveVm(status)).toMatchObject({ live: "running", recordedPower: "running", drift: { status: "none", differences: [] } });
    expect(liveVm(status).state.providerState).toMatchObject({ memory: 256, vcpus: 1 });
  });

  it("a domain stopped behind the tool's back shows as stopped, and vm start brings it back with its data", async () => {
    virsh("destroy", domain);
    const status = await cliJson("status", "--id", ws.testID);
    expect(liveVm(status)).toMatchObject({ recordedPower: "running", live: "stopped" });
    expect(status.live.inSync).toBe(false);
    expect(status.live.mismatches).toEqual(["vm test-vm: it is stopped, but the state file records it running (changed outside testenv-vm)"]);
    const human = await cli("status", "--id", ws.testID);
    expect(human.stdout).toContain("state file and reality disagree:");

    const started = await cli("vm", "start", "--id", ws.testID, "test-vm");
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/^vm test-vm of \S+ is running at \d+\.\d+\.\d+\.\d+\n$/);
    expect(virsh("domstate", domain)).toBe("running");
    // start waited for SSH already; the data written before the power-off is there.
    expect(await onGuest(`cat ${MARKER}`)).toBe(marker);
    expect((await cliJson("status", "--id", ws.testID)).live.inSync).toBe(true);
  });

  it("vm stop is graceful; status shows it stopped and in sync with the state file", async () => {
    const stopped = await cliJson("vm", "stop", "--id", ws.testID, "test-vm", "--timeout", "120");
    expect(stopped).toMatchObject({ name: domain, status: "stopped", stopMethod: "graceful" });
    expect(virsh("domstate", domain)).toBe("shut off");
    const status = await cliJson("status", "--id", ws.testID);
    expect(liveVm(status)).toMatchObject({ recordedPower: "stopped", live: "stopped" });
    expect(status.live.inSync).toBe(true);
    const again = await cli("vm", "stop", "--id", ws.testID, "test-vm");
    expect(again.stdout).toContain("was already stopped");
  });

  it("handle.start() waits for readiness; SSH works again and the data is kept", async () => {
    const web = env!.vm("test-vm");
    const started = await web.start();
    expect(started).toMatchObject({ status: "running" });
    expect(started.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await web.exec(`cat ${MARKER}`, { check: true })).stdout.trim()).toBe(marker);
    expect((await env!.status()).resources.find((r) => r.kind === "vm")).toMatchObject({ live: "running" });
  });

  it("vm restart shuts down gracefully and starts again; SSH works afterwards", async () => {
    // The root file system lives in memory: a file there is gone after a real reboot, /boot/state is not.
    await onGuest("echo before-restart > /tmp/boot-witness");
    const restarted = await cliJson("vm", "restart", "--id", ws.testID, "test-vm");
    expect(restarted).toMatchObject({ status: "running", stopMethod: "graceful" });
    expect(virsh("domstate", domain)).toBe("running");
    expect(await onGuest(`cat /tmp/boot-witness 2>/dev/null || echo rebooted; cat ${MARKER}`)).toBe(`rebooted\n${marker}`);
  });

  it("MCP vm-stop with force and vm-start over the protocol", async () => {
    await using orchestrator = await connectOrchestrator({ env: ws.env });
    const stopped = await orchestrator.call("vm-stop", { testID: ws.testID, vm: "test-vm", force: true }, { timeoutMs: 600_000 });
    expect(stopped.isError, textOf(stopped)).toBeFalsy();
    expect(stopped.structuredContent).toMatchObject({ status: "stopped", stopMethod: "forced" });
    expect(textOf(stopped)).toContain("was powered off at once (force)");
    const started = await orchestrator.call("vm-start", { testID: ws.testID, vm: "test-vm" }, { timeoutMs: 600_000 });
    expect(started.isError, textOf(started)).toBeFalsy();
    expect(started.structuredContent).toMatchObject({ status: "running" });
    const status = await orchestrator.call("status", { testID: ws.testID }, { timeoutMs: 600_000 });
    expect(liveVm(status.structuredContent as Json)).toMatchObject({ live: "running", recordedPower: "running" });
    expect(await onGuest(`cat ${MARKER}`)).toBe(marker);
  });

  it("deleting the environment leaves nothing carrying its prefix", async () => {
    await env?.close();
    env = undefined;
    const prefix = readState(ws).prefix as string;
    const result = await deleteOverMcp(ws, artifact.metadata as Record<string, string>);
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(await waitForNoLeaks(leakScope(ws, prefix))).toEqual([]);
  });
});
