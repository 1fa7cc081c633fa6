import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Spec } from "../../api/spec.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { findLeaks, waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { artifactFile, createOverMcp, deleteIfLeft, deleteOverMcp, LIBVIRT_PROVIDER, leakScope, readState, sshRun, textOf, workspace, type Json, type Workspace } from "./support.js";

// PXE through the orchestrator: a bridge, a standalone dnsmasq serving DHCP + TFTP on it (iPXE script for the
// NIC ROM, pxelinux for plain PXE), and a VM with a blank disk and boot order [network] that reaches SSH
// with the key the orchestrator rendered into its cloud-init seed.

function pxeSpec(images: TestImages): Spec {
  return {
    providers: [{ ...LIBVIRT_PROVIDER }],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "pxe-br", kind: "bridge", spec: { cidr: "192.168.110.1/24" } },
      {
        name: "pxe-dhcp",
        kind: "dnsmasq",
        spec: {
          attachTo: "pxe-br",
          cidr: "192.168.110.1/24",
          dhcp: { enabled: true, rangeStart: "192.168.110.100", rangeEnd: "192.168.110.150" },
          tftp: { enabled: true, root: images.pxeRoot, bootFile: "pxelinux.0", ipxeScript: "boot.ipxe" },
        },
      },
    ],
    vms: [
      {
        name: "pxe-vm",
        spec: {
          memory: 256,
          vcpus: 1,
          network: "pxe-br",
          disk: { size: "64M" },
          boot: { order: ["network"] },
          cloudInit: { hostname: "pxe-vm", users: [{ name: "root", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
          readiness: { ssh: { enabled: true, user: "root", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "8m" } },
        },
      },
    ],
  };
}

describeIfTestHost("e2e_libvirt: PXE boot from a dnsmasq network", () => {
  let images: TestImages;
  let ws: Workspace;

  beforeAll(() => {
    images = ensureTestImages(["tiny", "pxe"]);
    ws = workspace("pxe");
  });

  afterAll(async () => {
    await deleteIfLeft(ws);
    ws[Symbol.dispose]();
  });

  it("a blank-disk VM boots over TFTP, reaches SSH, and delete leaves nothing", async () => {
    const result = await createOverMcp(ws, pxeSpec(images));
    expect(result.isError, textOf(result)).toBeFalsy();
    const artifact = result.structuredContent as Json;
    const state = readState(ws);
    const prefix = state.prefix as string;
    const ip = artifact.metadata["testenv-vm.vm.pxe-vm.ip"] as string;
    expect(ip).toMatch(new RegExp(`^192\\.168\\.${String(state.subnetOctet)}\\.(1[0-4][0-9]|150)$`));

    // The kernel really came over TFTP from the dnsmasq the orchestrator created.
    const dnsmasq = state.resources.networks["pxe-dhcp"].state as Json;
    const logFile = (dnsmasq.providerState?.dnsmasq?.logFile ?? "") as string;
    expect(logFile).not.toBe("");
    expect(readFileSync(logFile, "utf8")).toMatch(new RegExp(`sent \\S*vmlinuz to ${ip.replaceAll(".", "\\.")}`));

    const out = await sshRun(ip, artifactFile(ws, artifact, "testenv-vm.key.vm-ssh"), "hostname; grep -c . /proc/cmdline");
    expect(out.stdout.split("\n")[0]).toBe("pxe-vm");

    const scope = leakScope(ws, prefix);
    expect(findLeaks(scope).some((leak) => leak.startsWith("process "))).toBe(true); // dnsmasq and qemu are seen
    const deleted = await deleteOverMcp(ws, artifact.metadata as Record<string, string>);
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    expect(await waitForNoLeaks(scope)).toEqual([]);
  });
});
