import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterEach, expect, it } from "vitest";
import { defaultDataDir } from "../../providers/libvirt/config.js";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { filesUnder, libvirtDomains, libvirtNetworks, links, waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { gcOverMcp, killedOnceVmStarted, tinyImageSuite } from "./crash-support.js";
import { LIBVIRT_PROVIDER, fourResourceSpec, leakScope, stateFile, type Json } from "./support.js";

// gc on libvirt with real objects: an environment whose orchestrator was SIGKILLed while its VM booted and whose
// state file is then lost. gc lists what is ours (domain, networks, key, data dir) with the owner recorded on it and
// removes it; a foreign domain, a foreign bridge and a bridge whose name merely looks like ours survive. The libvirt
// network's record is lost too: its <metadata> still names it ours; a foreign libvirt network named like ours survives.

const URI = "qemu:///system";

function sh(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
}

/** A domain someone else defined (no testenv metadata), named with our prefix to look like one of ours. */
function plantForeignDomain(dir: string, name: string): void {
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  const file = join(dir, "foreign-domain.xml");
  writeFileSync(file, `<domain type="qemu"><name>${name}</name><memory unit="MiB">32</memory><os><type arch="${arch}" machine="${arch === "aarch64" ? "virt" : "pc"}">hvm</type></os></domain>`);
  sh("virsh", ["-q", "-c", URI, "define", file]);
}

describeIfTestHost("e2e_libvirt: gc finds and removes what a lost environment left, and nothing else", () => {
  const suite = tinyImageSuite();
  const planted: Array<() => void> = [];

  afterEach(() => {
    for (const remove of planted.splice(0)) {
      try {
        remove();
      } catch {
        // already gone
      }
    }
  });

  it("orchestrator SIGKILLed mid-create, state file lost: gc lists ours with the owner, --apply removes it, foreign objects survive, zero leaks", async () => {
    const ws = suite.workspace("gc");
    const prefix = namePrefix(ws.testID);
    await killedOnceVmStarted(ws, fourResourceSpec({ baseImage: suite.images().tiny }));
    rmSync(stateFile(ws));
    rmSync(join(defaultDataDir(prefix), "records", "networks", `${prefix}-libvirt-net.json`));
    // The killed orchestrator's lock on the state file counts as held until it is stale (10 s without a touch).
    await new Promise((resolve) => setTimeout(resolve, 11_000));

    const foreignDomain = `${prefix}-foreign-vm`;
    plantForeignDomain(ws.root, foreignDomain);
    planted.push(() => sh("virsh", ["-q", "-c", URI, "undefine", foreignDomain]));
    const foreignNetwork = `${prefix}-foreign-net`;
    const foreignNetworkXml = join(ws.root, "foreign-network.xml");
    writeFileSync(foreignNetworkXml, `<network><name>${foreignNetwork}</name><bridge name="tvmgcfnet0"/></network>`);
    sh("virsh", ["-q", "-c", URI, "net-define", foreignNetworkXml]);
    planted.push(() => sh("virsh", ["-q", "-c", URI, "net-undefine", foreignNetwork]));
    const foreignBridge = "tvmgcforeign0";
    const lookalike = `${prefix}-5eed5eed`;
    for (const bridge of [foreignBridge, lookalike]) {
      sh("ip", ["link", "add", "name", bridge, "type", "bridge"]);
      planted.push(() => sh("ip", ["link", "delete", "dev", bridge]));
    }

    const dry = await gcOverMcp(ws, {});
    expect(dry.providers).toEqual([{ name: "libvirt", engine: LIBVIRT_PROVIDER.engine, answer: "ok" }]);
    const objects = dry.objects as Json[];
    expect(objects.map((o) => String(o.kind)).sort()).toEqual(["file", "key", "network", "network", "vm"]);
    for (const object of objects) {
      expect(object, `${String(object.kind)} ${String(object.name)}`).toMatchObject({ verdict: "orphan", testID: ws.testID, prefix, provider: "libvirt" });
    }
    expect(objects.filter((o) => o.kind !== "key").every((o) => o.stateDir !== undefined), "the state dir is recorded on domains, networks and the data dir").toBe(true);
    expect(objects.find((o) => o.kind === "vm")?.name).toBe(`${prefix}-test-vm`);
    const names = objects.map((o) => String(o.name));
    for (const foreign of [foreignDomain, foreignBridge, lookalike, foreignNetwork]) expect(names).not.toContain(foreign);
    expect(objects.find((o) => o.name === `${prefix}-libvirt-net`)?.detail).toContain("found by its metadata");
    expect(dry.orphans).toBe(5);

    const applied = await gcOverMcp(ws, { apply: true });
    expect(applied).toMatchObject({ applied: true, orphans: 5, removed: 5, failed: 0 });
    const again = await gcOverMcp(ws, {});
    expect(again.objects).toEqual([]);

    // Foreign objects survive, the look-alike bridge included; then they go too.
    expect(libvirtDomains()).toContain(foreignDomain);
    expect(libvirtNetworks()).toContain(foreignNetwork);
    const linkNames = links().map((link) => link.ifname);
    expect(linkNames).toContain(foreignBridge);
    expect(linkNames).toContain(lookalike);
    for (const remove of planted.splice(0)) remove();

    const { artifactDir, ...resources } = leakScope(ws, prefix);
    expect(await waitForNoLeaks(resources)).toEqual([]);
    // The orchestrator's own logs of the lost environment are not a provider's objects.
    expect(filesUnder(artifactDir!).map((file) => relative(artifactDir!, file)).sort()).toEqual(["providers/libvirt.log", "testenv-vm.log"]);
  });
});
