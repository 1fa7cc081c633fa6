import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Spec } from "../../api/spec.js";
import { connectUri, remoteEndpoint } from "../../providers/libvirt/config.js";
import { sshExec } from "../../providers/libvirt/vm/readiness.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { waitForNoLeaks } from "../helpers/leaks.js";
import { remoteJump, remoteLeaks, remoteProviderSpec, remoteShell, startRemoteHost, stopRemoteHost, type RemoteHost } from "../helpers/remote-host.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { artifactFile, createOverMcp, deleteIfLeft, deleteOverMcp, leakScope, readState, textOf, workspace, type Json, type Workspace } from "./support.js";

// One environment entirely on the second libvirt host of the test host (scripts/testhost-remote.sh), which this
// process reaches only over SSH: qemu+ssh for libvirt, ssh for commands and uploads, and the host as jump host to
// its guests. Nothing of it may be left on either host after delete.

function spec(host: RemoteHost, images: TestImages): Spec {
  return {
    providers: [{ name: "remote", engine: "testenv-vm-provider-libvirt", spec: remoteProviderSpec(host) }],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "nat", kind: "libvirt", spec: { forwardMode: "nat", cidr: "192.168.100.1/24", dhcp: { enabled: true, rangeStart: "192.168.100.10", rangeEnd: "192.168.100.50" } } },
    ],
    vms: [
      {
        name: "test-vm",
        spec: {
          memory: 256,
          vcpus: 1,
          network: "nat",
          disk: { baseImage: images.tiny, size: "1G" },
          cloudInit: { hostname: "remote-vm", users: [{ name: "root", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
          readiness: { ssh: { enabled: true, user: "root", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "6m" } },
        },
      },
    ],
  };
}

describeIfTestHost("e2e_libvirt: an environment on a remote libvirt host over qemu+ssh", () => {
  let images: TestImages;
  let host: RemoteHost | undefined;
  let ws: Workspace;
  let artifact: Json | undefined;
  let prefix = "";

  beforeAll(() => {
    images = ensureTestImages("tiny");
    const started = startRemoteHost();
    host = started;
    process.stderr.write(`remote test host up in ${started.startMs} ms\n`);
    ws = workspace("remote");
  });

  afterAll(async () => {
    await deleteIfLeft(ws);
    ws[Symbol.dispose]();
    if (host) stopRemoteHost();
  });

  const virshRemote = (...args: string[]): string => {
    const endpoint = remoteEndpoint(host!.uri, { key: host!.key, knownHosts: host!.knownHosts })!;
    return execFileSync("virsh", ["-q", "-c", connectUri(host!.uri, endpoint), ...args], { encoding: "utf8", timeout: 60_000 }).trim();
  };

  it("creates key, NAT network and VM on the remote host; the VM answers SSH through it", async () => {
    const started = Date.now();
    const result = await createOverMcp(ws, spec(host!, images));
    expect(result.isError, textOf(result)).toBeFalsy();
    process.stderr.write(`remote create-to-SSH ${Date.now() - started} ms\n`);
    const created = result.structuredContent as Json;
    artifact = created;
    const state = readState(ws);
    prefix = state.prefix as string;
    expect(state.status).toBe("ready");
    // The state records the host of what was made there.
    expect(JSON.stringify(state)).toContain(`"host":"root@${host!.address}"`);

    const domain = `${prefix}-test-vm`;
    expect(virshRemote("domstate", domain)).toBe("running");
    expect(execFileSync("virsh", ["-q", "-c", "qemu:///system", "list", "--all", "--name"], { encoding: "utf8" })).not.toContain(domain);

    // The base image was uploaded once into the host's cache by digest; the disk is an overlay on it there.
    const cached = remoteShell(host!, "ls /var/lib/testenv-vm/images").trim().split("\n");
    expect(cached.filter((name) => /^sha256-[0-9a-f]{64}/.test(name))).toHaveLength(1);

    const ip = created.metadata["testenv-vm.vm.test-vm.ip"] as string;
    const keyPath = artifactFile(ws, created, "testenv-vm.key.vm-ssh");
    const out = await sshExec({ host: ip, port: 22, user: "root", privateKey: readFileSync(keyPath, "utf8"), via: remoteJump(host!) }, "hostname", 60_000);
    expect(out.code).toBe(0);
    expect(out.stdout.trim()).toBe("remote-vm");
  });

  it("delete leaves nothing carrying the prefix on either host", async () => {
    expect(artifact, "create must have succeeded").toBeDefined();
    expect(remoteLeaks(host!, prefix).length).toBeGreaterThan(0); // the check sees the live environment
    const result = await deleteOverMcp(ws, artifact!.metadata as Record<string, string>);
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(await waitForNoLeaks(leakScope(ws, prefix))).toEqual([]);
    expect(remoteLeaks(host!, prefix)).toEqual([]);
    prefix = "";
  });
});
