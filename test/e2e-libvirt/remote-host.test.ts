import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Spec } from "../../api/spec.js";
import { sshExec } from "../../providers/libvirt/vm/readiness.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { findLeaks, waitForNoLeaks } from "../helpers/leaks.js";
import { remoteJump, remoteLeaks, remoteLibvirtd, remoteProviderSpec, remoteShell, startRemoteHost, stopRemoteHost, type RemoteHost } from "../helpers/remote-host.js";
import { cli, describeRemote, natSpec, remoteDomainDefined } from "./remote-support.js";
import { artifactFile, createOverMcp, deleteIfLeft, deleteOverMcp, fourResourceSpec, leakScope, readState, stateFile, textOf, workspace, type Json, type Workspace } from "./support.js";

// Environments entirely on the second libvirt host of the test host (scripts/testhost-remote.sh), which this
// process reaches only over SSH: libvirt through the host's socket forwarded over SSH, ssh for commands and
// uploads, and the host as jump host to its guests. Two at once: one on a libvirt NAT network (libvirt serves it),
// and the design's 4-resource environment (a bridge, and a libvirt network on it whose DHCP is a dnsmasq the
// provider starts on that host). Nothing of either may be left on either host after delete. Then the faults: the
// host's libvirtd killed mid-create, and the host gone altogether (last: it ends the host).

const remoteProvider = (host: RemoteHost) => ({ name: "remote", engine: "testenv-vm-provider-libvirt", spec: remoteProviderSpec(host) });

function natSpecOn(host: RemoteHost, images: TestImages, octet = 100, hostname = "remote-vm"): Spec {
  return natSpec(remoteProvider(host), images, { octet, hostname });
}

/** A key and a libvirt network on the host: enough to be gone with it, and quick to make. */
function networkOnlySpec(host: RemoteHost): Spec {
  return {
    providers: [remoteProvider(host)],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [{ name: "nat", kind: "libvirt", spec: { forwardMode: "nat", cidr: "192.168.101.1/24", dhcp: { enabled: true, rangeStart: "192.168.101.10", rangeEnd: "192.168.101.50" } } }],
  };
}

interface Case {
  label: string;
  spec: Spec;
  hostname: string;
  ws?: Workspace;
  artifact?: Json;
  prefix?: string;
}

// Runs with the stage (about 2 min).

describeRemote("e2e_libvirt: environments on a remote libvirt host over qemu+ssh", () => {
  let images: TestImages;
  let host: RemoteHost | undefined;
  let cases: Case[] = [];
  let gone: Workspace | undefined;
  let crash: Workspace | undefined;

  beforeAll(() => {
    images = ensureTestImages("tiny");
    const started = startRemoteHost();
    host = started;
    process.stderr.write(`remote test host up in ${started.startMs} ms\n`);
    cases = [
      { label: "nat", spec: natSpecOn(started, images), hostname: "remote-vm" },
      { label: "four", spec: { ...fourResourceSpec({ baseImage: images.tiny, hostname: "remote-four" }), providers: [remoteProvider(started)] }, hostname: "remote-four" },
    ];
    for (const c of cases) c.ws = workspace(`remote-${c.label}`);
    gone = workspace("remote-gone");
    crash = workspace("remote-crash");
  });

  afterAll(async () => {
    gone?.[Symbol.dispose]();
    if (crash) {
      await deleteIfLeft(crash);
      crash[Symbol.dispose]();
    }
    for (const c of cases) {
      if (!c.ws) continue;
      await deleteIfLeft(c.ws);
      c.ws[Symbol.dispose]();
    }
    if (host) stopRemoteHost();
  });

  // On the host itself, over ssh, as the leak check asks it (the names are the test's own).
  const virshRemote = (...args: string[]): string => remoteShell(host!, `virsh -q -c qemu:///system ${args.join(" ")}`).trim();

  it("creates both at once on the remote host; each VM answers SSH through it", async () => {
    const outcomes = await Promise.all(
      cases.map(async (c) => {
        const started = Date.now();
        const result = await createOverMcp(c.ws!, c.spec);
        process.stderr.write(`remote ${c.label}: create-to-SSH ${Date.now() - started} ms${result.isError ? " (failed)" : ""}\n`);
        return result;
      }),
    );
    for (const [index, c] of cases.entries()) {
      const result = outcomes[index]!;
      expect(result.isError, `${c.label}: ${textOf(result)}`).toBeFalsy();
      const created = result.structuredContent as Json;
      c.artifact = created;
      const state = readState(c.ws!);
      c.prefix = state.prefix as string;
      expect(state.status).toBe("ready");
      // The state records the host of what was made there.
      expect(JSON.stringify(state)).toContain(`"host":"root@${host!.address}"`);

      const vm = "test-vm";
      const domain = `${c.prefix}-${vm}`;
      expect(virshRemote("domstate", domain)).toBe("running");
      expect(execFileSync("virsh", ["-q", "-c", "qemu:///system", "list", "--all", "--name"], { encoding: "utf8" })).not.toContain(domain);

      const ip = created.metadata[`testenv-vm.vm.${vm}.ip`] as string;
      const keyPath = artifactFile(c.ws!, created, "testenv-vm.key.vm-ssh");
      const out = await sshExec({ host: ip, port: 22, user: "root", privateKey: readFileSync(keyPath, "utf8"), via: remoteJump(host!) }, "hostname", 60_000);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout.trim()).toBe(c.hostname);
    }
    // The base image was uploaded once into the host's cache by digest, for both environments.
    const cached = remoteShell(host!, "ls /var/lib/testenv-vm/images").trim().split("\n");
    expect(cached.filter((name) => /^sha256-[0-9a-f]{64}/.test(name))).toHaveLength(1);
  });

  it("delete leaves nothing carrying either prefix on either host", async () => {
    for (const c of cases) {
      expect(c.artifact, `${c.label}: create must have succeeded`).toBeDefined();
      expect(remoteLeaks(host!, c.prefix!).length).toBeGreaterThan(0); // the check sees the live environment
    }
    const results = await Promise.all(cases.map((c) => deleteOverMcp(c.ws!, c.artifact!.metadata as Record<string, string>)));
    for (const [index, c] of cases.entries()) {
      expect(results[index]!.isError, textOf(results[index]!)).toBeFalsy();
      expect(await waitForNoLeaks(leakScope(c.ws!, c.prefix!))).toEqual([]);
      expect(remoteLeaks(host!, c.prefix!)).toEqual([]);
    }
  });

  it("the host's libvirtd killed mid-create: the create fails saying so, and once it is back delete leaves nothing", async () => {
    const ws = crash!;
    const creating = createOverMcp(ws, natSpecOn(host!, images, 102, "remote-crash"));
    // As soon as the domain is defined there, libvirtd dies (the VM is booting, the create waits for it).
    const prefix = await remoteDomainDefined(host!, ws, creating);
    remoteLibvirtd("kill");
    let result;
    try {
      result = await creating;
    } finally {
      remoteLibvirtd("start");
    }
    expect(result.isError).toBe(true);
    process.stderr.write(`remote crash: create said: ${textOf(result).slice(0, 600)}\n`);
    expect(textOf(result)).toMatch(/libvirt|socket|connect|End of file/i);

    const deleted = await deleteOverMcp(ws);
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    expect(await waitForNoLeaks(leakScope(ws, prefix))).toEqual([]);
    expect(remoteLeaks(host!, prefix)).toEqual([]);
  });

  it("a host that is gone: status says so per resource, delete --force forgets it and names what may remain", async () => {
    const ws = gone!;
    const created = await createOverMcp(ws, networkOnlySpec(host!));
    expect(created.isError, textOf(created)).toBeFalsy();
    const prefix = readState(ws).prefix as string;
    stopRemoteHost(); // the host, and everything on it, is gone

    const status = await cli(ws, "status", "--id", ws.testID, "--json");
    expect(status.code, status.stderr).toBe(0);
    const live = (JSON.parse(status.stdout) as Json).live as Json;
    const network = (live.resources as Json[]).find((r) => r.kind === "network")!;
    expect(network.live).toBe("unknown");
    expect(JSON.stringify(live)).toContain(`root@${host!.address}: the host is not reachable over SSH`);

    const plain = await cli(ws, "delete", "--id", ws.testID);
    expect(plain.code).not.toBe(0); // without --force the state keeps what could not be deleted
    expect(readState(ws).status).toBe("failed");

    const forced = await cli(ws, "delete", "--id", ws.testID, "--force");
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`network nat (${prefix}-nat) on host root@${host!.address}`);
    expect(existsSync(stateFile(ws))).toBe(false);
    // Forgotten, not deleted: here only the provider's own record of the network is left (its data dir), which a
    // later gc may take; the test removes it so that the stage leaves nothing.
    const scope = leakScope(ws, prefix);
    const left = findLeaks(scope);
    expect(left.filter((leak) => !leak.startsWith(`file ${scope.dataDir}/`) && leak !== `dir ${scope.dataDir}`)).toEqual([]);
    rmSync(scope.dataDir!, { recursive: true, force: true });
  });
});
