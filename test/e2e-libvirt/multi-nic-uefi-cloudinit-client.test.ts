import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Spec } from "../../api/spec.js";
import { openEnvironment, type Environment } from "../../src/client/index.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { createOverMcp, deleteIfLeft, deleteOverMcp, LIBVIRT_PROVIDER, leakScope, readState, textOf, workspace, type Json, type Workspace } from "./support.js";

// One environment, two VMs booted in the same phase (to keep the stage short):
// - "edge": tiny image under UEFI (OVMF) with two NICs, one on a libvirt network attached to a bridge and one on a
//   libvirt NAT network; each NIC gets its own address, reported per network;
// - "ci": the Debian image with the real cloud-init package, ready when `cloud-init status --wait` succeeds,
//   proving real cloud-init accepts the seed ISO we generate (user, sudo, write_files, runcmd, hostname).
// The client library (testenv-vm/client) then drives both VMs from the artifact: exec, copy both ways, and a
// runtime VM created and deleted while the environment lives. Delete leaves nothing.

function spec(images: TestImages): Spec {
  const keys = ["{{ .Keys.vm-ssh.PublicKey }}"];
  return {
    providers: [{ ...LIBVIRT_PROVIDER }],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "lan-br", kind: "bridge", spec: { cidr: "192.168.120.1/24" } },
      { name: "lan", kind: "libvirt", spec: { attachTo: "lan-br", forwardMode: "bridge", cidr: "192.168.120.1/24", dhcp: { enabled: true, rangeStart: "192.168.120.10", rangeEnd: "192.168.120.60" } } },
      { name: "nat", kind: "libvirt", spec: { forwardMode: "nat", cidr: "192.168.121.1/24", dhcp: { enabled: true, rangeStart: "192.168.121.10", rangeEnd: "192.168.121.60" } } },
    ],
    vms: [
      {
        name: "edge",
        spec: {
          memory: 256,
          vcpus: 1,
          networks: ["lan", "nat"],
          disk: { baseImage: images.tiny, size: "1G" },
          boot: { order: ["hd"], firmware: "uefi" },
          cloudInit: { hostname: "edge", users: [{ name: "root", sshAuthorizedKeys: keys }] },
          readiness: { ssh: { enabled: true, user: "root", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "8m" } },
        },
      },
      {
        name: "ci",
        spec: {
          memory: 768,
          vcpus: 1,
          network: "nat",
          disk: { baseImage: images.debianCi, size: "3G" },
          cloudInit: {
            hostname: "ci-vm",
            users: [{ name: "tester", shell: "/bin/bash", sudo: "ALL=(ALL) NOPASSWD:ALL", sshAuthorizedKeys: keys }],
            writeFiles: [{ path: "/etc/testenv-marker", content: "written by cloud-init\n", permissions: "0644" }],
            runcmd: ["echo runcmd-ran > /var/tmp/runcmd-marker"],
          },
          readiness: {
            ssh: { enabled: true, user: "tester", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "12m" },
            cloudInit: { enabled: true, timeout: "12m" },
          },
        },
      },
    ],
  };
}

describeIfTestHost("e2e_libvirt: multi-NIC UEFI VM, real cloud-init VM, client library", () => {
  let images: TestImages;
  let ws: Workspace;
  let artifact: Json;
  let env: Environment | undefined;

  beforeAll(async () => {
    images = ensureTestImages(["tiny", "debian-ci"]);
    ws = workspace("multi");
    const result = await createOverMcp(ws, spec(images));
    expect(result.isError, textOf(result)).toBeFalsy();
    artifact = result.structuredContent as Json;
    env = await openEnvironment({ artifact: artifact as never, tmpDir: ws.tmpDir });
  });

  afterAll(async () => {
    await env?.close();
    await deleteIfLeft(ws);
    ws[Symbol.dispose]();
  });

  it("the UEFI VM has one address per NIC, each reported under its network", async () => {
    const state = readState(ws);
    const record = state.resources.vms.edge.state as Json;
    const octets = state.subnets as Record<string, string>;
    const lan = octets["192.168.120"]!;
    const nat = octets["192.168.121"]!;
    const prefix = state.prefix as string;
    expect(record.ips[`${prefix}-lan`]).toMatch(new RegExp(`^${lan.replaceAll(".", "\\.")}\\.`));
    expect(record.ips[`${prefix}-nat`]).toMatch(new RegExp(`^${nat.replaceAll(".", "\\.")}\\.`));
    expect(Object.keys(record.macs as Json)).toHaveLength(2);

    const edge = env!.vm("edge");
    const out = await edge.exec("test -d /sys/firmware/efi && echo efi; ip -o -4 addr show | grep -c 'inet 192.168'");
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe("efi\n2\n");
  });

  it("real cloud-init applied the generated seed (user with sudo, write_files, runcmd, hostname)", async () => {
    const ci = env!.vm("ci");
    const status = await ci.exec("cloud-init status --long; hostname; cat /etc/testenv-marker /var/tmp/runcmd-marker; id -un");
    expect(status.stdout).toMatch(/status: done/);
    expect(status.stdout).toContain("ci-vm\nwritten by cloud-init\nruncmd-ran\ntester\n");
    const root = await ci.exec(["id", "-u"], { sudo: true });
    expect(root.stdout.trim()).toBe("0");
  });

  it("client exec: stdout, stderr and exit code, arguments quoted by the library", async () => {
    const ci = env!.vm("ci");
    const result = await ci.exec(["sh", "-c", 'printf "%s|" "$@"; echo oops >&2; exit 3', "sh", "a b", "it's", "$HOME"]);
    expect(result).toMatchObject({ stdout: "a b|it's|$HOME|", stderr: "oops\n", exitCode: 3 });
  });

  it("client copyTo / copyFrom round trip over SFTP", async () => {
    const local = mkdtempSync("/var/tmp/testenv-vm-e2e-copy-");
    try {
      const payload = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
      writeFileSync(join(local, "up.bin"), payload);
      const ci = env!.vm("ci");
      await ci.copyTo(join(local, "up.bin"), "/tmp/upload/up.bin");
      const sum = await ci.exec("sha256sum /tmp/upload/up.bin | cut -d' ' -f1");
      expect(sum.stdout.trim()).toBe((await import("node:crypto")).createHash("sha256").update(payload).digest("hex"));
      await ci.exec("cp /tmp/upload/up.bin /tmp/down.bin && echo tail >> /tmp/down.bin", { check: true });
      await ci.copyFrom("/tmp/down.bin", join(local, "down.bin"));
      expect(readFileSync(join(local, "down.bin"))).toEqual(Buffer.concat([payload, Buffer.from("tail\n")]));
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  it("creates a runtime VM from the test process, uses it, deletes it", async () => {
    const prefix = readState(ws).prefix as string;
    const runtime = await env!.createVM("extra", {
      memory: 256,
      vcpus: 1,
      network: "nat",
      disk: { baseImage: images.tiny, size: "1G" },
      cloudInit: { hostname: "extra", users: [{ name: "root", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
      readiness: { ssh: { enabled: true, user: "root", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "8m" } },
    });
    expect((await runtime.exec("hostname")).stdout.trim()).toBe("extra");
    expect(readState(ws).resources.vms.extra.runtime).toBe(true);
    await env!.deleteVM("extra");
    expect([undefined, "destroyed"]).toContain(readState(ws).resources.vms.extra?.status);
    const leaks = await waitForNoLeaks({ prefix: `${prefix}-extra` });
    expect(leaks).toEqual([]);
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
