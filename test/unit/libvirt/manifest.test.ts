import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MachineSpec, MachineSyncRequest } from "../../../api/vm-manifest.js";
import { createLogger } from "../../../lib/log.js";
import { callTool, readProviderContext, type ProviderImplementation } from "../../../providers/kit/index.js";
import type { AddressSource, InterfaceAddress, Lease, LibvirtBackend } from "../../../providers/libvirt/backend.js";
import { machineXml, wantsSecureBoot, type MachineXmlInput } from "../../../providers/libvirt/manifest/desired-xml.js";
import type { MachineHost } from "../../../providers/libvirt/manifest/host.js";
import { parseMachineMetadata } from "../../../providers/libvirt/manifest/metadata.js";
import { observeMachine } from "../../../providers/libvirt/manifest/observe.js";
import { checkManifestPath, diskKind } from "../../../providers/libvirt/manifest/paths.js";
import { GIB, planMachine } from "../../../providers/libvirt/manifest/plan.js";
import { MachineService } from "../../../providers/libvirt/manifest/service.js";
import { parseMetadata } from "../../../providers/libvirt/vm/metadata.js";
import { parseWithRealParser } from "./xml-check.js";

// Manifest VMs in the libvirt provider: the desired domain XML, reading a domain back (capture), the field plan
// (restart-needed, shrink refused), path checks, and sync/status/prune against an in-memory libvirt.

const MANIFEST = "/home/u/manifests/vms.json";
let dir: string;
let disk: string;
let iso: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vm-manifest-provider-"));
  disk = join(dir, "vm1.qcow2");
  iso = join(dir, "boot.iso");
  writeFileSync(disk, "disk");
  writeFileSync(iso, "iso");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = (overrides: Partial<MachineSpec> = {}): MachineSpec =>
  MachineSpec.parse({ memory_gb: 1, vcpus: 1, disk_path: disk, disk_size_gb: 2, boot: "bios", network: "default", graphics: "none", ...overrides });

const xmlInput = (overrides: Partial<MachineSpec> = {}, extra: Partial<MachineXmlInput> = {}): MachineXmlInput => ({
  name: "vm1",
  spec: spec(overrides),
  accelerator: "tcg",
  uuid: undefined,
  mac: undefined,
  diskFormat: "qcow2",
  diskIsBlock: false,
  attachment: { type: "network", network: "default" },
  metadata: { version: 1, manifest: MANIFEST, disk },
  ...extra,
});

describe("the desired domain XML", () => {
  it("UEFI + TPM 2.0 + vnc: OVMF auto-selection with secure boot and SMM, swtpm, vnc on 127.0.0.1 with autoport, ISOs as SATA CD-ROMs in order", () => {
    const xml = machineXml(xmlInput({ boot: "uefi", tpm: "2.0", graphics: "vnc", iso_sources: [{ path: iso }, { path: "/b.iso" }] }));
    parseWithRealParser(xml);
    expect(xml).toContain('<os firmware="efi">');
    expect(xml).toContain('<feature enabled="yes" name="secure-boot"/>');
    expect(xml).toContain('<smm state="on"/>');
    expect(xml).toContain('<backend type="emulator" version="2.0"/>');
    expect(xml).toMatch(/<graphics type="vnc" port="-1" autoport="yes" listen="127\.0\.0\.1">\s*<listen type="address" address="127\.0\.0\.1"\/>/);
    expect([...xml.matchAll(/<source file="([^"]+)"\/>\s*<target dev="(sd[a-z])" bus="sata"\/>/g)].map((m) => [m[1], m[2]])).toEqual([
      [iso, "sda"],
      ["/b.iso", "sdb"],
    ]);
    expect(xml).not.toContain("<nvram>"); // libvirt gives each domain its own NVRAM file
  });

  it("BIOS, graphics none: headless with a serial console, no TPM, our metadata and not the test-VM record", () => {
    const xml = machineXml(xmlInput());
    expect(xml).not.toContain("firmware=");
    expect(xml).not.toContain("<graphics");
    expect(xml).not.toContain("<tpm");
    expect(xml).toContain('<console type="pty">');
    expect(parseMachineMetadata(xml)).toEqual({ version: 1, manifest: MANIFEST, disk });
    expect(parseMetadata(xml)).toBeUndefined(); // the environment sweeper never takes it for a test VM
  });

  it("secure boot: explicit secure_boot wins, else on for uefi + tpm 2.0 only", () => {
    expect(wantsSecureBoot({ boot: "uefi", tpm: "2.0" })).toBe(true);
    expect(wantsSecureBoot({ boot: "uefi", tpm: "none" })).toBe(false);
    expect(wantsSecureBoot({ boot: "uefi", tpm: "2.0", secure_boot: false })).toBe(false);
    expect(wantsSecureBoot({ boot: "bios", tpm: "2.0", secure_boot: true })).toBe(false);
  });

  it("keeps the uuid and MAC of the domain it redefines; a bridge is attached as a bridge", () => {
    const xml = machineXml(xmlInput({}, { uuid: "u-1", mac: "52:54:00:00:00:01", attachment: { type: "bridge", bridge: "br0" } }));
    expect(xml).toContain("<uuid>u-1</uuid>");
    expect(xml).toContain('<mac address="52:54:00:00:00:01"/>');
    expect(xml).toContain('<interface type="bridge">\n      <source bridge="br0"/>');
  });
});

describe("the plan", () => {
  const live = (xml: string, facts: { autostart?: boolean; diskBytes?: number } = {}) => ({ observed: observeMachine(xml), autostart: facts.autostart ?? false, diskBytes: facts.diskBytes ?? 2 * GIB });

  it.each([
    ["BIOS, headless", {}],
    ["UEFI + TPM + vnc + ISOs", { boot: "uefi", tpm: "2.0", graphics: "vnc", iso_sources: [{ path: "/isos/a.iso" }, { path: "/isos/b.iso" }] }],
    ["UEFI without secure boot, spice, a CPU model", { boot: "uefi", graphics: "spice", cpu_model: "Skylake-Client", secure_boot: false }],
  ] as const)("is empty for the XML the manifest asks for (%s)", (_label, overrides) => {
    const s = spec(overrides as Partial<MachineSpec>);
    expect(planMachine("vm1", s, MANIFEST, live(machineXml(xmlInput(overrides as Partial<MachineSpec>))))).toEqual([]);
  });

  it("names each changed field, old and new, and which need a restart", () => {
    const current = machineXml(xmlInput());
    const changes = planMachine("vm1", spec({ memory_gb: 2, autostart: true, disk_size_gb: 4 }), MANIFEST, live(current));
    expect(changes).toEqual([
      { field: "memory_gb", from: "1 GiB", to: "2 GiB", needsRestart: true },
      { field: "autostart", from: "false", to: "true", needsRestart: false },
      { field: "disk_size_gb", from: "2 GiB", to: "4 GiB", needsRestart: true },
    ]);
  });

  it("refuses to shrink a disk; a disk within its last GiB counts as that GiB", () => {
    const current = machineXml(xmlInput());
    expect(() => planMachine("vm1", spec({ disk_size_gb: 1 }), MANIFEST, live(current))).toThrow(/vms\.vm1\.disk_size_gb: 1 GiB is smaller than .* \(2 GiB\); disks are grown, never shrunk/);
    expect(planMachine("vm1", spec({ disk_size_gb: 2 }), MANIFEST, live(current, { diskBytes: 1.5 * GIB }))).toEqual([]);
  });

  it("a domain we did not define is adopted (owner change, no restart); vnc listening elsewhere is drift", () => {
    const foreign = machineXml(xmlInput({ graphics: "vnc" })).replace(/<metadata>[\s\S]*?<\/metadata>/, "").replace(/127\.0\.0\.1/g, "0.0.0.0");
    expect(planMachine("vm1", spec({ graphics: "vnc" }), MANIFEST, live(foreign))).toEqual([
      { field: "graphics.listen", from: "0.0.0.0", to: "127.0.0.1", needsRestart: true },
      { field: "owner", from: "(not managed: adopted now)", to: MANIFEST, needsRestart: false },
    ]);
  });
});

describe("reading a hand-made domain back (capture)", () => {
  const fixture = readFileSync(join(import.meta.dirname, "../../fixtures/libvirt/win11-dumpxml.xml"), "utf8");

  it("maps dumpxml to the manifest's fields and lists what does not round-trip", () => {
    const seen = observeMachine(fixture);
    expect(seen).toMatchObject({
      memoryMiB: 8192,
      vcpus: 4,
      boot: "uefi",
      secureBoot: true,
      tpm: "2.0",
      disk: { path: "/var/lib/libvirt/images/win11.qcow2", format: "qcow2", block: false },
      isoPaths: ["/home/u/Downloads/Win11_25H2_English_x64.iso", "/var/cache/testenv-vm/images/abc/virtio-win.iso"],
      network: { type: "network", name: "default", mac: "52:54:00:aa:bb:cc" },
      graphics: { type: "spice", listen: "127.0.0.1", port: 5900 },
      cpuModel: undefined,
      metadata: undefined,
    });
    expect(seen.notRoundTripped).toEqual(["2 redirdev devices", "a sound device"]);
  });
});

describe("manifest paths", () => {
  it.each([
    ["relative", "vms/a.qcow2", /is not an absolute path/],
    ["dot-dot", "/var/lib/../../etc/a.qcow2", /contains "\.\."/],
    ["~user", "~root/a.qcow2", /is not an absolute path/],
  ])("refuses a %s disk path, naming the field", (_label, path, message) => {
    expect(() => checkManifestPath(path, "vms.a.disk_path")).toThrow(message);
    expect(() => checkManifestPath(path, "vms.a.disk_path")).toThrow(/^vms\.a\.disk_path: /);
  });

  it("expands ~ and tells a missing disk from a file; a block device needs permission; a directory is refused", async () => {
    expect(checkManifestPath("~/vms/a.qcow2", "f", "/home/u")).toBe("/home/u/vms/a.qcow2");
    expect(await diskKind(join(dir, "absent.qcow2"), "f", false)).toBe("missing");
    expect(await diskKind(disk, "f", false)).toBe("file");
    await expect(diskKind(dir, "f", false)).rejects.toThrow(/is not a regular file/);
    await expect(diskKind("/dev/loop0", "f", false)).rejects.toThrow(/is a block device; pass --allow-block-device/);
  });
});

class FakeLibvirt implements LibvirtBackend, MachineHost {
  readonly uri = "test:///fake";
  readonly domains = new Map<string, { xml: string; running: boolean; autostart: boolean; liveXml?: string }>();
  readonly calls: string[] = [];
  readonly disks = new Map<string, number>();

  listDomains = () => Promise.resolve([...this.domains.keys()]);
  domainXml = (name: string) => Promise.resolve(this.domains.get(name)?.liveXml ?? this.domains.get(name)?.xml);
  domainRunning = (name: string) => Promise.resolve(this.domains.get(name)?.running ?? false);
  defineDomain(xml: string): Promise<void> {
    const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1] ?? "";
    this.calls.push(`define ${name}`);
    const existing = this.domains.get(name);
    // A running domain keeps running with its old configuration until it is powered off.
    if (existing?.running) existing.liveXml ??= existing.xml;
    this.domains.set(name, { ...(existing ?? { running: false, autostart: false }), xml });
    return Promise.resolve();
  }
  startDomain(name: string): Promise<void> {
    this.calls.push(`start ${name}`);
    const domain = this.domains.get(name);
    if (domain) Object.assign(domain, { running: true, liveXml: undefined });
    return Promise.resolve();
  }
  shutdownDomain(name: string): Promise<void> {
    this.calls.push(`shutdown ${name}`);
    const domain = this.domains.get(name);
    if (domain) Object.assign(domain, { running: false, liveXml: undefined });
    return Promise.resolve();
  }
  destroyDomain = this.shutdownDomain.bind(this);
  undefineDomain(name: string): Promise<void> {
    this.calls.push(`undefine ${name}`);
    this.domains.delete(name);
    return Promise.resolve();
  }
  domainAddresses = (_name: string, _source: AddressSource): Promise<InterfaceAddress[]> => Promise.resolve([]);
  listNetworks = () => Promise.resolve(["default"]);
  networkXml = () => Promise.resolve(undefined);
  networkActive = () => Promise.resolve(true);
  defineNetwork = () => Promise.resolve();
  startNetwork = () => Promise.resolve();
  destroyNetwork = () => Promise.resolve();
  undefineNetwork = () => Promise.resolve();
  networkLeases = (): Promise<Lease[]> => Promise.resolve([]);
  addDhcpHost = (): Promise<void> => Promise.resolve();
  removeDhcpHost = (): Promise<void> => Promise.resolve();
  close = () => Promise.resolve();

  inactiveXml = (name: string) => Promise.resolve(this.domains.get(name)?.xml);
  autostart = (name: string) => Promise.resolve(this.domains.get(name)?.autostart ?? false);
  setAutostart(name: string, enabled: boolean): Promise<void> {
    this.calls.push(`autostart ${name} ${enabled}`);
    const domain = this.domains.get(name);
    if (domain) domain.autostart = enabled;
    return Promise.resolve();
  }
  diskInfo = (path: string) => Promise.resolve({ format: "qcow2", virtualSize: this.disks.get(path) ?? 2 * GIB });
  createDisk(path: string, bytes: number): Promise<void> {
    this.calls.push(`create-disk ${path} ${bytes / GIB}G`);
    this.disks.set(path, bytes);
    writeFileSync(path, "");
    return Promise.resolve();
  }
  growDisk(path: string, bytes: number): Promise<void> {
    this.calls.push(`grow-disk ${bytes / GIB}G`);
    this.disks.set(path, bytes);
    return Promise.resolve();
  }
  removeDisk(path: string): Promise<void> {
    this.calls.push(`remove-disk ${path}`);
    return Promise.resolve();
  }
  bridgeExists = (name: string) => Promise.resolve(name === "br0");
}

describe("sync, status and prune against an in-memory libvirt", () => {
  let libvirt: FakeLibvirt;
  let service: MachineService;
  const request = (machines: Record<string, MachineSpec>, extra: Partial<MachineSyncRequest> = {}) => MachineSyncRequest.parse({ manifestPath: MANIFEST, machines, ...extra });

  beforeEach(() => {
    libvirt = new FakeLibvirt();
    service = new MachineService({ backend: libvirt, host: libvirt, accelerator: () => Promise.resolve("tcg"), log: createLogger("test") });
  });

  it("defines a new VM, then finds nothing to change (no define at all)", async () => {
    const first = await service.sync(request({ vm1: spec() }));
    expect(first.machines[0]).toMatchObject({ name: "vm1", action: "create", applied: true, restartNeeded: false });
    expect(libvirt.calls).toEqual(["define vm1", "autostart vm1 false"]);
    libvirt.calls.length = 0;
    const again = await service.sync(request({ vm1: spec() }));
    expect(again.machines[0]).toMatchObject({ action: "unchanged", changes: [], applied: false });
    expect(libvirt.calls).toEqual([]);
  });

  it("dry run plans and changes nothing", async () => {
    const plan = await service.sync(request({ vm1: spec() }, { dryRun: true }));
    expect(plan).toMatchObject({ dryRun: true, machines: [{ action: "create", applied: false }] });
    expect(libvirt.calls).toEqual([]);
  });

  it("creates the qcow2 when create_if_missing, and refuses a missing disk without it", async () => {
    const fresh = join(dir, "fresh.qcow2");
    const refused = await service.sync(request({ vm2: spec({ disk_path: fresh }) }));
    expect(refused.machines[0]).toMatchObject({ action: "error", notes: [expect.stringMatching(/vms\.vm2\.disk_path: .* does not exist; create it, or set create_if_missing: true/)] });
    const created = await service.sync(request({ vm2: spec({ disk_path: fresh, create_if_missing: true, disk_size_gb: 2 }) }));
    expect(created.machines[0]?.action).toBe("create");
    expect(libvirt.calls).toContain(`create-disk ${fresh} 2G`);
  });

  it("a memory edit of a running VM is defined for its next boot and says it needs a restart; --restart does it", async () => {
    await service.sync(request({ vm1: spec() }));
    await libvirt.startDomain("vm1");
    libvirt.calls.length = 0;
    const update = await service.sync(request({ vm1: spec({ memory_gb: 2 }) }));
    expect(update.machines[0]).toMatchObject({ action: "update", restartNeeded: true, applied: true, restarted: false, changes: [{ field: "memory_gb", from: "1 GiB", to: "2 GiB", needsRestart: true }] });
    expect(libvirt.calls).toEqual(["define vm1"]); // never destroyed
    const status = await service.status({ machines: { vm1: spec({ memory_gb: 2 }) } });
    expect(status.machines[0]).toMatchObject({ state: "running", managed: true, drift: [], pendingRestart: true });
    expect((await service.sync(request({ vm1: spec({ memory_gb: 2 }) }))).machines[0]?.action).toBe("unchanged");

    const restarted = await service.sync(request({ vm1: spec({ memory_gb: 3 }) }, { restart: true }));
    expect(restarted.machines[0]).toMatchObject({ action: "update", restarted: true, restartNeeded: false });
    expect(libvirt.calls.slice(-3)).toEqual(["define vm1", "shutdown vm1", "start vm1"]);
  });

  it("status: running / stopped / missing, drift, and the graphics URI of a running VM", async () => {
    await service.sync(request({ vm1: spec({ graphics: "vnc" }) }));
    const stopped = await service.status({ machines: { vm1: spec({ graphics: "vnc", vcpus: 2 }), gone: spec() } });
    expect(stopped.machines).toEqual([
      { name: "vm1", state: "stopped", managed: true, drift: [{ field: "vcpus", from: "1", to: "2", needsRestart: true }], pendingRestart: false },
      { name: "gone", state: "missing", managed: false, drift: [], pendingRestart: false },
    ]);
    await libvirt.startDomain("vm1");
    const domain = libvirt.domains.get("vm1")!;
    domain.liveXml = domain.xml.replace('port="-1"', 'port="5901"');
    expect((await service.status({ machines: { vm1: spec({ graphics: "vnc" }) } })).machines[0]).toMatchObject({ state: "running", graphicsUri: "vnc://127.0.0.1:5901" });
  });

  it("prune undefines only domains this manifest made, keeps disks unless removeStorage, never a running one", async () => {
    await service.sync(request({ vm1: spec(), old: spec(), running: spec() }));
    await service.sync(MachineSyncRequest.parse({ manifestPath: "/other/vms.json", machines: { theirs: spec() } }));
    libvirt.domains.set("handmade", { xml: "<domain><name>handmade</name></domain>", running: false, autostart: false });
    await libvirt.startDomain("running");
    libvirt.calls.length = 0;
    const pruned = await service.sync(request({ vm1: spec() }, { prune: true }));
    expect(pruned.machines.map((e) => [e.name, e.action, e.applied])).toEqual([
      ["vm1", "unchanged", false],
      ["old", "prune", true],
      ["running", "prune", false],
    ]);
    expect(pruned.machines[2]?.notes[0]).toMatch(/it is running/);
    expect(libvirt.calls).toEqual(["undefine old"]);
    expect([...libvirt.domains.keys()].sort()).toEqual(["handmade", "running", "theirs", "vm1"]);

    await libvirt.shutdownDomain("running");
    await service.sync(request({ vm1: spec() }, { prune: true, removeStorage: true }));
    expect(libvirt.calls).toContain(`remove-disk ${disk}`);
  });

  it("capture then sync changes nothing", async () => {
    const original = spec({ boot: "uefi", tpm: "2.0", graphics: "vnc", iso_sources: [{ path: iso }], autostart: true });
    await service.sync(request({ vm1: original }));
    const captured = await service.capture({ names: ["vm1", "nope"] });
    expect(captured.machines[1]).toEqual({ name: "nope", notRoundTripped: [] });
    const vm = captured.machines[0]?.vm;
    expect(vm).toEqual(original);
    expect((await service.sync(request({ vm1: vm! }))).machines[0]?.action).toBe("unchanged");
  });
});

describe("libvirt's own defaults read back as defaults", () => {
  it("the qemu64 model libvirt writes into a TCG domain is no cpu_model", () => {
    const expanded = machineXml(xmlInput()).replace("<clock", "<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>\n  <clock");
    expect(observeMachine(expanded).cpuModel).toBeUndefined();
    expect(planMachine("vm1", spec(), MANIFEST, { observed: observeMachine(expanded), autostart: false, diskBytes: 2 * GIB })).toEqual([]);
    expect(planMachine("vm1", spec({ cpu_model: "qemu64" }), MANIFEST, { observed: observeMachine(expanded), autostart: false, diskBytes: 2 * GIB })).toEqual([]);
  });
});

describe("the kit serves machine_* only for a provider that has them", () => {
  const context = { ...readProviderContext("test", {}), log: createLogger("test") };
  const base: ProviderImplementation = { capabilities: () => ({ providerName: "x", version: "1", resources: [] }) };

  it("NOT_IMPLEMENTED without machines; validated and routed with them", async () => {
    expect(await callTool(base, "machine_status", { machines: {} }, context)).toMatchObject({ success: false, error: { code: "NOT_IMPLEMENTED" } });
    const libvirt = new FakeLibvirt();
    const machines = new MachineService({ backend: libvirt, host: libvirt, accelerator: () => Promise.resolve("tcg"), log: createLogger("test") }).handlers();
    const withMachines: ProviderImplementation = { ...base, machines };
    expect(await callTool(withMachines, "machine_status", { machines: { gone: spec() } }, context)).toEqual({
      success: true,
      resource: { machines: [{ name: "gone", state: "missing", managed: false, drift: [], pendingRestart: false }] },
    });
    expect(await callTool(withMachines, "machine_power", { name: "bad name", action: "start" }, context)).toMatchObject({ success: false, error: { code: "INVALID_SPEC" } });
  });
});
