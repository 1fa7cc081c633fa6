import { chown, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NetworkCreateRequest, NetworkState, PlannedStep } from "../../api/provider.js";
import type { Logger } from "../../lib/log.js";
import { ProviderError, alreadyExists, busy, notFound, type RecordStore, type ResourceHandlers } from "../kit/index.js";
import type { Lease, LibvirtBackend } from "./backend.js";
import type { RecordedOwner } from "./data-dir.js";
import { LOCAL_HOST, type LibvirtHost } from "./host.js";
import { domainsUsingNetwork } from "./inventory.js";
import { checkResourceName, deriveBridgeName, deriveUla } from "./names.js";
import { dnsmasqArgv, parseDnsmasqLeases, sameProcess, startDnsmasq, stopDnsmasq, type DnsmasqFiles, type ProcessIdentity } from "./net/dnsmasq.js";
import { addAddress, addIpv6Address, createBridge, deleteLink, getLink, listLinks, overlappingAddress, removeAddress, removeIpv6Address, setUp, type Runner } from "./net/host.js";
import { readIdentityOn } from "./host-process.js";

/** The system libvirt daemon's runtime folder for networks. */
const LIBVIRT_NETWORK_RUN_DIR = "/run/libvirt/network";
import { contains, type Ipv4Network } from "../kit/ipv4.js";
import { libvirtDnsmasqConfFile, libvirtLeaseStatusFile, parseLibvirtLeaseStatus } from "./net/libvirt-leases.js";
import { libvirtNetworkXml, parseNetworkXml } from "./net/libvirt-xml.js";
import { planNetwork, type NetworkPlan } from "./net/plan.js";

// Networks of three kinds: a Linux bridge (ip), a libvirt network (virsh), and a standalone dnsmasq on an
// existing bridge. A libvirt network in bridge mode that asks for DHCP/DNS/TFTP gets a companion dnsmasq,
// because libvirt serves nothing on a bridge it does not own.

export interface DnsmasqRecord {
  identity: ProcessIdentity;
  files: DnsmasqFiles;
  dir: string;
  iface: string;
}

export interface NetworkRecord {
  name: string;
  requestedKind: string;
  kind: NetworkPlan["kind"];
  forwardMode?: string;
  /** The bridge guests plug into. */
  interfaceName: string;
  attachTo?: string;
  cidr?: string;
  gateway?: string;
  prefixLength?: number;
  createdAt: string;
  /** The remote libvirt host the network lives on (user@host); absent on the local host. */
  host?: string;
  dnsmasq?: DnsmasqRecord;
  /** An address we put on someone else's bridge so dnsmasq can serve it; removed on delete. */
  addedAddress?: { iface: string; address: string; prefixLength: number };
  /** A ULA we put on the bridge so dnsmasq can send router advertisements (fast iPXE); removed on delete. */
  addedIpv6?: { iface: string; cidr: string };
  /** Set until create finished; such a record only tells delete where to look. */
  creating?: boolean;
  /** The environment that made it (for gc); absent on records written before it was recorded. */
  owner?: RecordedOwner;
}

export interface NetworkDeps {
  backend: LibvirtBackend;
  records: RecordStore;
  dataDir: string;
  prefix: string | undefined;
  bridgePrefix: string | undefined;
  log: Logger;
  /** Where the bridges, dnsmasq and their files are: this machine, or a remote libvirt host over SSH. */
  host?: LibvirtHost;
  dnsmasqBinary?: string;
  /** Recorded on each network's record, so gc knows whose it is. */
  owner?: RecordedOwner;
}

const NOBODY = 65534;
/** How long leases read through virsh are reused: as often as the ARP and agent sources are asked. */
const VIRSH_LEASES_FRESH_MS = 1000;

export class NetworkService {
  private readonly host: LibvirtHost;
  /** Per libvirt network: the bridge whose lease status file is read, or null where virsh must be asked. */
  private readonly leaseBridges = new Map<string, string | null>();
  /** Leases read through virsh (a process each) where the status file is not readable, reused for a short while. */
  private readonly virshLeases = new Map<string, { readAt: number; leases: Lease[] }>();

  constructor(private readonly deps: NetworkDeps) {
    this.host = deps.host ?? LOCAL_HOST;
  }

  /** Runs `ip` where the bridges are (the local host's run is lib/run itself). */
  private readonly runner: Runner = (command, args, options) => this.host.run(command, args, options);

  /** A link on the libvirt host. */
  private link(name: string): ReturnType<typeof getLink> {
    return getLink(name, this.runner);
  }

  /** The owner written into a libvirt network's <metadata>, when this process knows one. */
  private ownerPart(): { owner?: RecordedOwner } {
    return this.deps.owner !== undefined ? { owner: this.deps.owner } : {};
  }

  record(name: string): Promise<NetworkRecord | undefined> {
    return this.deps.records.read<NetworkRecord>("networks", name);
  }

  bridgeNameFor(name: string): string {
    return deriveBridgeName(name, { bridgePrefix: this.deps.bridgePrefix, envPrefix: this.deps.prefix });
  }

  /** The host interface an `attachTo` value means: one of our networks (by provider or logical name) or a host bridge. */
  async resolveAttach(attachTo: string): Promise<string> {
    const candidates = [attachTo, ...(this.deps.prefix ? [`${this.deps.prefix}-${attachTo}`] : [])];
    for (const candidate of candidates) {
      if (!/^[A-Za-z0-9_.-]+$/.test(candidate)) continue;
      const record = await this.record(candidate);
      if (record) return record.interfaceName;
    }
    if (/^[A-Za-z0-9_.:-]{1,15}$/.test(attachTo) && (await this.link(attachTo))) return attachTo;
    throw new ProviderError("DEPENDENCY_FAILED", `spec.attachTo: "${attachTo}" is neither a network of this provider nor a host interface; create the bridge first`);
  }

  /** The bridge a VM NIC on this network plugs into, and how libvirt should attach it. */
  async attachmentFor(network: string): Promise<{ type: "network" | "bridge"; iface: string | undefined }> {
    const record = await this.record(network);
    if (record) return record.kind === "libvirt" ? { type: "network", iface: record.interfaceName } : { type: "bridge", iface: record.interfaceName };
    const xml = await this.deps.backend.networkXml(network);
    if (xml !== undefined) return { type: "network", iface: parseNetworkXml(xml).bridge };
    const link = /^[A-Za-z0-9_.:-]{1,15}$/.test(network) ? await this.link(network) : undefined;
    if (link?.kind === "bridge") return { type: "bridge", iface: network };
    throw new ProviderError("DEPENDENCY_FAILED", `network "${network}" does not exist; create it before the VM that uses it`);
  }

  /** DHCP leases relevant to a NIC on `network`: libvirt's own and every dnsmasq we run on the same bridge. */
  async leasesFor(network: string, iface: string | undefined): Promise<{ mac: string; ip: string }[]> {
    const leases: { mac: string; ip: string }[] = [];
    const record = await this.record(network);
    if (!record || (record.kind === "libvirt" && record.forwardMode !== "bridge")) {
      leases.push(...(await this.libvirtLeases(network, record)));
    }
    for (const name of await this.deps.records.names("networks")) {
      const other = await this.record(name);
      if (!other?.dnsmasq || (iface !== undefined && other.dnsmasq.iface !== iface)) continue;
      try {
        leases.push(...parseDnsmasqLeases(await this.host.readText(other.dnsmasq.files.leaseFile)));
      } catch {
        // no lease yet
      }
    }
    return leases;
  }

  /** Refuses a subnet another interface of the host already has, before anything is made (`on`: the bridge it joins). */
  private async refuseOverlap(ip: Ipv4Network, on: string | undefined): Promise<void> {
    const taken = overlappingAddress(ip, await listLinks(this.runner), on);
    if (taken === undefined) return;
    throw new ProviderError(
      "INVALID_SPEC",
      `spec.cidr: ${ip.cidr} overlaps ${taken.address}/${taken.prefixLength} on interface ${taken.link} of ${this.host.remote ? this.host.name : "this host"}; choose a subnet no interface there uses, or attach to ${taken.link} (attachTo) if that is the network you mean`,
    );
  }

  /** libvirt's leases of one of its networks: its status file when this host's libvirt dir is readable, else virsh. */
  private async libvirtLeases(network: string, record: NetworkRecord | undefined): Promise<Lease[]> {
    let bridge = this.leaseBridges.get(network);
    if (bridge === undefined) {
      const iface = record?.interfaceName ?? parseNetworkXml((await this.deps.backend.networkXml(network)) ?? "<network/>").bridge;
      // libvirt writes <network>.conf when it starts the network; without it the files are elsewhere or not ours to read.
      const plainName = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(network) && /^[A-Za-z0-9_.:-]{1,15}$/.test(iface ?? "");
      const readable = plainName && (await this.host.exists(libvirtDnsmasqConfFile(network)).catch(() => false));
      bridge = readable && iface !== undefined ? iface : null;
      this.leaseBridges.set(network, bridge);
    }
    if (bridge === null) {
      const kept = this.virshLeases.get(network);
      if (kept !== undefined && Date.now() - kept.readAt < VIRSH_LEASES_FRESH_MS) return kept.leases;
      const leases = await this.deps.backend.networkLeases(network);
      this.virshLeases.set(network, { readAt: Date.now(), leases });
      return leases;
    }
    try {
      return parseLibvirtLeaseStatus(await this.host.readText(libvirtLeaseStatusFile(bridge)));
    } catch {
      // The helper writes the file at the first lease.
      return [];
    }
  }

  private async startDnsmasqFor(
    name: string,
    iface: string,
    plan: NetworkPlan,
  ): Promise<{ dnsmasq: DnsmasqRecord; addedAddress?: NetworkRecord["addedAddress"]; addedIpv6?: NetworkRecord["addedIpv6"] }> {
    const ip = plan.ip;
    if (!ip) throw new ProviderError("INVALID_SPEC", "spec.cidr: dnsmasq needs the bridge's subnet");
    const link = await this.link(iface);
    if (!link) throw new ProviderError("DEPENDENCY_FAILED", `bridge ${iface} does not exist`);
    let addedAddress: NetworkRecord["addedAddress"];
    const onSubnet = link.addresses.some((a) => contains(ip, a.address));
    if (!onSubnet) {
      // dnsmasq only answers DHCP on an interface that has an address in the pool's subnet.
      await addAddress(iface, ip.gateway, ip.prefixLength, this.runner);
      addedAddress = { iface, address: ip.gateway, prefixLength: ip.prefixLength };
    }
    if (!link.up) await setUp(iface, this.runner);
    const dir = join(this.deps.dataDir, "dnsmasq", name);
    const host = this.host;
    await host.makeDir(dir);
    const files: DnsmasqFiles = { pidFile: join(dir, "dnsmasq.pid"), leaseFile: join(dir, "dnsmasq.leases"), logFile: join(dir, "dnsmasq.log") };
    // dnsmasq opens its log after dropping privileges to nobody.
    if (host.remote) {
      await host.run("install", ["-m", "0640", "/dev/null", files.logFile]);
      await host.run("chown", [`${NOBODY}:0`, files.logFile]).catch(() => undefined);
    } else {
      await writeFile(files.logFile, "", { mode: 0o640 });
      if (process.getuid?.() === 0) await chown(files.logFile, NOBODY, 0).catch(() => undefined);
    }
    // PXE clients running iPXE wait ~16 s for an IPv6 router unless one answers; a ULA lets dnsmasq be it.
    let addedIpv6: NetworkRecord["addedIpv6"];
    if (plan.tftp) {
      const cidr = `${deriveUla(name)}::1/64`;
      if (await addIpv6Address(iface, cidr, this.runner)) addedIpv6 = { iface, cidr };
    }
    const argv = dnsmasqArgv({ iface, plan, files, routerAdvertisements: addedIpv6 !== undefined });
    try {
      const identity = await startDnsmasq(this.deps.dnsmasqBinary ?? "dnsmasq", argv, files.pidFile, host);
      return { dnsmasq: { identity, files, dir, iface }, ...(addedAddress ? { addedAddress } : {}), ...(addedIpv6 ? { addedIpv6 } : {}) };
    } catch (error) {
      if (addedIpv6) await removeIpv6Address(iface, addedIpv6.cidr, this.runner);
      if (addedAddress) await removeAddress(iface, addedAddress.address, addedAddress.prefixLength, this.runner);
      await host.remove(dir, { recursive: true });
      throw error;
    }
  }

  /** What create would do, touching nothing: the bridge, the libvirt network XML, or the dnsmasq it would start. */
  plan(request: NetworkCreateRequest): PlannedStep[] {
    const name = checkResourceName("network", request.name);
    const plan = planNetwork(request.kind, request.spec);
    const bridged = plan.kind === "dnsmasq" || plan.forwardMode === "bridge";
    const iface = bridged ? `the bridge of ${plan.attachTo ?? "(attachTo)"}` : this.bridgeNameFor(name);
    const address = plan.ip ? ` with ${plan.ip.gateway}/${plan.ip.prefixLength}` : "";
    if (plan.kind === "bridge") return [{ action: "exec", summary: `create Linux bridge ${iface}${address}, MTU ${plan.mtu ?? "default"}, and set it up (netlink)` }];
    const steps: PlannedStep[] = [];
    if (plan.kind === "libvirt") steps.push({ action: "define", summary: `libvirt network ${name} on ${iface}, then started`, content: libvirtNetworkXml({ name, plan, bridge: bridged ? plan.attachTo ?? "" : iface, ...this.ownerPart() }) });
    if (plan.kind === "dnsmasq" || (bridged && (plan.dhcp || plan.dns || plan.tftp))) {
      const dir = join(this.deps.dataDir, "dnsmasq", name);
      steps.push({
        action: "exec",
        summary: `dnsmasq on ${iface}${address}${plan.tftp ? ", TFTP for PXE" : ""}`,
        argv: [this.deps.dnsmasqBinary ?? "dnsmasq", ...dnsmasqArgv({ iface: bridged ? plan.attachTo ?? "" : iface, plan, files: { pidFile: join(dir, "dnsmasq.pid"), leaseFile: join(dir, "dnsmasq.leases"), logFile: join(dir, "dnsmasq.log") }, routerAdvertisements: plan.tftp !== undefined })],
      });
    }
    return steps;
  }

  async create(request: NetworkCreateRequest): Promise<NetworkState> {
    const name = checkResourceName("network", request.name);
    const plan = planNetwork(request.kind, request.spec);
    const host = this.host;
    if ((await this.record(name)) || (await this.deps.backend.networkXml(name)) !== undefined) throw alreadyExists("network", name);
    const bridged = plan.kind === "dnsmasq" || plan.forwardMode === "bridge";
    const iface = bridged ? await this.resolveAttach(plan.attachTo ?? "") : this.bridgeNameFor(name);
    if (!bridged && (await this.link(iface))) throw alreadyExists("bridge interface", iface);
    if (plan.ip) await this.refuseOverlap(plan.ip, bridged ? iface : undefined);
    let record: NetworkRecord = {
      name,
      requestedKind: plan.requestedKind,
      kind: plan.kind,
      ...(plan.forwardMode ? { forwardMode: plan.forwardMode } : {}),
      interfaceName: iface,
      ...(plan.attachTo ? { attachTo: plan.attachTo } : {}),
      ...(plan.ip ? { cidr: plan.ip.cidr, gateway: plan.ip.gateway, prefixLength: plan.ip.prefixLength } : {}),
      createdAt: new Date().toISOString(),
      ...(host.remote ? { host: host.name } : {}),
      ...(this.deps.owner !== undefined && Object.keys(this.deps.owner).length > 0 ? { owner: this.deps.owner } : {}),
      creating: true,
    };
    // Recorded before anything exists, so a delete after a crash mid-create still knows what to look for.
    await this.deps.records.write("networks", name, record);
    try {
      if (plan.kind === "bridge") {
        await createBridge(iface, plan.mtu, this.runner);
        if (plan.ip) await addAddress(iface, plan.ip.gateway, plan.ip.prefixLength, this.runner);
        await setUp(iface, this.runner);
      } else if (plan.kind === "libvirt") {
        await this.deps.backend.defineNetwork(libvirtNetworkXml({ name, plan, bridge: iface, ...this.ownerPart() }));
        await this.deps.backend.startNetwork(name);
        if (bridged && (plan.dhcp || plan.dns || plan.tftp)) record = { ...record, ...(await this.startDnsmasqFor(name, iface, plan)) };
      } else {
        record = { ...record, ...(await this.startDnsmasqFor(name, iface, plan)) };
      }
      delete record.creating;
      await this.deps.records.write("networks", name, record);
    } catch (error) {
      await this.teardown(record).catch((cleanup: unknown) => this.deps.log.warn(`cleanup of network ${name} failed: ${String(cleanup)}`));
      await this.deps.records.remove("networks", name);
      throw error;
    }
    return this.stateOf(record);
  }

  private async status(record: NetworkRecord): Promise<"active" | "inactive" | "missing"> {
    if (record.creating) return "missing";
    if (record.kind === "libvirt") {
      if ((await this.deps.backend.networkXml(record.name)) === undefined) return "missing";
      if (!(await this.deps.backend.networkActive(record.name))) return "inactive";
    } else if (!(await this.link(record.interfaceName))) {
      return "missing";
    }
    if (record.dnsmasq && !sameProcess(record.dnsmasq.identity, await readIdentityOn(this.host, record.dnsmasq.identity.pid))) return "inactive";
    return "active";
  }

  private async stateOf(record: NetworkRecord, status?: string): Promise<NetworkState> {
    let uuid: string | undefined;
    if (record.kind === "libvirt") {
      const xml = await this.deps.backend.networkXml(record.name);
      uuid = xml ? parseNetworkXml(xml).uuid : undefined;
    }
    return {
      name: record.name,
      kind: record.requestedKind,
      status: status ?? (await this.status(record)),
      ...(record.gateway ? { ip: record.gateway, gateway: record.gateway } : {}),
      ...(record.cidr ? { cidr: record.cidr } : {}),
      interfaceName: record.interfaceName,
      ...(uuid ? { uuid } : {}),
      ...(record.dnsmasq ? { pid: record.dnsmasq.identity.pid } : {}),
      createdAt: record.createdAt,
      providerState: {
        ...(record.host ? { host: record.host } : {}),
        ...(record.forwardMode ? { forwardMode: record.forwardMode } : {}),
        ...(record.attachTo ? { attachTo: record.attachTo } : {}),
        ...(record.dnsmasq
          ? {
              dnsmasq: {
                pid: record.dnsmasq.identity.pid,
                startTime: record.dnsmasq.identity.startTime,
                leaseFile: record.dnsmasq.files.leaseFile,
                logFile: record.dnsmasq.files.logFile,
                pidFile: record.dnsmasq.files.pidFile,
              },
            }
          : {}),
      },
    };
  }

  /** A libvirt network nobody recorded (made by hand or by the original): report what libvirt knows. */
  private async foreignState(name: string): Promise<NetworkState | undefined> {
    const xml = await this.deps.backend.networkXml(name);
    if (xml === undefined) return undefined;
    const facts = parseNetworkXml(xml);
    return {
      name,
      kind: "libvirt",
      status: (await this.deps.backend.networkActive(name)) ? "active" : "inactive",
      ...(facts.address ? { ip: facts.address, gateway: facts.address } : {}),
      ...(facts.bridge ? { interfaceName: facts.bridge } : {}),
      ...(facts.uuid ? { uuid: facts.uuid } : {}),
    };
  }

  async get(name: string): Promise<NetworkState> {
    checkResourceName("network", name);
    const record = await this.record(name);
    if (record) {
      const status = await this.status(record);
      if (status === "missing") throw notFound("network", name);
      return this.stateOf(record, status);
    }
    const foreign = (await this.foreignState(name)) ?? (await this.hostBridgeState(name));
    if (foreign) return foreign;
    throw notFound("network", name);
  }

  /** A host bridge we did not create (a user's br0): described read-only, so a spec can use it as external. */
  private async hostBridgeState(name: string): Promise<NetworkState | undefined> {
    if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(name)) return undefined;
    const link = await this.link(name);
    if (link?.kind !== "bridge") return undefined;
    const address = link.addresses[0];
    return {
      name,
      kind: "bridge",
      status: link.up ? "active" : "inactive",
      interfaceName: name,
      ...(address ? { ip: address.address, cidr: `${address.address}/${address.prefixLength}` } : {}),
    };
  }

  /**
   * Starts a libvirt network we did not create (libvirt's `default`) when a VM is about to use it and it is
   * inactive, as `virsh start` of a domain on it would need. Never defines, changes or deletes it.
   */
  async activateForeign(name: string): Promise<void> {
    if (await this.record(name)) return;
    if ((await this.deps.backend.networkXml(name)) === undefined) return;
    if (!(await this.deps.backend.networkActive(name))) await this.deps.backend.startNetwork(name);
  }

  async list(): Promise<NetworkState[]> {
    const names = new Set(await this.deps.records.names("networks"));
    const prefix = this.deps.prefix;
    for (const name of await this.deps.backend.listNetworks()) if (prefix && name.startsWith(`${prefix}-`)) names.add(name);
    const states: NetworkState[] = [];
    for (const name of [...names].sort()) {
      try {
        states.push(await this.get(name));
      } catch (error) {
        if (!(error instanceof ProviderError && error.code === "NOT_FOUND")) throw error;
      }
    }
    return states;
  }

  /** A dnsmasq started for `name` whose identity never reached the record (crash mid-create): found by its pid file. */
  private async orphanDnsmasq(name: string): Promise<ProcessIdentity | undefined> {
    const pidFile = join(this.deps.dataDir, "dnsmasq", name, "dnsmasq.pid");
    try {
      const identity = await readIdentityOn(this.host, Number((await this.host.readText(pidFile)).trim()));
      return identity?.cmdline.includes(`--pid-file=${pidFile}`) ? identity : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * libvirt 9.0 leaves a system network's status behind in its run dir after undefine: the pid file of the dnsmasq
   * it stopped and an empty ports folder. Gone with the network, so that nothing carrying the name is left.
   */
  private async removeLibvirtLeftovers(name: string): Promise<void> {
    const dir = join(LIBVIRT_NETWORK_RUN_DIR, name);
    await this.host.remove(`${dir}.pid`).catch(() => undefined);
    await this.host.run("rmdir", ["--", join(dir, "ports"), dir], { timeoutMs: 30_000 }).catch(() => undefined); // only when empty
  }

  private async teardown(record: NetworkRecord): Promise<void> {
    const dnsmasq = record.dnsmasq?.identity ?? (await this.orphanDnsmasq(record.name));
    if (dnsmasq) await stopDnsmasq(dnsmasq, this.host);
    await this.host.remove(join(this.deps.dataDir, "dnsmasq", record.name), { recursive: true });
    if (record.addedAddress) await removeAddress(record.addedAddress.iface, record.addedAddress.address, record.addedAddress.prefixLength, this.runner);
    if (record.addedIpv6) await removeIpv6Address(record.addedIpv6.iface, record.addedIpv6.cidr, this.runner);
    if (record.kind === "libvirt") {
      await this.deps.backend.destroyNetwork(record.name);
      await this.deps.backend.undefineNetwork(record.name);
      await this.removeLibvirtLeftovers(record.name);
    } else if (record.kind === "bridge" && (await this.link(record.interfaceName))) {
      await deleteLink(record.interfaceName, this.runner);
    }
  }

  async delete(name: string, force: boolean): Promise<void> {
    checkResourceName("network", name);
    const record = await this.record(name);
    const libvirtXml = await this.deps.backend.networkXml(name);
    if (!record && libvirtXml === undefined) throw notFound("network", name);
    const iface = record?.interfaceName ?? (libvirtXml ? parseNetworkXml(libvirtXml).bridge : undefined);
    if (!force) {
      // A libvirt network attached to someone's bridge shares that bridge: only its own NICs count.
      const bridgeShared = record !== undefined && (record.kind === "dnsmasq" || record.forwardMode === "bridge");
      const users = await domainsUsingNetwork(this.deps.backend, name, bridgeShared ? undefined : iface);
      if (users.length > 0) throw busy("network", name, `VM ${users.join(", ")}`);
      if (record?.kind === "bridge") {
        const dependents: string[] = [];
        for (const other of await this.deps.records.names("networks")) {
          if (other === name) continue;
          const r = await this.record(other);
          if (r && r.interfaceName === record.interfaceName) dependents.push(other);
        }
        if (dependents.length > 0) throw busy("network", name, `network ${dependents.join(", ")} attached to it`);
      }
    }
    if (record) await this.teardown(record);
    else {
      await this.deps.backend.destroyNetwork(name);
      await this.deps.backend.undefineNetwork(name);
    }
    await this.deps.records.remove("networks", name);
    this.deps.log.debug(`network ${name} deleted`);
  }

  handlers(): ResourceHandlers<NetworkCreateRequest, NetworkState> {
    return {
      create: (request) => this.create(request),
      get: (name) => this.get(name),
      list: () => this.list(),
      delete: (name, force) => this.delete(name, force),
    };
  }
}
