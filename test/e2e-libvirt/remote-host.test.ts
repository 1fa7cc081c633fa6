import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Spec } from "../../api/spec.js";
import { defaultDataDir } from "../../providers/libvirt/config.js";
import { sshExec } from "../../providers/libvirt/vm/readiness.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { filesUnder, findLeaks, waitForNoLeaks } from "../helpers/leaks.js";
import { remoteJump, remoteLeaks, remoteLibvirtd, remoteProviderSpec, remoteShell, startRemoteHost, stopRemoteHost, type RemoteHost } from "../helpers/remote-host.js";
import { gcOverMcp, killedOnceVmStarted } from "./crash-support.js";
import { cli, describeRemote, natSpec, remoteDomainDefined } from "./remote-support.js";
import { artifactFile, createOverMcp, deleteIfLeft, deleteOverMcp, fourResourceSpec, leakScope, readState, stateFile, textOf, workspace, type Json, type Workspace } from "./support.js";

// Environments entirely on the second libvirt host of the test host (scripts/testhost-remote.sh), which this
// process reaches only over SSH: libvirt through the host's socket forwarded over SSH, ssh for commands and
// uploads, and the host as jump host to its guests. Two at once: one on a libvirt NAT network (libvirt serves it),
// and the design's 4-resource environment (a bridge, and a libvirt network on it whose DHCP is a dnsmasq the
// provider starts on that host). Nothing of either may be left on either host after delete. Then the faults: the
// host's libvirtd killed mid-create, an environment lost mid-create whose domain went (gc sweeps its files on both
// machines), and the host gone altogether (last: it ends the host).

const remoteProvider = (host: RemoteHost) => ({ name: "remote", engine: "testenv-vm-provider-libvirt", spec: remoteProviderSpec(host) });

function natSpecOn(host: RemoteHost, images: TestImages, octet = 100, hostname = "remote-vm"): Spec {
  return natSpec(remoteProvider(host), images, { octet, hostname });
}

/** A libvirt network of the host's own (an `external` one to the spec), with DHCP: a fixed address on it is a reservation. */
const SHARED_NETWORK = "tvmgcshared";
const SHARED_XML = `<network><name>${SHARED_NETWORK}</name><forward mode="nat"/><bridge name="tvmgcsh0"/><ip address="192.168.104.1" netmask="255.255.255.0"><dhcp><range start="192.168.104.10" end="192.168.104.50"/></dhcp></ip></network>`;
const FIXED_IP = "192.168.104.60";

/** A key and one tiny VM on the host's own network with a fixed address (recorded here, files there). */
function sharedNetworkSpec(host: RemoteHost, images: TestImages): Spec {
  return {
    providers: [remoteProvider(host)],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [{ name: "shared", kind: "libvirt", external: SHARED_NETWORK, spec: {} }],
    vms: [
      {
        name: "test-vm",
        spec: {
          memory: 256,
          vcpus: 1,
          networks: ["shared"],
          fixedIPs: { shared: FIXED_IP },
          disk: { baseImage: images.tiny, size: "1G" },
          cloudInit: { hostname: "remote-gc", users: [{ name: "root", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
        },
      },
    ],
  };
}

/** One VM on the host's own network and nothing else of its own: no key, no fixed address, no readiness. */
function bareVmSpec(host: RemoteHost, images: TestImages): Spec {
  return {
    providers: [remoteProvider(host)],
    networks: [{ name: "shared", kind: "libvirt", external: SHARED_NETWORK, spec: {} }],
    vms: [{ name: "bare-vm", spec: { memory: 256, vcpus: 1, networks: ["shared"], disk: { baseImage: images.tiny, size: "1G" } } }],
  };
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
  let lost: Workspace | undefined;
  let bare: Workspace | undefined;

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
    lost = workspace("remote-gc");
    bare = workspace("remote-gc-bare");
  });

  afterAll(async () => {
    gone?.[Symbol.dispose]();
    if (bare) {
      await deleteIfLeft(bare);
      bare[Symbol.dispose]();
    }
    if (lost) {
      await deleteIfLeft(lost);
      lost[Symbol.dispose]();
    }
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

  const defineSharedNetwork = (): void => {
    remoteShell(host!, `printf '%s' '${SHARED_XML}' > /tmp/${SHARED_NETWORK}.xml && virsh -q -c qemu:///system net-define /tmp/${SHARED_NETWORK}.xml >/dev/null && virsh -q -c qemu:///system net-start ${SHARED_NETWORK} >/dev/null`);
  };
  const removeSharedNetwork = (): void => {
    remoteShell(host!, `virsh -q -c qemu:///system net-destroy ${SHARED_NETWORK} >/dev/null 2>&1; virsh -q -c qemu:///system net-undefine ${SHARED_NETWORK} >/dev/null 2>&1; rm -f /tmp/${SHARED_NETWORK}.xml; true`);
  };

  it("orchestrator SIGKILLed mid-create, state file lost, domain undefined by hand: gc lists the VM files there and the reservation here with the owner, --apply removes them, a foreign folder there survives, zero leaks", async () => {
    const ws = lost!;
    const remote = host!;
    defineSharedNetwork();
    const foreignDir = (prefix: string) => join(defaultDataDir(prefix), "vms", "Not ours");
    let prefix: string | undefined;
    try {
      await killedOnceVmStarted(ws, sharedNetworkSpec(remote, images));
      prefix = readState(ws).prefix as string;
      rmSync(stateFile(ws));
      // The domain goes by hand; its overlay, seed ISO and console log stay there, its reservation record here.
      const domain = `${prefix}-test-vm`;
      virshRemote("destroy", domain);
      virshRemote("undefine", domain);
      const dataDir = defaultDataDir(prefix);
      const vmDir = join(dataDir, "vms", domain);
      expect(existsSync(join(vmDir, "dhcp-reservations.json")), "the reservation is recorded here").toBe(true);
      expect(remoteShell(remote, `ls ${vmDir}; ls ${dataDir}/console`).split("\n").filter(Boolean).sort()).toEqual(["disk.qcow2", "seed.iso", "test-vm.console"]);
      expect(virshRemote("net-dumpxml", SHARED_NETWORK)).toContain(FIXED_IP);
      remoteShell(remote, `mkdir -p '${foreignDir(prefix)}' && echo someone > '${foreignDir(prefix)}/data'`);
      // The killed orchestrator's lock on the state file counts as held until it is stale (10 s without a touch).
      await new Promise((resolve) => setTimeout(resolve, 11_000));

      const providers = [remoteProvider(remote)];
      let started = Date.now();
      const dry = await gcOverMcp(ws, { providers });
      process.stderr.write(`remote gc: list ${Date.now() - started} ms\n`);
      expect(dry.providers).toEqual([{ name: "remote", engine: "testenv-vm-provider-libvirt", answer: "ok" }]);
      const objects = dry.objects as Json[];
      expect(objects.map((o) => `${String(o.kind)} ${String(o.name)}`).sort()).toEqual([`file ${dataDir}`, `file ${vmDir}`, `key ${prefix}-vm-ssh`]);
      for (const object of objects) expect(object, `${String(object.kind)} ${String(object.name)}`).toMatchObject({ verdict: "orphan", testID: ws.testID, prefix, provider: "remote" });
      const files = objects.find((o) => o.name === vmDir)!;
      expect(files.stateDir, "the state dir of the VM files' environment").toBeDefined();
      expect(files.detail).toBe(`VM files on root@${remote.address} (overlay, seed ISO, NVRAM, snapshots), its console log ${dataDir}/console/test-vm.console there, its DHCP reservations record here, whose domain is gone`);
      expect(JSON.stringify(objects)).not.toContain("Not ours");
      expect(dry.orphans).toBe(3);

      started = Date.now();
      const applied = await gcOverMcp(ws, { providers, apply: true });
      process.stderr.write(`remote gc: --apply ${Date.now() - started} ms\n`);
      expect(applied, JSON.stringify(applied.objects)).toMatchObject({ applied: true, orphans: 3, removed: 3, failed: 0 });
      expect((await gcOverMcp(ws, { providers })).objects).toEqual([]);

      // Ours is gone from both machines, the reservation from the host's network; the foreign folder stays.
      expect(virshRemote("net-dumpxml", SHARED_NETWORK)).not.toContain(FIXED_IP);
      expect(remoteShell(remote, `cat '${foreignDir(prefix)}/data'`).trim()).toBe("someone");
      const held = [dataDir, join(dataDir, "vms"), foreignDir(prefix), join(foreignDir(prefix), "data")].map((path) => `files ${path}`);
      expect(remoteLeaks(remote, prefix).sort()).toEqual(held.sort());
      const { artifactDir, ...resources } = leakScope(ws, prefix);
      expect(await waitForNoLeaks(resources)).toEqual([]);
      // The orchestrator's own logs of the lost environment are not a provider's objects.
      expect(filesUnder(artifactDir!).map((file) => relative(artifactDir!, file)).sort()).toEqual(["providers/remote.log", "testenv-vm.log"]);
    } finally {
      if (prefix !== undefined) remoteShell(remote, `rm -rf '${foreignDir(prefix)}'; rmdir '${defaultDataDir(prefix)}/vms' '${defaultDataDir(prefix)}' 2>/dev/null; true`);
      removeSharedNetwork();
    }
    expect(remoteLeaks(remote, prefix)).toEqual([]);
  });

  it("a create killed with nothing of its own recorded here (no key, network or reservation): the data dir here stays for gc, which finds the VM files there and removes them, zero leaks", async () => {
    const ws = bare!;
    const remote = host!;
    defineSharedNetwork();
    let prefix: string | undefined;
    try {
      await killedOnceVmStarted(ws, bareVmSpec(remote, images));
      prefix = readState(ws).prefix as string;
      const dataDir = defaultDataDir(prefix);
      // The provider's shutdown tidies the data dir here, but keeps it while the host holds VM files of it.
      expect(existsSync(dataDir), "the data dir here, which gc starts from").toBe(true);
      rmSync(stateFile(ws));
      const domain = `${prefix}-bare-vm`;
      virshRemote("destroy", domain);
      virshRemote("undefine", domain);
      const vmDir = join(dataDir, "vms", domain);
      expect(remoteShell(remote, `ls ${vmDir}`).split("\n").filter(Boolean)).toContain("disk.qcow2");
      await new Promise((resolve) => setTimeout(resolve, 11_000)); // the killed orchestrator's lock goes stale

      const providers = [remoteProvider(remote)];
      const dry = await gcOverMcp(ws, { providers });
      const objects = dry.objects as Json[];
      expect(objects.map((o) => `${String(o.kind)} ${String(o.name)}`).sort()).toEqual([`file ${dataDir}`, `file ${vmDir}`]);
      for (const object of objects) expect(object, `${String(object.kind)} ${String(object.name)}`).toMatchObject({ verdict: "orphan", testID: ws.testID, prefix, provider: "remote" });
      const applied = await gcOverMcp(ws, { providers, apply: true });
      expect(applied, JSON.stringify(applied.objects)).toMatchObject({ applied: true, orphans: 2, removed: 2, failed: 0 });
      expect(existsSync(dataDir)).toBe(false);
      const { artifactDir: _artifactDir, ...resources } = leakScope(ws, prefix);
      expect(await waitForNoLeaks(resources)).toEqual([]);
    } finally {
      removeSharedNetwork();
    }
    expect(remoteLeaks(remote, prefix)).toEqual([]);
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
