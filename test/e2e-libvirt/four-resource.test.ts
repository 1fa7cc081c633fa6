import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { findLeaks, waitForNoLeaks } from "../helpers/leaks.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { artifactFile, createOverMcp, deleteIfLeft, deleteOverMcp, fourResourceSpec, leakScope, readState, sshRun, textOf, workspace, type Json, type Workspace } from "./support.js";

// The design's 4-resource environment with real libvirt, driven exactly as Forge drives it: `testenv-vm --mcp`
// started twice (create, then delete from a second process), the official MCP SDK client, the artifact's key file.

describeIfTestHost("e2e_libvirt: the design's 4-resource environment over MCP", () => {
  let images: TestImages;
  let ws: Workspace;
  let artifact: Json | undefined;
  let prefix = "";

  beforeAll(() => {
    images = ensureTestImages("tiny");
    ws = workspace("four");
  });

  afterAll(async () => {
    // Leave nothing behind when an assertion failed half-way.
    await deleteIfLeft(ws);
    ws[Symbol.dispose]();
  });

  it("creates key, bridge, attached libvirt network and VM; the artifact's key logs in over SSH", async () => {
    const progress: string[] = [];
    const result = await createOverMcp(ws, fourResourceSpec({ baseImage: images.tiny, hostname: "four-vm" }), (m) => progress.push(m));
    expect(result.isError, textOf(result)).toBeFalsy();
    const created = result.structuredContent as Json;
    artifact = created;
    const state = readState(ws);
    prefix = state.prefix as string;
    expect(state.status).toBe("ready");
    expect(progress.filter((m) => m.includes("phase")).length).toBeGreaterThanOrEqual(3);

    // Real resources under the environment's prefix.
    const domain = `${prefix}-test-vm`;
    expect(execFileSync("virsh", ["-q", "-c", "qemu:///system", "domstate", domain], { encoding: "utf8" }).trim()).toBe("running");
    const bridge = created.metadata["testenv-vm.network.bridge.interface"] as string;
    expect(bridge.startsWith(`${prefix}-`)).toBe(true);
    const ip = created.metadata["testenv-vm.vm.test-vm.ip"] as string;
    // The orchestrator moved 192.168.100.0/24 to the environment's own /24.
    expect(ip).toMatch(new RegExp(`^192\\.168\\.${String(state.subnetOctet)}\\.`));
    expect(created.env.TESTENV_VM_TEST_VM_IP).toBe(ip);

    // Forge resolves files against its tmpDir; the key is a real 0600 private key that the VM accepts.
    const keyPath = artifactFile(ws, created, "testenv-vm.key.vm-ssh");
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const out = await sshRun(ip, keyPath, "hostname; cat /proc/sys/kernel/osrelease");
    expect(out.code).toBe(0);
    expect(out.stdout.split("\n")[0]).toBe("four-vm");

    // The VM's serial console is logged in the artifact dir.
    expect(existsSync(join(ws.artifactDir, "test-vm.console")) || existsSync(join(ws.artifactDir, `${domain}.console`))).toBe(true);
  });

  it("a second orchestrator process deletes it and nothing carrying the prefix is left (e2e_libvirt_delete)", async () => {
    expect(artifact, "create must have succeeded").toBeDefined();
    const scope = leakScope(ws, prefix);
    expect(findLeaks(scope).length).toBeGreaterThan(0); // the check sees the live environment
    const result = await deleteOverMcp(ws, artifact!.metadata as Record<string, string>);
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toBe("Deleted test environment resource using testenv-vm");
    expect(await waitForNoLeaks(scope)).toEqual([]);
    expect(existsSync(join(ws.artifactDir))).toBe(false);
    prefix = "";
  });
});

function quietly(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: "ignore" });
  } catch {
    // already gone
  }
}

describeIfTestHost("e2e_libvirt_delete: the leak check can fail", () => {
  it("reports a domain, a bridge and a file made behind testenv-vm's back, and is empty once they are gone", () => {
    const prefix = "ee1eak";
    const dataDir = `/var/tmp/testenv-vm-e2e-leakcheck-${prefix}`;
    const scope = { prefix, dataDir, artifactDir: join(dataDir, "artifacts") };
    const domain = `${prefix}-planted`;
    const bridge = `${prefix}-br0`;
    const xml = join(dataDir, "domain.xml");
    mkdirSync(scope.artifactDir, { recursive: true });
    try {
      expect(findLeaks(scope)).toEqual([]);
      writeFileSync(join(scope.artifactDir, "planted.console"), "left behind\n");
      writeFileSync(
        xml,
        `<domain type='qemu'><name>${domain}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>`,
      );
      execFileSync("virsh", ["-q", "-c", "qemu:///system", "define", xml], { stdio: "ignore" });
      execFileSync("ip", ["link", "add", bridge, "type", "bridge"]);
      const leaks = findLeaks(scope);
      expect(leaks).toEqual(
        expect.arrayContaining([`domain ${domain}`, `link ${bridge}`, `file ${join(scope.artifactDir, "planted.console")}`, `file ${xml}`]),
      );
    } finally {
      quietly("virsh", ["-q", "-c", "qemu:///system", "undefine", domain]);
      quietly("ip", ["link", "del", bridge]);
      rmSync(dataDir, { recursive: true, force: true });
    }
    expect(findLeaks(scope)).toEqual([]);
  });
});
