import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Spec } from "../../api/spec.js";
import { findLeaks, waitForNoLeaks } from "../helpers/leaks.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { PODMAN_BIN, PODMAN_ROOT, conmonProcesses, podmanEnv } from "../podman/support.js";
import { LIBVIRT_PROVIDER, artifactFile, createOverMcp, deleteIfLeft, deleteOverMcp, leakScope, readState, sshRun, textOf, workspace, type Json, type Workspace } from "./support.js";

// One VM and one container in one environment, on one segment: the libvirt provider makes a Linux bridge and a
// libvirt network on it with DHCP for the VM; the podman provider attaches a podman network to that same bridge
// (its name taken from the bridge's template) for the container, at a fixed address outside the DHCP range. The
// container's key and the VM's address come to it through templates across providers. Both providers and podman
// run in the test host's namespace (this process is there already, entered with `nsenter --net`).

const NET = "192.168.100";

function mixedSpec(baseImage: string): Spec {
  const root = (key: string) => ({ name: "root", sshAuthorizedKeys: [`{{ .Keys.${key}.PublicKey }}`] });
  const sshReady = { enabled: true, user: "root", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "6m" };
  return {
    providers: [{ ...LIBVIRT_PROVIDER, default: true }, { name: "podman", engine: "testenv-vm-provider-podman", spec: { root: PODMAN_ROOT } }],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "bridge", kind: "bridge", spec: { cidr: `${NET}.1/24` } },
      { name: "libvirt-net", kind: "libvirt", spec: { attachTo: "bridge", forwardMode: "bridge", cidr: `${NET}.1/24`, dhcp: { enabled: true, rangeStart: `${NET}.10`, rangeEnd: `${NET}.50` } } },
      { name: "lan", kind: "bridge", provider: "podman", spec: { attachTo: "{{ .Networks.bridge.InterfaceName }}", cidr: `${NET}.1/24` } },
    ],
    vms: [
      {
        name: "vm",
        spec: { memory: 256, vcpus: 1, network: "libvirt-net", disk: { baseImage, size: "1G" }, cloudInit: { hostname: "mixed-vm", users: [root("vm-ssh")] }, readiness: { ssh: sshReady } },
      },
      {
        name: "box",
        provider: "podman",
        spec: {
          memory: 128,
          vcpus: 1,
          networks: ["lan"],
          container: { ip: `${NET}.60`, env: { PEER_VM: "{{ .VMs.vm.IP }}" } },
          cloudInit: { users: [root("vm-ssh")] },
          readiness: { ssh: sshReady },
        },
      },
    ],
  };
}

const podman = (...args: string[]): string => execFileSync("podman", args, { encoding: "utf8", env: podmanEnv(), timeout: 60_000 });
const lines = (text: string): string[] => text.split("\n").map((s) => s.trim()).filter(Boolean);

/** Everything podman holds with the environment's prefix: containers, networks, volumes, conmon processes. */
function podmanLeaks(prefix: string): string[] {
  return [
    ...lines(podman("ps", "--all", "--format", "{{.Names}}")).filter((c) => c.startsWith(`${prefix}-`)).map((c) => `container ${c}`),
    ...lines(podman("network", "ls", "--format", "{{.Name}}")).filter((n) => n.startsWith(`${prefix}-`)).map((n) => `network ${n}`),
    ...lines(podman("volume", "ls", "--filter", `label=testenv-vm.prefix=${prefix}`, "--format", "{{.Name}}")).map((v) => `volume ${v}`),
    ...conmonProcesses(`${prefix}-`).map((pid) => `conmon pid ${pid}`),
  ];
}

describeIfTestHost("e2e_libvirt: one VM and one container on one bridge, reaching each other", () => {
  let images: TestImages;
  let ws: Workspace;
  let artifact: Json | undefined;
  let prefix = "";

  beforeAll(() => {
    images = ensureTestImages("tiny");
    // The podman base image: cached in PODMAN_ROOT's storage (the podman stage builds it); a no-op when there.
    execFileSync(process.execPath, [PODMAN_BIN, "build-image"], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, TESTENV_VM_PROVIDER_CONFIG: JSON.stringify({ root: PODMAN_ROOT }) }, timeout: 30 * 60_000 });
    ws = workspace("mixed");
  });

  afterAll(async () => {
    await deleteIfLeft(ws);
    ws[Symbol.dispose]();
  });

  it("creates both on the libvirt bridge; each reaches the other, and templates cross providers", async () => {
    const result = await createOverMcp(ws, mixedSpec(images.tiny));
    expect(result.isError, textOf(result)).toBeFalsy();
    const created = result.structuredContent as Json;
    artifact = created;
    const state = readState(ws);
    prefix = state.prefix as string;
    const net = `192.168.${String(state.subnetOctet)}`;
    const bridge = created.metadata["testenv-vm.network.bridge.interface"] as string;
    const vmIP = created.metadata["testenv-vm.vm.vm.ip"] as string;
    const boxIP = created.metadata["testenv-vm.vm.box.ip"] as string;
    // The container's fixed address moved onto the environment's subnet with the networks.
    expect(boxIP).toBe(`${net}.60`);
    expect(vmIP).toMatch(new RegExp(`^${net.replace(/\./g, "\\.")}\\.`));

    // The container's veth is a port of the libvirt provider's bridge, next to the VM's tap.
    const ports = JSON.parse(execFileSync("ip", ["-j", "link", "show", "master", bridge], { encoding: "utf8" })) as Array<{ ifname: string }>;
    expect(ports.length).toBeGreaterThanOrEqual(3); // the VM's tap, the container's veth, the keeper
    expect(podman("network", "inspect", `${prefix}-lan`, "--format", "{{.NetworkInterface}}").trim()).toBe(bridge);

    const key = artifactFile(ws, created, "testenv-vm.key.vm-ssh");
    // Both log in with the one key (the container's authorized key came from the libvirt provider's key).
    expect((await sshRun(vmIP, key, "hostname")).stdout.trim()).toBe("mixed-vm");
    // The VM's address reached the container through a template across providers.
    expect(podman("exec", `${prefix}-box`, "printenv", "PEER_VM").trim()).toBe(vmIP);

    // VM → container: the container's sshd answers on the bridge.
    const fromVM = await sshRun(vmIP, key, `echo | nc -w 5 ${boxIP} 22`);
    expect(fromVM.stdout).toMatch(/^SSH-2\.0-OpenSSH/);
    // Container → VM: the VM's dropbear answers.
    const probe = `python3 -c "import socket; s = socket.create_connection(('${vmIP}', 22), 5); print(s.recv(256).split(b'\\r\\n')[0].decode())"`;
    const fromBox = await sshRun(boxIP, key, probe);
    expect(fromBox.stdout, fromBox.stderr).toMatch(/^SSH-2\.0-dropbear/);
  });

  it("a second orchestrator process deletes both; nothing of either provider is left, the bridge goes with libvirt", async () => {
    expect(artifact, "create must have succeeded").toBeDefined();
    const scope = leakScope(ws, prefix);
    expect(findLeaks(scope).length).toBeGreaterThan(0);
    expect(podmanLeaks(prefix).length).toBeGreaterThan(0);
    const result = await deleteOverMcp(ws, artifact!.metadata as Record<string, string>);
    expect(result.isError, textOf(result)).toBeFalsy();
    // Links with the prefix include the bridge, the keeper tap and any veth: all gone.
    expect(await waitForNoLeaks(scope)).toEqual([]);
    expect(podmanLeaks(prefix)).toEqual([]);
    prefix = "";
  });
});
