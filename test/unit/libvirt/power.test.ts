import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { VMState } from "../../../api/provider.js";
import { createLogger } from "../../../lib/log.js";
import { ProviderError, callTool, readProviderContext, type ProviderImplementation } from "../../../providers/kit/index.js";
import type { AddressSource, InterfaceAddress, Lease, LibvirtBackend } from "../../../providers/libvirt/backend.js";
import type { ResolvedConfig } from "../../../providers/libvirt/config.js";
import type { NetworkService } from "../../../providers/libvirt/networks.js";
import { capabilities } from "../../../providers/libvirt/provider.js";
import { RecordStore } from "../../../providers/kit/index.js";
import { domainXml } from "../../../providers/libvirt/vm/domain-xml.js";
import { parseMetadata, type DomainMetadata } from "../../../providers/libvirt/vm/metadata.js";
import { VmService, resumedPorts } from "../../../providers/libvirt/vms.js";

// vm_start / vm_stop of the libvirt provider against an in-memory libvirt: how a stop ends (graceful, forced
// after the timeout, forced at once, already off), and start waiting for the readiness recorded at create.

const MAC = "52:54:00:12:34:56";

/** A guest: whether it runs, and how many polls after an ACPI request it powers off (never: ignores ACPI). */
interface FakeDomain {
  xml: string;
  running: boolean;
  offAfterPolls: number | "never";
  pollsSinceShutdown?: number;
}

class FakeBackend implements LibvirtBackend {
  readonly uri = "test:///fake";
  readonly domains = new Map<string, FakeDomain>();
  readonly calls: string[] = [];
  failRunningCheck = false;

  listDomains = () => Promise.resolve([...this.domains.keys()]);
  domainXml = (name: string) => Promise.resolve(this.domains.get(name)?.xml);
  domainRunning(name: string): Promise<boolean> {
    if (this.failRunningCheck) return Promise.reject(new Error("libvirt: connection lost"));
    const domain = this.domains.get(name);
    if (domain?.running && domain.pollsSinceShutdown !== undefined && domain.offAfterPolls !== "never") {
      if (domain.pollsSinceShutdown >= domain.offAfterPolls) domain.running = false;
      domain.pollsSinceShutdown += 1;
    }
    return Promise.resolve(domain?.running ?? false);
  }
  defineDomain = () => Promise.reject(new Error("not used"));
  startDomain(name: string): Promise<void> {
    this.calls.push(`start ${name}`);
    const domain = this.domains.get(name);
    if (domain) Object.assign(domain, { running: true, pollsSinceShutdown: undefined });
    return Promise.resolve();
  }
  shutdownDomain(name: string): Promise<void> {
    this.calls.push(`shutdown ${name}`);
    const domain = this.domains.get(name);
    if (domain?.running) domain.pollsSinceShutdown ??= 0;
    return Promise.resolve();
  }
  destroyDomain(name: string): Promise<void> {
    this.calls.push(`destroy ${name}`);
    const domain = this.domains.get(name);
    if (domain) domain.running = false;
    return Promise.resolve();
  }
  undefineDomain = () => Promise.resolve();
  domainAddresses = (_name: string, _source: AddressSource): Promise<InterfaceAddress[]> => Promise.resolve([]);
  listNetworks = () => Promise.resolve([]);
  networkXml = () => Promise.resolve(undefined);
  networkActive = () => Promise.resolve(false);
  defineNetwork = () => Promise.resolve();
  startNetwork = () => Promise.resolve();
  destroyNetwork = () => Promise.resolve();
  undefineNetwork = () => Promise.resolve();
  networkLeases = (): Promise<Lease[]> => Promise.resolve([]);
  addDhcpHost = () => Promise.resolve();
  removeDhcpHost = () => Promise.resolve();
  close = () => Promise.resolve();
}

let dir: string;
let backend: FakeBackend;
let leases: { mac: string; ip: string }[];
let networkExists: boolean;
let impl: ProviderImplementation;
let vms: VmService;
const context = readProviderContext("libvirt", {});

function metadataFor(name: string, extra: Partial<DomainMetadata> = {}): DomainMetadata {
  return {
    version: 1,
    name,
    prefix: "tvm-pw",
    createdAt: "2026-01-01T00:00:00.000Z",
    accelerator: "tcg",
    vmDir: join(dir, "vms", name),
    disk: join(dir, "vms", name, "disk.qcow2"),
    consoleLog: join(dir, `${name}.console`),
    networks: ["tvm-pw-net"],
    macs: [MAC],
    keys: [],
    staticIps: [null],
    ...extra,
  };
}

function addDomain(name: string, options: { running: boolean; offAfterPolls?: number | "never"; metadata?: Partial<DomainMetadata> | null }): void {
  const metadata = metadataFor(name, options.metadata ?? {});
  const xml = domainXml({
    name,
    accelerator: "tcg",
    memoryMiB: 128,
    vcpus: 1,
    machine: "pc",
    cpuModel: undefined,
    firmware: "bios",
    secureBoot: false,
    nvramPath: undefined,
    tpm: false,
    bootOrder: ["hd"],
    diskPath: metadata.disk,
    seedIsoPath: undefined,
    nics: [{ type: "network", network: "tvm-pw-net", mac: MAC }],
    consoleLog: metadata.consoleLog,
    metadata,
  });
  // null: a domain someone else made, without our metadata.
  const stored = options.metadata === null ? xml.replace(/<metadata>[\s\S]*<\/metadata>/, "") : xml;
  backend.domains.set(name, { xml: stored, running: options.running, offAfterPolls: options.offAfterPolls ?? 1 });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "libvirt-power-"));
  backend = new FakeBackend();
  leases = [];
  networkExists = true;
  const networks = {
    attachmentFor: (network: string) =>
      networkExists
        ? Promise.resolve({ type: "network", iface: "virbr-test" })
        : Promise.reject(new ProviderError("DEPENDENCY_FAILED", `network "${network}" does not exist; create it before the VM that uses it`)),
    leasesFor: () => Promise.resolve(leases),
  } as unknown as NetworkService;
  const config: ResolvedConfig = {
    uri: backend.uri,
    dataDir: dir,
    dataDirIsDefault: false,
    accelerator: "tcg",
    machine: "pc",
    cpuModel: undefined,
    bridgePrefix: undefined,
    prefix: "tvm-pw",
    testID: undefined,
    artifactDir: undefined,
  };
  vms = new VmService({ backend, records: new RecordStore(dir), networks, config, log: createLogger("test"), ipWaitMs: 1500, libvirtOutageMs: 1000 });
  impl = { capabilities: () => capabilities("0.0.0"), vms: vms.handlers() };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function call(tool: string, args: unknown): Promise<{ state: VMState | undefined; code: string | undefined; message: string | undefined }> {
  const result = await callTool(impl, tool, args, context);
  return { state: result.resource as VMState | undefined, code: result.error?.code, message: result.error?.message };
}

describe("libvirt vm_stop", () => {
  it("declares start and stop for VMs", () => {
    expect(capabilities("1").resources.find((r) => r.kind === "vm")?.operations).toEqual(["create", "get", "list", "delete", "start", "stop"]);
    expect(capabilities("1").resources.find((r) => r.kind === "network")?.operations).toEqual(["create", "get", "list", "delete"]);
  });

  it("is graceful when the guest powers off after the ACPI request", async () => {
    addDomain("tvm-pw-vm", { running: true, offAfterPolls: 2 });
    const { state } = await call("vm_stop", { name: "tvm-pw-vm" });
    expect(state).toMatchObject({ name: "tvm-pw-vm", status: "stopped", stopMethod: "graceful" });
    expect(backend.calls).toEqual(["shutdown tvm-pw-vm"]);
  });

  it("forces the domain off when the guest ignores ACPI for timeoutSeconds", async () => {
    addDomain("tvm-pw-vm", { running: true, offAfterPolls: "never" });
    const started = Date.now();
    const { state } = await call("vm_stop", { name: "tvm-pw-vm", timeoutSeconds: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(state).toMatchObject({ status: "stopped", stopMethod: "forced" });
    expect(backend.calls).toEqual(["shutdown tvm-pw-vm", "destroy tvm-pw-vm"]);
  });

  it("skips the guest with force, and says already-stopped for a domain that is off", async () => {
    addDomain("tvm-pw-vm", { running: true });
    expect((await call("vm_stop", { name: "tvm-pw-vm", force: true })).state?.stopMethod).toBe("forced");
    expect(backend.calls).toEqual(["destroy tvm-pw-vm"]);
    expect((await call("vm_stop", { name: "tvm-pw-vm" })).state).toMatchObject({ status: "stopped", stopMethod: "already-stopped" });
    expect(backend.calls).toEqual(["destroy tvm-pw-vm"]);
  });

  it("vm_get reports the memory (MiB) and vCPUs the domain XML gives it, for drift checks", async () => {
    addDomain("tvm-pw-vm", { running: true });
    const { state } = await call("vm_get", { name: "tvm-pw-vm" });
    expect(state?.providerState).toMatchObject({ memory: 128, vcpus: 1 });
    const domain = backend.domains.get("tvm-pw-vm")!;
    domain.xml = domain.xml.replace(/<memory unit="MiB">128<\/memory>/, "<memory unit='KiB'>262144</memory>");
    expect((await call("vm_get", { name: "tvm-pw-vm" })).state?.providerState).toMatchObject({ memory: 256, vcpus: 1 });
  });

  it("never touches a domain that is not ours or not there", async () => {
    addDomain("tvm-pw-foreign", { running: true, metadata: null });
    expect((await call("vm_stop", { name: "tvm-pw-foreign", force: true })).code).toBe("NOT_FOUND");
    expect((await call("vm_stop", { name: "tvm-pw-ghost" })).code).toBe("NOT_FOUND");
    expect((await call("vm_start", { name: "tvm-pw-foreign" })).code).toBe("NOT_FOUND");
    expect(backend.calls).toEqual([]);
  });

  it("reports a libvirt error while waiting instead of destroying a domain it cannot see", async () => {
    addDomain("tvm-pw-vm", { running: true, offAfterPolls: "never" });
    const stop = call("vm_stop", { name: "tvm-pw-vm", timeoutSeconds: 30 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    backend.failRunningCheck = true;
    const { code, message } = await stop;
    expect(code).toBe("PROVIDER_ERROR");
    expect(message).toContain("connection lost");
    expect(backend.calls).not.toContain("destroy tvm-pw-vm");
  });
});

/** A loopback port that accepts connections (and closes them at once), for the readiness checks. */
let port: number;
let server: Server;
beforeAll(async () => {
  server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A loopback port nothing listens on any more. */
async function closedPort(): Promise<number> {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const free = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  return free;
}

describe("libvirt vm_start", () => {
  it("records the readiness spec in the domain metadata, and reads metadata without one", () => {
    addDomain("tvm-pw-new", { running: false, metadata: { readiness: { tcp: { port: 22, timeout: "1m" } } } });
    addDomain("tvm-pw-old", { running: false });
    expect(parseMetadata(backend.domains.get("tvm-pw-new")!.xml)?.readiness).toEqual({ tcp: { port: 22, timeout: "1m" } });
    expect(parseMetadata(backend.domains.get("tvm-pw-old")!.xml)).toEqual(metadataFor("tvm-pw-old"));
  });

  it("starts the domain and waits for the recorded readiness (a TCP port) on the address it finds", async () => {
    addDomain("tvm-pw-vm", { running: false, metadata: { readiness: { tcp: { port, timeout: "5s" } } } });
    leases = [{ mac: MAC, ip: "127.0.0.1" }];
    const { state, message } = await call("vm_start", { name: "tvm-pw-vm" });
    expect(state, message).toMatchObject({ name: "tvm-pw-vm", status: "running", ip: "127.0.0.1" });
    expect(backend.calls).toEqual(["start tvm-pw-vm"]);
    // Running already: nothing happens.
    expect((await call("vm_start", { name: "tvm-pw-vm" })).state?.status).toBe("running");
    expect(backend.calls).toEqual(["start tvm-pw-vm"]);
  });

  it("fails with TIMEOUT when the recorded readiness is not met again, leaving the domain running", async () => {
    const deadPort = await closedPort();
    addDomain("tvm-pw-vm", { running: false, metadata: { readiness: { tcp: { port: deadPort, timeout: "1s" } } } });
    leases = [{ mac: MAC, ip: "127.0.0.1" }];
    const { code, message } = await call("vm_start", { name: "tvm-pw-vm" });
    expect(code).toBe("TIMEOUT");
    expect(message).toContain(`TCP 127.0.0.1:${deadPort} not ready after 1s`);
    expect(backend.domains.get("tvm-pw-vm")?.running).toBe(true);
  });

  it("does not wait with waitReady:false, and a domain from before vm_start only waits for an address", async () => {
    addDomain("tvm-pw-fast", { running: false, metadata: { readiness: { tcp: { port: 1, timeout: "1m" } } } });
    expect((await call("vm_start", { name: "tvm-pw-fast", waitReady: false })).state?.status).toBe("running");
    addDomain("tvm-pw-old", { running: false });
    const started = Date.now();
    const { state } = await call("vm_start", { name: "tvm-pw-old" });
    // No lease: it gave up after the address wait (ipWaitMs), without failing.
    expect(state).toMatchObject({ status: "running" });
    expect(state?.ip).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("says which network is missing before starting anything", async () => {
    addDomain("tvm-pw-vm", { running: false });
    networkExists = false;
    const { code, message } = await call("vm_start", { name: "tvm-pw-vm" });
    expect(code).toBe("DEPENDENCY_FAILED");
    expect(message).toContain('network "tvm-pw-net" does not exist');
    expect(backend.calls).toEqual([]);
  });

  it("ends the wait for an address with libvirt's error when libvirt stops answering (its daemon died)", async () => {
    addDomain("tvm-pw-vm", { running: false, metadata: { readiness: { tcp: { port: 1, timeout: "1m" } } } });
    const start = backend.startDomain.bind(backend);
    backend.startDomain = async (name: string) => {
      await start(name);
      backend.failRunningCheck = true;
    };
    const started = Date.now();
    const { code, message } = await call("vm_start", { name: "tvm-pw-vm" });
    expect(code).toBe("PROVIDER_ERROR");
    expect(message).toContain("libvirt has not answered for 1 s: libvirt: connection lost");
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe("libvirt: a guest resumed from a snapshot", () => {
  it("checks again only the ports its readiness uses: SSH's for an SSH login or cloud-init, and the TCP port", () => {
    expect(resumedPorts({ ssh: { enabled: true, user: "root" }, tcp: { port: 8080 } })).toEqual([22, 8080]);
    expect(resumedPorts({ cloudInit: { enabled: true } })).toEqual([22]);
    expect(resumedPorts({ ssh: { enabled: true }, tcp: { port: 22 } })).toEqual([22]);
    expect(resumedPorts({ ssh: { enabled: false } })).toEqual([]);
    expect(resumedPorts(undefined)).toEqual([]);
  });

  it("is running on its address once the port accepts, without starting anything", async () => {
    addDomain("tvm-pw-vm", { running: true, metadata: { readiness: { tcp: { port, timeout: "5s" } } } });
    leases = [{ mac: MAC, ip: "127.0.0.1" }];
    const metadata = parseMetadata(backend.domains.get("tvm-pw-vm")!.xml)!;
    expect(await vms.settle("tvm-pw-vm", metadata, true)).toMatchObject({ name: "tvm-pw-vm", status: "running", ip: "127.0.0.1" });
    expect(backend.calls).toEqual([]);
  });

  it("fails with TIMEOUT naming the port that does not accept again", async () => {
    const deadPort = await closedPort();
    addDomain("tvm-pw-vm", { running: true, metadata: { readiness: { tcp: { port: deadPort, timeout: "1s" } } } });
    leases = [{ mac: MAC, ip: "127.0.0.1" }];
    const metadata = parseMetadata(backend.domains.get("tvm-pw-vm")!.xml)!;
    await expect(vms.settle("tvm-pw-vm", metadata, true)).rejects.toMatchObject({ code: "TIMEOUT", message: expect.stringContaining(`TCP 127.0.0.1:${deadPort} not ready after 1s`) as unknown });
  });
});
