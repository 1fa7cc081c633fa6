import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openEnvironment, type Environment } from "../../src/client/index.js";
import { ensureTestImages } from "../helpers/images.js";
import { findLeaks, waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { connectOrchestrator, createOverMcp, deleteIfLeft, deleteOverMcp, fourResourceSpec, leakScope, readState, textOf, workspace, type Json, type Workspace } from "./support.js";

// Snapshots with real libvirt (issue 14): a tiny VM saved with its memory and disk, changed, restored; SSH works
// again on the same IP with the same host key (the client's known_hosts would refuse another), the files are back,
// a snapshot deleted while the VM runs leaves no tag in the overlay, and the environment's delete leaves nothing.

const BIN = resolve(import.meta.dirname, "../../dist/src/bin.js");
const run = promisify(execFile);
/** On the tiny image the root is an initramfs (memory); /boot/state is on the disk. */
const IN_MEMORY = "/tmp/snapshot-marker";
const ON_DISK = "/boot/state/snapshot-marker";
const virsh = (...args: string[]): string => execFileSync("virsh", ["-q", "-c", "qemu:///system", ...args], { encoding: "utf8" }).trim();

describeIfTestHost("e2e_libvirt: snapshot save/restore of an environment", () => {
  let ws: Workspace;
  let env: Environment | undefined;
  let domain = "";
  let prefix = "";
  const marker = `snap-${process.pid}-${Date.now()}`;

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run("node", [BIN, ...args], { timeout: 600_000, env: { ...process.env, ...ws.env, TESTENV_VM_LOG: "warn" } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  }

  const guest = async (command: string): Promise<string> => (await env!.vm("test-vm").exec(command, { check: true })).stdout.trim();
  const recordedIp = (): string => readState(ws).resources.vms["test-vm"].state.ip as string;
  const diskTags = (): string => {
    const disk = virsh("domblklist", domain, "--details").split("\n").map((line) => line.trim().split(/\s+/)).find((cols) => cols[1] === "disk")?.[3] ?? "";
    return execFileSync("qemu-img", ["snapshot", "-l", "-U", disk], { encoding: "utf8" });
  };

  beforeAll(async () => {
    const images = ensureTestImages(["tiny"]);
    ws = workspace("snapshot");
    const result = await createOverMcp(ws, fourResourceSpec({ baseImage: images.tiny, octet: 160, hostname: "snapshot" }));
    expect(result.isError, textOf(result)).toBeFalsy();
    prefix = readState(ws).prefix as string;
    domain = `${prefix}-test-vm`;
    env = await openEnvironment({ artifact: result.structuredContent as never, tmpDir: ws.tmpDir });
  });

  afterAll(async () => {
    await env?.close();
    await deleteIfLeft(ws);
    ws[Symbol.dispose]();
  });

  it("save, change, restore: the memory and disk files are back, on the same IP with the same host key", async () => {
    await guest(`echo ${marker} > ${IN_MEMORY} && echo ${marker} > ${ON_DISK} && sync`);
    const ipBefore = recordedIp();
    const knownHosts = readFileSync(env!.knownHostsPath, "utf8");

    const t0 = performance.now();
    const saved = await env!.snapshot("clean");
    const saveMs = performance.now() - t0;
    expect(saved.vms["test-vm"]).toMatchObject({ snapshot: "clean", vm: domain, method: "virsh-save+qcow2-internal" });
    expect(virsh("domstate", domain)).toBe("running");
    expect(await guest(`cat ${IN_MEMORY}`)).toBe(marker);

    await guest(`echo changed > ${IN_MEMORY} && rm -f ${ON_DISK} && sync`);
    const t1 = performance.now();
    const restored = await env!.restore("clean");
    const restoreMs = performance.now() - t1;
    process.stderr.write(`snapshot: save ${saveMs.toFixed(0)} ms, restore to SSH-ready ${restoreMs.toFixed(0)} ms\n`);
    expect(restored.vms["test-vm"]).toMatchObject({ status: "running", ip: ipBefore });
    expect(recordedIp()).toBe(ipBefore);
    expect(await guest(`cat ${IN_MEMORY} ${ON_DISK}`)).toBe(`${marker}\n${marker}`);
    // The client checks the host key against what it recorded at first use: a new key would have been refused.
    expect(readFileSync(env!.knownHostsPath, "utf8")).toBe(knownHosts);
  });

  it("the CLI lists and restores from a fresh process; MCP restores over the protocol", async () => {
    const listed = await cli("snapshot", "list", "--id", ws.testID, "--json");
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Json[]).map((s) => s.name as string)).toEqual(["clean"]);
    await guest(`rm -f ${IN_MEMORY}`);
    const restored = await cli("snapshot", "restore", "--id", ws.testID, "clean");
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toBe(`snapshot clean of ${ws.testID} restored: test-vm at ${recordedIp()}\n`);

    await guest(`rm -f ${IN_MEMORY}`);
    await using orchestrator = await connectOrchestrator({ env: ws.env });
    const over = await orchestrator.call("snapshot-restore", { testID: ws.testID, name: "clean" }, { timeoutMs: 600_000 });
    expect(over.isError, textOf(over)).toBeFalsy();
    const exec = await orchestrator.call("exec", { testID: ws.testID, vm: "test-vm", command: `cat ${IN_MEMORY}` }, { timeoutMs: 120_000 });
    expect(exec.isError, textOf(exec)).toBeFalsy();
    expect((exec.structuredContent as Json).stdout).toBe(`${marker}\n`);
    // Restored by other processes: this process's handles still hold connections to the guest as it was before.
    // env.restore() drops them itself; here they are closed, and the next command connects to the restored guest.
    await env!.close();
    expect(await guest(`cat ${IN_MEMORY}`)).toBe(marker);
  });

  it("a snapshot deleted while the VM runs leaves no tag in the overlay and no file", async () => {
    await env!.snapshot("scratch");
    expect(diskTags()).toContain("testenv-scratch");
    const deleted = await cli("snapshot", "delete", "--id", ws.testID, "scratch");
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(diskTags()).not.toContain("testenv-scratch");
    expect(findLeaks(leakScope(ws, prefix)).filter((line) => line.includes("/snapshots/scratch"))).toEqual([]);
    expect(virsh("domstate", domain)).toBe("running");
  });

  it("deleting the environment removes its snapshots: nothing carrying its prefix is left", async () => {
    await env?.close();
    env = undefined;
    expect(findLeaks(leakScope(ws, prefix)).some((line) => line.includes("/snapshots/clean/memory.save"))).toBe(true);
    const result = await deleteOverMcp(ws);
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(await waitForNoLeaks(leakScope(ws, prefix))).toEqual([]);
  });
});
