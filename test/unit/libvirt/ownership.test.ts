import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../lib/run.js";
import { createLogger } from "../../../lib/log.js";
import { ProviderError, RecordStore, type KeyRecord } from "../../../providers/kit/index.js";
import type { LibvirtBackend } from "../../../providers/libvirt/backend.js";
import { DataDir, OWNER_FILE } from "../../../providers/libvirt/data-dir.js";
import { LocalHost, type LibvirtHost } from "../../../providers/libvirt/host.js";
import type { NetworkRecord } from "../../../providers/libvirt/networks.js";
import { libvirtNetworkXml } from "../../../providers/libvirt/net/libvirt-xml.js";
import { planNetwork } from "../../../providers/libvirt/net/plan.js";
import { LibvirtOwnership, dataDirOwner, keyFilesLookOurs } from "../../../providers/libvirt/ownership.js";
import { metadataElement, type DomainMetadata } from "../../../providers/libvirt/vm/metadata.js";
import { renderXml } from "../../../providers/libvirt/xml.js";

// gc's view of the libvirt provider: what it lists as its own (with the owner it recorded), what it refuses as
// foreign, and the order a data dir waits for; and the per-environment data dir's owner record and tidy-up.

const log = createLogger("test");
const TEST_ID = "test-unit-20260101-aaaaaaaa";
const PREFIX = "ab12cd";

class FakeBackend implements Partial<LibvirtBackend> {
  readonly uri = "test:///fake";
  readonly domains = new Map<string, string>();
  /** libvirt networks by name → their XML (none unless a test plants one). */
  readonly networks = new Map<string, string>();
  readonly calls: string[] = [];
  listDomains = () => Promise.resolve([...this.domains.keys()]);
  domainXml = (name: string) => Promise.resolve(this.domains.get(name));
  listNetworks = () => Promise.resolve([...this.networks.keys()]);
  networkXml = (name: string) => Promise.resolve(this.networks.get(name));
  networkDhcpHosts = () => Promise.resolve([]);
  removeDhcpHost = (network: string, xml: string) => Promise.resolve(void this.calls.push(`dhcp-remove ${network} ${xml}`));
  destroyNetwork = (name: string) => Promise.resolve(void this.calls.push(`net-destroy ${name}`));
  undefineNetwork = (name: string) => Promise.resolve(void (this.calls.push(`net-undefine ${name}`), this.networks.delete(name)));
}

/** A host where no link exists and no command runs; files are this machine's. */
const noLinksHost = {
  name: "local",
  remote: false,
  run: () => Promise.reject(new Error("Device does not exist")),
  exists: (path: string) => Promise.resolve(existsSync(path)),
  remove: (path: string, options?: { recursive?: boolean }) => rm(path, { force: true, recursive: options?.recursive === true }),
  readText: (path: string) => Promise.resolve(readFileSync(path, "utf8")),
} as unknown as LibvirtHost;

function domain(name: string, metadata: Partial<DomainMetadata> | undefined, vmDir: string): string {
  const full: DomainMetadata = { version: 1, name, accelerator: "tcg", vmDir, disk: join(vmDir, "disk.qcow2"), consoleLog: join(vmDir, "console"), networks: [], macs: [], keys: [], staticIps: [], ...metadata };
  return `<domain type="qemu"><name>${name}</name>${metadata === undefined ? "" : renderXml(metadataElement(full))}</domain>`;
}

function networkRecord(name: string, kind: NetworkRecord["kind"], iface: string, extra: Partial<NetworkRecord> = {}): NetworkRecord {
  return { name, requestedKind: kind, kind, interfaceName: iface, createdAt: "2026-01-01T00:00:00.000Z", ...extra };
}

let root: string;
let backend: FakeBackend;
let deleted: string[];

function ownership(dataDir = join(root, "default"), host: LibvirtHost = noLinksHost): LibvirtOwnership {
  return new LibvirtOwnership({ backend: backend as unknown as LibvirtBackend, host, log, dataRoot: root, dataDir, deleteVm: (name) => Promise.resolve(void (deleted.push(name), backend.domains.delete(name))) });
}

/** An environment's data dir as a provider leaves it: owner.json, a VM dir, a bridge, a libvirt network on it, a key. */
async function plantEnvironment(): Promise<{ dir: string; vmDir: string; keyDir: string }> {
  const dir = join(root, PREFIX);
  await new DataDir({ dataDir: dir, dataDirIsDefault: true, testID: TEST_ID, prefix: PREFIX, stateDir: "/state" }).ensure();
  const records = new RecordStore(dir);
  await records.write("networks", `${PREFIX}-bridge`, networkRecord(`${PREFIX}-bridge`, "bridge", `${PREFIX}-0123456789`));
  await records.write("networks", `${PREFIX}-net`, networkRecord(`${PREFIX}-net`, "libvirt", `${PREFIX}-0123456789`, { forwardMode: "bridge", owner: { testID: TEST_ID, prefix: PREFIX, stateDir: "/state" } }));
  const keyDir = join(root, "artifacts", "keys");
  mkdirSync(keyDir, { recursive: true });
  writeFileSync(join(keyDir, "vm-ssh"), "private");
  writeFileSync(join(keyDir, "vm-ssh.pub"), "public");
  const key: KeyRecord = { name: "vm-ssh", type: "ed25519", privateKeyPath: join(keyDir, "vm-ssh"), publicKeyPath: join(keyDir, "vm-ssh.pub"), createdAt: "2026-01-01T00:00:00.000Z", prefix: PREFIX };
  await records.write("keys", "vm-ssh", key);
  const vmDir = join(dir, "vms", `${PREFIX}-vm`);
  mkdirSync(vmDir, { recursive: true });
  writeFileSync(join(vmDir, "disk.qcow2"), "overlay");
  return { dir, vmDir, keyDir };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "libvirt-ownership-"));
  backend = new FakeBackend();
  deleted = [];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("libvirt provider_owned", () => {
  it("lists our domains, network records, keys, orphaned VM files and per-environment data dirs, each with its owner", async () => {
    const { dir, vmDir } = await plantEnvironment();
    backend.domains.set(`${PREFIX}-other`, domain(`${PREFIX}-other`, { testID: TEST_ID, prefix: PREFIX, stateDir: "/state" }, join(dir, "vms", `${PREFIX}-other`)));
    backend.domains.set("someones-vm", domain("someones-vm", undefined, "/var/lib/libvirt/images"));
    mkdirSync(join(root, "podman")); // another provider's folder
    mkdirSync(join(root, "default")); // the data dir of a process serving no environment
    const owned = await ownership().handlers().owned();
    const owner = { testID: TEST_ID, prefix: PREFIX, stateDir: "/state" };
    expect(owned.map((o) => [o.kind, o.name])).toEqual([
      ["vm", `${PREFIX}-other`],
      ["network", `${PREFIX}-bridge`],
      ["network", `${PREFIX}-net`],
      ["key", "vm-ssh"],
      ["file", vmDir],
      ["file", dir],
    ]);
    for (const object of owned) expect(object, `${object.kind} ${object.name}`).toMatchObject(owner);
    expect(owned.find((o) => o.name === `${PREFIX}-net`)?.detail).toBe(`libvirt network on bridge ${PREFIX}-0123456789`);
    expect(owned.find((o) => o.name === dir)?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("knows a data dir from before owner records by its prefix-shaped name, and nothing else without one", () => {
    expect(dataDirOwner(join(root, "0a1b2c"), undefined, true)).toEqual({ prefix: "0a1b2c" });
    expect(dataDirOwner(join(root, "mydata"), undefined, false)).toEqual({});
    expect(dataDirOwner(join(root, "0a1b2c"), { testID: TEST_ID, prefix: "0a1b2c" }, true)).toEqual({ testID: TEST_ID, prefix: "0a1b2c" });
  });

  it("takes a key record's files only as the provider writes them (<dir>/<name> and .pub)", () => {
    const record = (privateKeyPath: string, publicKeyPath: string): KeyRecord => ({ name: "k", type: "ed25519", privateKeyPath, publicKeyPath, createdAt: "" });
    expect(keyFilesLookOurs(record("/a/k", "/a/k.pub"))).toBe(true);
    expect(keyFilesLookOurs(record("/etc/passwd", "/etc/passwd.pub"))).toBe(false);
    expect(keyFilesLookOurs(record("/a/k", "/etc/shadow"))).toBe(false);
  });
});

describe("libvirt provider_reclaim", () => {
  const codeOf = async (work: Promise<unknown>): Promise<string | undefined> => {
    try {
      await work;
      return undefined;
    } catch (error) {
      return error instanceof ProviderError ? error.code : String(error);
    }
  };

  it("refuses a foreign domain, a bridge nobody recorded (whatever it is called) and a path that is not ours, with NOT_FOUND", async () => {
    await plantEnvironment();
    backend.domains.set("someones-vm", domain("someones-vm", undefined, "/var/lib/libvirt/images"));
    const { reclaim } = ownership().handlers();
    expect(await codeOf(reclaim({ kind: "vm", name: "someones-vm" }))).toBe("NOT_FOUND");
    expect(await codeOf(reclaim({ kind: "network", name: "br0" }))).toBe("NOT_FOUND");
    expect(await codeOf(reclaim({ kind: "network", name: `${PREFIX}-deadbeef00` }))).toBe("NOT_FOUND");
    expect(await codeOf(reclaim({ kind: "file", name: "/etc" }))).toBe("NOT_FOUND");
    expect(await codeOf(reclaim({ kind: "file", name: join(root, "podman") }))).toBe("NOT_FOUND");
    expect(deleted).toEqual([]);
    expect(backend.calls).toEqual([]);
  });

  it("removes in gc's order: the data dir waits until what it records is gone", async () => {
    const { dir, vmDir, keyDir } = await plantEnvironment();
    backend.domains.set(`${PREFIX}-other`, domain(`${PREFIX}-other`, { testID: TEST_ID, prefix: PREFIX }, join(dir, "vms", `${PREFIX}-other`)));
    const { reclaim } = ownership().handlers();
    expect(await codeOf(reclaim({ kind: "file", name: dir }))).toBe("RESOURCE_BUSY");
    await reclaim({ kind: "vm", name: `${PREFIX}-other` });
    expect(deleted).toEqual([`${PREFIX}-other`]);
    // The bridge has a libvirt network attached: busy until that one went.
    expect(await codeOf(reclaim({ kind: "network", name: `${PREFIX}-bridge` }))).toBe("RESOURCE_BUSY");
    await reclaim({ kind: "network", name: `${PREFIX}-net` });
    expect(backend.calls).toEqual([`net-destroy ${PREFIX}-net`, `net-undefine ${PREFIX}-net`]);
    await reclaim({ kind: "network", name: `${PREFIX}-bridge` });
    await reclaim({ kind: "key", name: "vm-ssh" });
    expect(existsSync(join(keyDir, "vm-ssh"))).toBe(false);
    expect(existsSync(join(keyDir, "vm-ssh.pub"))).toBe(false);
    await reclaim({ kind: "file", name: vmDir });
    expect(existsSync(vmDir)).toBe(false);
    await reclaim({ kind: "file", name: dir });
    expect(existsSync(dir)).toBe(false);
    expect(await ownership().handlers().owned()).toEqual([]);
    expect(await codeOf(reclaim({ kind: "file", name: dir }))).toBe("NOT_FOUND");
  });

  it("finds a libvirt network of ours by its metadata once its records are gone, and never a foreign or look-alike one", async () => {
    const owner = { testID: TEST_ID, prefix: PREFIX, stateDir: "/state" };
    const nat = planNetwork("libvirt", { cidr: "10.72.0.0/24", forwardMode: "nat" });
    backend.networks.set(`${PREFIX}-lost`, libvirtNetworkXml({ name: `${PREFIX}-lost`, plan: nat, bridge: `${PREFIX}-lostbr`, owner }));
    backend.networks.set(`${PREFIX}-alike`, libvirtNetworkXml({ name: `${PREFIX}-alike`, plan: nat, bridge: `${PREFIX}-alikebr` }));
    backend.networks.set("default", "<network><name>default</name><bridge name='virbr0'/></network>");
    // Metadata copied onto another network names that other network: not a claim on this one.
    backend.networks.set("copied", libvirtNetworkXml({ name: `${PREFIX}-lost`, plan: nat, bridge: "copiedbr", owner }).replace(`<name>${PREFIX}-lost</name>`, "<name>copied</name>"));
    const owned = await ownership().handlers().owned();
    expect(owned).toEqual([
      { kind: "network", name: `${PREFIX}-lost`, detail: `libvirt network on bridge ${PREFIX}-lostbr (found by its metadata; no data dir records it)`, ...owner },
    ]);
    const { reclaim } = ownership().handlers();
    for (const name of [`${PREFIX}-alike`, "default", "copied"]) expect(await codeOf(reclaim({ kind: "network", name })), name).toBe("NOT_FOUND");
    expect(backend.calls).toEqual([]);
    await reclaim({ kind: "network", name: `${PREFIX}-lost` });
    expect(backend.calls).toEqual([`net-destroy ${PREFIX}-lost`, `net-undefine ${PREFIX}-lost`]);
    expect([...backend.networks.keys()].sort()).toEqual([`${PREFIX}-alike`, "copied", "default"]);
  });

  it("lists a recorded libvirt network with our metadata once, from its record", async () => {
    await plantEnvironment();
    const owner = { testID: TEST_ID, prefix: PREFIX, stateDir: "/state" };
    const plan = planNetwork("libvirt", { forwardMode: "bridge", attachTo: "br" });
    backend.networks.set(`${PREFIX}-net`, libvirtNetworkXml({ name: `${PREFIX}-net`, plan, bridge: `${PREFIX}-0123456789`, owner }));
    const networks = (await ownership().handlers().owned()).filter((o) => o.kind === "network").map((o) => o.name);
    expect(networks).toEqual([`${PREFIX}-bridge`, `${PREFIX}-net`]);
  });

  it("never lists nor removes a configured (shared) dataDir itself, only what it records", async () => {
    const shared = join(root, "..", `${root.split("/").pop() ?? ""}-shared`);
    try {
      const records = new RecordStore(shared);
      await records.write("networks", "x1-net", networkRecord("x1-net", "libvirt", "virbr9", { owner: { testID: TEST_ID, prefix: "x1" } }));
      const owned = await ownership(shared).handlers().owned();
      expect(owned.map((o) => [o.kind, o.name, o.testID])).toEqual([["network", "x1-net", TEST_ID]]);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });
});

describe("libvirt per-environment data dir", () => {
  const config = (dir: string, dataDirIsDefault = true) => ({ dataDir: dir, dataDirIsDefault, testID: TEST_ID, prefix: PREFIX, stateDir: "/state" });

  it("records its owner when made, and goes after the last delete although the provider never shuts down", async () => {
    const dir = join(root, PREFIX);
    const dataDir = new DataDir(config(dir));
    const records = new RecordStore(dir);
    const handlers = dataDir.resources({
      create: async (name: string) => {
        await records.write("networks", name, {});
        return name;
      },
      get: (name) => Promise.resolve(name),
      list: () => Promise.resolve([]),
      delete: (name) => records.remove("networks", name),
    });
    await handlers.create("n1");
    expect(JSON.parse(readFileSync(join(dir, OWNER_FILE), "utf8"))).toMatchObject({ testID: TEST_ID, prefix: PREFIX, stateDir: "/state" });
    await handlers.create("n2");
    await handlers.delete("n1", false);
    expect(existsSync(dir)).toBe(true); // n2's record is still there
    await handlers.delete("n2", false);
    expect(existsSync(dir)).toBe(false);
  });

  it("keeps the dir while a create is in flight, and a configured dataDir always", async () => {
    const dir = join(root, PREFIX);
    const dataDir = new DataDir(config(dir));
    let release: (() => void) | undefined;
    const handlers = dataDir.resources({
      create: () => new Promise<string>((resolve) => (release = () => resolve("made"))),
      get: (name) => Promise.resolve(name),
      list: () => Promise.resolve([]),
      delete: () => Promise.resolve(),
    });
    const creating = handlers.create("n1");
    // In flight means the provider's create has been called; under load that takes more than a fixed few ms.
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    await handlers.delete("other", false);
    expect(existsSync(dir)).toBe(true);
    release();
    await creating;

    const configured = join(root, "configured");
    const shared = new DataDir(config(configured, false));
    await shared.ensure();
    expect(existsSync(join(configured, OWNER_FILE))).toBe(false);
    mkdirSync(join(configured, "records", "networks"), { recursive: true });
    await shared.tidy();
    expect(existsSync(configured)).toBe(true);
    expect(existsSync(join(configured, "records"))).toBe(false);
  });
});

/**
 * A remote libvirt host whose file system is a folder of this machine: its path P is <top>/P, so the data dir here
 * and its twin there are different folders at the same path, as on a real second host.
 */
class RemoteFiles {
  readonly name = "root@remote";
  readonly remote = true;
  readonly listed: string[] = [];
  private readonly files = new LocalHost();
  constructor(readonly top: string) {}
  at = (path: string): string => join(this.top, path);
  list = (path: string) => (this.listed.push(path), this.files.list(this.at(path)));
  exists = (path: string) => Promise.resolve(existsSync(this.at(path)));
  remove = (path: string, options?: { recursive?: boolean }) => rm(this.at(path), { force: true, recursive: options?.recursive === true });
  /** Only the prune of empty folders runs there (find DIR -depth ... -delete). */
  run = (command: string, args: readonly string[]) => (command === "find" ? run("find", [this.at(args[0] ?? ""), ...args.slice(1)]) : Promise.reject(new Error(`${command}: not on this host`)));
  plant(path: string, content = "x"): void {
    mkdirSync(join(this.at(path), ".."), { recursive: true });
    writeFileSync(this.at(path), content);
  }
}

describe("libvirt gc on a remote host: the VM files it keeps", () => {
  const owner = { testID: TEST_ID, prefix: PREFIX, stateDir: "/state" };
  const codeOf = (work: Promise<unknown>): Promise<string | undefined> => work.then(() => undefined, (error: unknown) => (error instanceof ProviderError ? error.code : String(error)));
  let remote: RemoteFiles;
  let dir: string;
  beforeEach(async () => {
    remote = new RemoteFiles(mkdtempSync(join(tmpdir(), "libvirt-remote-host-")));
    dir = join(root, PREFIX);
    await new DataDir({ dataDir: dir, dataDirIsDefault: true, ...owner }).ensure();
  });
  afterEach(() => rmSync(remote.top, { recursive: true, force: true }));
  const host = (): LibvirtHost => remote as unknown as LibvirtHost;

  /** A VM whose domain is gone: overlay and console log there, its DHCP reservation recorded here. */
  function plantOrphan(name = `${PREFIX}-vm`, logical = "vm"): { vmDir: string; consoleLog: string } {
    const vmDir = join(dir, "vms", name);
    remote.plant(join(vmDir, "disk.qcow2"), "overlay");
    remote.plant(join(dir, "console", `${logical}.console`), "login:");
    mkdirSync(vmDir, { recursive: true });
    writeFileSync(join(vmDir, "dhcp-reservations.json"), JSON.stringify([{ network: "shared", mac: "52:54:00:aa:bb:cc", ip: "192.0.2.60" }]));
    backend.networks.set("shared", "<network><name>shared</name><ip address='192.0.2.1' prefix='24'><dhcp><host mac='52:54:00:aa:bb:cc' ip='192.0.2.60'/></dhcp></ip></network>");
    return { vmDir, consoleLog: join(dir, "console", `${logical}.console`) };
  }

  it("lists a gone domain's files there and its record here as one object with the owner; a live domain's, a foreign name and a symlink are not listed", async () => {
    const { vmDir, consoleLog } = plantOrphan();
    const liveDir = join(dir, "vms", `${PREFIX}-live`);
    remote.plant(join(liveDir, "disk.qcow2"));
    remote.plant(join(dir, "console", "live.console"));
    backend.domains.set(`${PREFIX}-live`, domain(`${PREFIX}-live`, { ...owner, consoleLog: join(dir, "console", "live.console") }, liveDir));
    remote.plant(join(dir, "vms", "Not ours!", "data"));
    symlinkSync("/etc", remote.at(join(dir, "vms", `${PREFIX}-link`)));
    remote.plant(join(dir, "console", "notes.txt"));
    remote.plant(join(dir, "console", "gone.console"));
    // Another environment's data dir here with no twin there: no listing of its own.
    await new DataDir({ dataDir: join(root, "ef34ab"), dataDirIsDefault: true, testID: "test-unit-20260101-bbbbbbbb", prefix: "ef34ab" }).ensure();

    const owned = await ownership(undefined, host()).handlers().owned();
    expect(owned.map((o) => [o.kind, o.name])).toEqual([
      ["vm", `${PREFIX}-live`],
      ["file", vmDir],
      ["file", join(dir, "console", "gone.console")],
      ["file", dir],
      ["file", join(root, "ef34ab")],
    ]);
    for (const object of owned.slice(0, -1)) expect(object, `${object.kind} ${object.name}`).toMatchObject(owner);
    expect(owned[1]?.detail).toBe(`VM files on root@remote (overlay, seed ISO, NVRAM, snapshots), its console log ${consoleLog} there, its DHCP reservations record here, whose domain is gone`);
    expect(owned[1]?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(owned[2]?.detail).toBe("console log on root@remote of a VM whose domain is gone");
    expect(remote.listed).toEqual([root, join(dir, "vms"), join(dir, "console")]);
  });

  it("reclaim removes there first, then here; the data dir waits for them, then goes on both machines (a foreign folder there stays)", async () => {
    const { vmDir, consoleLog } = plantOrphan();
    remote.plant(join(dir, "vms", "Not ours!", "data"));
    const { reclaim } = ownership(undefined, host()).handlers();
    const busy = await reclaim({ kind: "file", name: dir }).catch((error: unknown) => error);
    expect(busy).toBeInstanceOf(ProviderError);
    expect((busy as ProviderError).code).toBe("RESOURCE_BUSY");
    expect((busy as ProviderError).message).toContain(`VM files ${PREFIX}-vm, VM files ${PREFIX}-vm on root@remote, console log vm.console on root@remote`);
    expect(await codeOf(reclaim({ kind: "file", name: join(dir, "vms", "Not ours!") }))).toBe("NOT_FOUND");

    await reclaim({ kind: "file", name: vmDir });
    expect(backend.calls).toEqual([`dhcp-remove shared <host mac="52:54:00:aa:bb:cc" ip="192.0.2.60"/>`]);
    expect(existsSync(remote.at(vmDir))).toBe(false);
    expect(existsSync(remote.at(consoleLog))).toBe(false);
    expect(existsSync(vmDir)).toBe(false);

    await reclaim({ kind: "file", name: dir });
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(remote.at(join(dir, "console")))).toBe(false);
    expect(existsSync(remote.at(join(dir, "vms", "Not ours!", "data")))).toBe(true);
    expect(await ownership(undefined, host()).handlers().owned()).toEqual([]);
  });

  it("a VM whose files there are gone leaves only its record here: listed and removed, so the data dir is not busy forever", async () => {
    const { vmDir } = plantOrphan();
    rmSync(remote.top, { recursive: true, force: true });
    const owned = await ownership(undefined, host()).handlers().owned();
    expect(owned.map((o) => [o.name, o.detail])).toEqual([
      [vmDir, "DHCP reservations record here, whose domain is gone"],
      [dir, "per-environment data dir"],
    ]);
    const { reclaim } = ownership(undefined, host()).handlers();
    expect(await codeOf(reclaim({ kind: "file", name: dir }))).toBe("RESOURCE_BUSY");
    await reclaim({ kind: "file", name: vmDir });
    await reclaim({ kind: "file", name: dir });
    expect(existsSync(dir)).toBe(false);
    expect(await ownership(undefined, host()).handlers().owned()).toEqual([]);
  });

  it("nothing left there: the data dir's twin goes whole, with its empty folders", async () => {
    remote.plant(join(dir, "dnsmasq", "n1", ".keep"));
    rmSync(remote.at(join(dir, "dnsmasq", "n1", ".keep")));
    mkdirSync(remote.at(join(dir, "console")), { recursive: true });
    await ownership(undefined, host()).handlers().reclaim({ kind: "file", name: dir });
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(remote.at(dir))).toBe(false);
  });
});
