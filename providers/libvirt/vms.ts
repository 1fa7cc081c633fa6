import { createHash } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { PlannedStep, VMCreateRequest, VMStartRequest, VMState, VMStopRequest } from "../../api/provider.js";
import type { Logger } from "../../lib/log.js";
import { retryUntil } from "../../lib/retry.js";
import { ProviderError, alreadyExists, invalidSpec, notFound, type JumpHost, type KeyRecord, type RecordStore, type VMHandlers } from "../kit/index.js";
import { cachedAccelerator, chooseAccelerator } from "./accel.js";
import type { LibvirtBackend } from "./backend.js";
import { LIBVIRT_OUTAGE_MS } from "./connection.js";
import type { ResolvedConfig } from "./config.js";
import { LOCAL_HOST, type LibvirtHost } from "./host.js";
import type { RemoteImageCache } from "./image-cache.js";
import { shellQuote } from "./shell-quote.js";
import { allDomains } from "./inventory.js";
import { checkResourceName, deriveMac, logicalVmName } from "./names.js";
import type { NetworkService } from "./networks.js";
import { buildSeedIso, guestHostname, metaData, networkConfig, staticAddress, userData, type SeedFiles } from "./vm/cloudinit.js";
import { createDisk, diskArgv, forgetDiskUser, recordDiskUser } from "./vm/disk.js";
import { checkReservation, release, reserve, type DhcpReservation } from "./vm/fixed-ip.js";
import { domainSize, domainXml, type DomainInput, type NicAttachment } from "./vm/domain-xml.js";
import { discoverIps, type NicInfo } from "./vm/ip.js";
import { parseMetadata, type DomainMetadata, type Readiness } from "./vm/metadata.js";
import { DEFAULT_TIMEOUTS, parseDuration, readinessTimeout, waitForCloudInit, waitForSsh, waitForTcp, type SshTarget } from "./vm/readiness.js";
import { powerOffDomain } from "./vm/power-off.js";
import { noHold, type Hold } from "./fault-hold.js";

// VMs: overlay disk + NoCloud seed + domain XML, started through libvirt. Everything delete needs is in
// the domain's <metadata>, so any process can find and remove it.

export interface VmDeps {
  backend: LibvirtBackend;
  records: RecordStore;
  networks: NetworkService;
  config: ResolvedConfig;
  /** Where libvirt runs: disks, seed ISOs and console logs are made and read there. */
  host?: LibvirtHost;
  /** A remote host's copies of local base images; undefined on the local host. */
  images?: RemoteImageCache;
  log: Logger;
  /** How long create waits for a first IP when no readiness check asks for more. */
  ipWaitMs?: number;
  /** The fault matrix's hold points (none outside tests). */
  hold?: Hold;
  /** How long libvirt may fail to answer while create waits for an IP (a daemon restart) before create fails. */
  libvirtOutageMs?: number;
}

/** A lease poll here is a file read and one binding call (no child process), so it can run often. */
const IP_POLL_MS = 100;
/** On a remote host each lease read is a command over SSH: polled as often as before the local reads. */
const REMOTE_IP_POLL_MS = 250;
/** libvirt's ARP and agent sources (a virsh process each), for NICs whose DHCP we cannot read. */
const IP_FALLBACK_EVERY_MS = 1000;

/** A VM's readiness checks with their deadlines, validated once at create. */
interface ReadinessPlan {
  spec: Readiness | undefined;
  /** SSH login is needed: for the SSH check itself or to ask cloud-init. */
  wantsSsh: boolean;
  sshTimeout: number;
  tcpTimeout: number;
  cloudInitTimeout: number;
}

/**
 * The ports a guest resumed from memory saved while it was ready must accept again: SSH's when its readiness logs
 * in (the SSH check, or asking cloud-init), and the readiness TCP port.
 */
export function resumedPorts(spec: Readiness | undefined): number[] {
  const ports = spec?.ssh?.enabled === true || spec?.cloudInit?.enabled === true ? [SSH_PORT] : [];
  if (spec?.tcp && !ports.includes(spec.tcp.port)) ports.push(spec.tcp.port);
  return ports;
}

const SSH_PORT = 22;

function planReadiness(spec: Readiness | undefined): ReadinessPlan {
  return {
    spec,
    wantsSsh: spec?.ssh?.enabled === true || spec?.cloudInit?.enabled === true,
    sshTimeout: parseDuration(spec?.ssh?.timeout, DEFAULT_TIMEOUTS.ssh, "spec.readiness.ssh.timeout"),
    tcpTimeout: parseDuration(spec?.tcp?.timeout, DEFAULT_TIMEOUTS.tcp, "spec.readiness.tcp.timeout"),
    cloudInitTimeout: parseDuration(spec?.cloudInit?.timeout, DEFAULT_TIMEOUTS.cloudInit, "spec.readiness.cloudInit.timeout"),
  };
}

export class VmService {
  private jump: Promise<JumpHost> | undefined;

  private readonly host: LibvirtHost;

  private readonly hold: Hold;

  constructor(private readonly deps: VmDeps) {
    this.host = deps.host ?? LOCAL_HOST;
    this.hold = deps.hold ?? noHold;
  }

  private logicalName(name: string): string {
    return logicalVmName(name, this.deps.config.prefix);
  }

  private vmDir(name: string): string {
    return join(this.deps.config.dataDir, "vms", name);
  }

  private consoleLog(name: string): string {
    // virtlogd writes it on the libvirt host: the artifact dir is a folder of this machine.
    const dir = (this.host.remote ? undefined : this.deps.config.artifactDir) ?? join(this.deps.config.dataDir, "console");
    return join(dir, `${this.logicalName(name)}.console`);
  }

  /** Keys whose public key appears in the user-data, so key delete can say BUSY and readiness can log in. */
  private async matchKeys(authorized: readonly string[]): Promise<KeyRecord[]> {
    const wanted = new Set(authorized.map((key) => key.trim().split(/\s+/).slice(0, 2).join(" ")));
    const matched: KeyRecord[] = [];
    for (const name of await this.deps.records.names("keys")) {
      const record = await this.deps.records.read<KeyRecord>("keys", name);
      if (!record) continue;
      try {
        const line = (await readFile(record.publicKeyPath, "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
        if (wanted.has(line)) matched.push(record);
      } catch {
        // key files gone: cannot match
      }
    }
    return matched;
  }

  private async nicInfos(metadata: DomainMetadata): Promise<NicInfo[]> {
    const infos: NicInfo[] = [];
    for (const [index, network] of metadata.networks.entries()) {
      let iface: string | undefined;
      try {
        iface = (await this.deps.networks.attachmentFor(network)).iface;
      } catch {
        iface = undefined; // the network is gone; leases cannot help, ARP still might
      }
      infos.push({ network, mac: metadata.macs[index] ?? "", iface, staticIp: metadata.staticIps[index] ?? undefined });
    }
    return infos;
  }

  /** The VM's state; `xml` is the domain's current XML (uuid, memory and vCPUs come from it). */
  private async stateOf(name: string, metadata: DomainMetadata, ips: (string | undefined)[], xml: string): Promise<VMState> {
    const running = await this.deps.backend.domainRunning(name);
    const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1];
    const size = domainSize(xml);
    const ipMap: Record<string, string> = {};
    const macMap: Record<string, string> = {};
    metadata.networks.forEach((network, index) => {
      const mac = metadata.macs[index];
      if (mac && !(network in macMap)) macMap[network] = mac;
      const ip = ips[index];
      if (ip && !(network in ipMap)) ipMap[network] = ip;
    });
    const ip = ips[0];
    const user = metadata.sshUser;
    const host = this.host;
    // A remote console log is not a path here: its text is read back from the host.
    const consoleOutput = host.remote ? await host.tailText(metadata.consoleLog, REMOTE_CONSOLE_BYTES) : metadata.consoleLog;
    return {
      name,
      status: running ? "running" : "stopped",
      ...(ip ? { ip } : {}),
      ...(metadata.macs[0] ? { mac: metadata.macs[0] } : {}),
      ips: ipMap,
      macs: macMap,
      ...(uuid ? { uuid } : {}),
      consoleOutput,
      ...(ip && user && metadata.privateKeyPath
        ? { sshCommand: `ssh -i ${shellQuote(metadata.privateKeyPath)} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ${shellQuote(user)}@${ip}` }
        : {}),
      ...(user ? { sshUser: user } : {}),
      accelerator: metadata.accelerator,
      ...(metadata.createdAt !== undefined ? { createdAt: metadata.createdAt } : {}),
      providerState: {
        ...(host.remote ? { host: host.name, consoleLog: metadata.consoleLog } : {}),
        disk: metadata.disk,
        ...(metadata.seedIso ? { seedIso: metadata.seedIso } : {}),
        ...(metadata.nvram ? { nvram: metadata.nvram } : {}),
        networks: metadata.networks,
        keys: metadata.keys,
        ...(metadata.privateKeyPath ? { privateKeyPath: metadata.privateKeyPath } : {}),
        ...(size.memoryMiB === undefined ? {} : { memory: size.memoryMiB }),
        ...(size.vcpus === undefined ? {} : { vcpus: size.vcpus }),
      },
    };
  }

  /**
   * Everything a create writes and defines, from the request alone (and what was looked up for it): the
   * metadata, the domain XML's input and the seed files. Create applies it; plan shows it. No clock, no random
   * value: the instance-id is derived from the request, so the bytes are the same each time.
   */
  private blueprint(name: string, request: VMCreateRequest, found: { accelerator: "kvm" | "tcg"; nics: NicAttachment[]; nicInfos: NicInfo[]; keys: KeyRecord[] }): VmBlueprint {
    const spec = request.spec;
    const { accelerator, nics, nicInfos, keys } = found;
    const networks = nicInfos.map((nic) => nic.network);
    const firmware = spec.boot.firmware ?? "bios";
    if (spec.boot.secureBoot && firmware !== "uefi") throw invalidSpec("spec.boot.secureBoot needs firmware uefi");
    const readiness = spec.readiness;
    const plan = planReadiness(readiness);
    const sshUser = readiness?.ssh?.user ?? spec.cloudInit?.users?.[0]?.name;
    const privateKeyPath = readiness?.ssh?.privateKey ?? keys[0]?.privateKeyPath;
    if (plan.wantsSsh && !privateKeyPath) {
      throw invalidSpec("spec.readiness.ssh.privateKey: SSH readiness needs a private key (e.g. {{ .Keys.<name>.PrivateKeyPath }})");
    }
    if (plan.wantsSsh && !sshUser) throw invalidSpec("spec.readiness.ssh.user: SSH readiness needs a user (or a cloud-init user)");
    const dir = this.vmDir(name);
    const consoleLog = this.consoleLog(name);
    const disk = requireDisk(spec.disk);
    const baseImage = disk.baseImage && disk.baseImage !== "" ? disk.baseImage : undefined;
    const wantsSeed = baseImage !== undefined || spec.cloudInit !== undefined;
    const metadata: DomainMetadata = {
      version: 1,
      name,
      ...(this.deps.config.testID ? { testID: this.deps.config.testID } : {}),
      ...(this.deps.config.prefix ? { prefix: this.deps.config.prefix } : {}),
      ...(this.deps.config.stateDir ? { stateDir: this.deps.config.stateDir } : {}),
      accelerator,
      vmDir: dir,
      disk: join(dir, "disk.qcow2"),
      ...(wantsSeed ? { seedIso: join(dir, "seed.iso") } : {}),
      ...(firmware === "uefi" ? { nvram: join(dir, "nvram.fd") } : {}),
      consoleLog,
      networks,
      macs: nicInfos.map((nic) => nic.mac),
      keys: keys.map((key) => key.name),
      ...(sshUser ? { sshUser } : {}),
      ...(privateKeyPath ? { privateKeyPath } : {}),
      staticIps: nicInfos.map((nic) => nic.staticIp ?? null),
      ...(readiness ? { readiness } : {}),
    };
    const hostname = guestHostname(spec.cloudInit, this.logicalName(name));
    const seed = wantsSeed
      ? { metaData: metaData(instanceId(request), hostname), userData: userData(spec.cloudInit, hostname), networkConfig: networkConfig(spec.cloudInit, nicInfos) }
      : undefined;
    const domain: DomainInput = {
      name,
      accelerator,
      memoryMiB: spec.memory,
      vcpus: spec.vcpus,
      machine: this.deps.config.machine,
      cpuModel: this.deps.config.cpuModel,
      firmware,
      secureBoot: spec.boot.secureBoot ?? false,
      nvramPath: metadata.nvram,
      tpm: spec.boot.tpm ?? false,
      bootOrder: spec.boot.order,
      diskPath: metadata.disk,
      seedIsoPath: metadata.seedIso,
      nics,
      consoleLog,
      metadata,
    };
    return { metadata, domain, seed, plan, baseImage };
  }

  /**
   * What create would do, touching nothing: no daemon call, no file, no command. Networks are taken as libvirt
   * networks of that name (a bridge or dnsmasq network attaches by its bridge instead: said in the step); the
   * accelerator is the configured one, or under auto the one the last KVM probe of this boot found.
   */
  async plan(request: VMCreateRequest): Promise<PlannedStep[]> {
    const name = checkResourceName("vm", request.name);
    const spec = request.spec;
    const networks = spec.networks.length > 0 ? spec.networks : spec.network ? [spec.network] : [];
    const nicInfos: NicInfo[] = networks.map((network, index) => {
      const mac = deriveMac(name, index);
      return { network, mac, iface: undefined, staticIp: staticAddress(spec.cloudInit, mac, index) };
    });
    const nics: NicAttachment[] = nicInfos.map((nic) => ({ type: "network", network: nic.network, mac: nic.mac }));
    const probed = this.deps.config.accelerator === "auto" ? await cachedAccelerator() : undefined;
    const accelerator = this.deps.config.accelerator === "auto" ? (probed?.accelerator ?? "tcg") : this.deps.config.accelerator;
    const { metadata, domain, seed, baseImage } = this.blueprint(name, request, { accelerator, nics, nicInfos, keys: [] });
    const steps: PlannedStep[] = [
      {
        action: "note",
        summary:
          this.deps.config.accelerator === "auto"
            ? `accelerator ${accelerator}: ${probed ? `the KVM probe of this boot said: ${probed.reason}` : "not probed yet on this boot; create probes KVM first and uses TCG when it does not work"}`
            : `accelerator ${accelerator} (configured)`,
      },
      { action: "exec", summary: baseImage ? `qcow2 overlay on ${baseImage} (grown to the base's virtual size when that is larger)` : "blank qcow2 disk", argv: diskArgv(metadata.disk, baseImage, requireDisk(spec.disk).size) },
    ];
    if (seed && metadata.seedIso) {
      steps.push({ action: "write", summary: "cloud-init meta-data (instance-id derived from the request)", path: "meta-data", content: seed.metaData });
      steps.push({ action: "write", summary: "cloud-init user-data", path: "user-data", content: seed.userData });
      if (seed.networkConfig !== undefined) steps.push({ action: "write", summary: "cloud-init network-config", path: "network-config", content: seed.networkConfig });
      steps.push({ action: "exec", summary: "NoCloud seed ISO (from a temporary directory)", argv: ["xorriso", "-as", "genisoimage", "-output", metadata.seedIso, "-volid", "cidata", "-joliet", "-rock", "user-data", "meta-data", ...(seed.networkConfig !== undefined ? ["network-config"] : [])] });
    }
    if (metadata.nvram) steps.push({ action: "note", summary: `UEFI firmware chosen by libvirt from the QEMU firmware descriptors${domain.secureBoot ? " (secure boot, enrolled keys)" : ""}; NVRAM at ${metadata.nvram}` });
    if (domain.tpm) steps.push({ action: "note", summary: "TPM 2.0 emulated by swtpm, started by libvirt" });
    steps.push({ action: "define", summary: `domain ${name}, then started; serial console logged to ${metadata.consoleLog}${networks.length > 0 ? "; NICs on libvirt networks (a bridge or dnsmasq network attaches by its bridge)" : ""}`, content: domainXml(domain) });
    return steps;
  }

  async create(request: VMCreateRequest): Promise<VMState> {
    const name = checkResourceName("vm", request.name);
    const spec = request.spec;
    if ((await this.deps.backend.domainXml(name)) !== undefined) throw alreadyExists("vm", name);
    await this.hold("vm-create");
    const networks = spec.networks.length > 0 ? spec.networks : spec.network ? [spec.network] : [];
    const nics: NicAttachment[] = [];
    const nicInfos: NicInfo[] = [];
    for (const [index, network] of networks.entries()) {
      const attachment = await this.deps.networks.attachmentFor(network);
      if (attachment.type === "network") await this.deps.networks.activateForeign(network);
      const mac = deriveMac(name, index);
      if (attachment.type === "network") nics.push({ type: "network", network, mac });
      else if (attachment.iface) nics.push({ type: "bridge", bridge: attachment.iface, mac });
      nicInfos.push({ network, mac, iface: attachment.iface, staticIp: staticAddress(spec.cloudInit, mac, index) });
    }
    const authorized = (spec.cloudInit?.users ?? []).flatMap((user) => user.sshAuthorizedKeys ?? []);
    const keys = await this.matchKeys(authorized);
    const reservations = await this.fixedIpReservations(spec.fixedIPs, nicInfos);
    const accelerator = await this.accelerator();
    const { metadata, domain, seed, plan, baseImage } = this.blueprint(name, request, { accelerator, nics, nicInfos, keys });
    const consoleLog = metadata.consoleLog;
    const dir = metadata.vmDir;

    const started = Date.now();
    const lap = (step: string) => this.deps.log.debug(`vm ${name}: ${step}`, { ms: Date.now() - started });
    let defined = false;
    try {
      const host = this.host;
      if (await host.exists(dir)) await host.remove(dir, { recursive: true }); // leftovers of a crashed create
      await host.makeDir(dir);
      await host.makeDir(join(consoleLog, ".."));
      const base = baseImage !== undefined && this.deps.images ? await this.deps.images.place(baseImage) : baseImage;
      if (base !== baseImage) lap(`base image on ${host.name}: ${base ?? ""}`);
      await createDisk(host, metadata.disk, base, requireDisk(spec.disk).size, `libvirt VM ${name}`);
      lap("disk ready");
      // The reservations record is bookkeeping of this machine, like the provider's records.
      if (host.remote && reservations.length > 0) await mkdir(dir, { recursive: true, mode: 0o755 });
      await reserve(this.deps.backend, dir, reservations, guestHostname(request.spec.cloudInit, this.logicalName(name)));
      if (metadata.seedIso && seed) {
        const seedIso = metadata.seedIso;
        await host.produce(seedIso, (path) => buildSeedIso(seed, path));
        lap("seed ISO ready");
      }
      await this.deps.backend.defineDomain(domainXml(domain));
      defined = true;
      await this.hold("vm-defined");
      await this.deps.backend.startDomain(name);
      lap(`domain started (${accelerator})`);
      await this.hold("vm-started");
    } catch (error) {
      await this.removeEverything(name, metadata, defined);
      throw error;
    }

    const xml = (await this.deps.backend.domainXml(name)) ?? "";
    const ips = await this.waitUntilReady(name, metadata, nicInfos, plan, lap);
    return this.stateOf(name, metadata, ips, xml);
  }

  /**
   * After the domain started (create or vm_start): its addresses, then the readiness checks. Failing, the VM
   * stays as it is (the orchestrator's rollback deletes it; its console log is kept meanwhile).
   */
  private async waitUntilReady(name: string, metadata: DomainMetadata, nicInfos: readonly NicInfo[], plan: ReadinessPlan, lap: (step: string) => void): Promise<(string | undefined)[]> {
    const { spec: readiness, wantsSsh, sshTimeout, tcpTimeout, cloudInitTimeout } = plan;
    const { consoleLog, privateKeyPath, sshUser } = metadata;
    const read = (path: string) => this.host.readText(path);
    // IPs: wait for the first NIC (bounded), then take what the others have by then.
    const ipBudget = wantsSsh ? sshTimeout : readiness?.tcp ? tcpTimeout : (this.deps.ipWaitMs ?? 120_000);
    const ips = await this.waitForIps(name, nicInfos, ipBudget);
    const ip = ips[0];
    lap(`addresses: ${ips.map((a) => a ?? "-").join(", ") || "no NIC"}`);
    try {
      if (wantsSsh || readiness?.tcp) {
        if (!ip) {
          throw await readinessTimeout(`IP address of ${name}`, ipBudget, consoleLog, "no DHCP lease, ARP entry or static address", read);
        }
        const via = await this.jumpHost();
        const target: SshTarget | undefined =
          wantsSsh && privateKeyPath && sshUser ? { host: ip, port: 22, user: sshUser, privateKey: await readPrivateKey(privateKeyPath), ...(via ? { via } : {}) } : undefined;
        if (readiness?.ssh?.enabled && target) {
          await waitForSsh(target, sshTimeout, consoleLog, read);
          lap("ssh ready");
        }
        if (readiness?.tcp) {
          await waitForTcp(ip, readiness.tcp.port, tcpTimeout, consoleLog, { read, ...(via ? { via } : {}) });
          lap(`tcp ${readiness.tcp.port} open`);
        }
        if (readiness?.cloudInit?.enabled && target) {
          await waitForCloudInit(target, cloudInitTimeout, consoleLog, read);
          lap("cloud-init done");
        }
      }
    } catch (error) {
      this.deps.log.warn(`vm ${name} readiness failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      throw error;
    }
    // Readiness took a while: NICs without an address then (a PXE ROM leases only the first) may have one now.
    const final = ips.some((a) => a === undefined) && (wantsSsh || readiness?.tcp) ? await this.waitForIps(name, nicInfos, 10_000) : ips;
    return final.map((a, index) => a ?? ips[index]);
  }

  private async waitForIps(name: string, nics: readonly NicInfo[], budgetMs: number): Promise<(string | undefined)[]> {
    if (nics.length === 0) return [];
    const started = Date.now();
    const pollMs = this.host.remote ? REMOTE_IP_POLL_MS : IP_POLL_MS;
    let fallbacksAt = 0;
    const discover = () => {
      const fallbacks = Date.now() - fallbacksAt >= IP_FALLBACK_EVERY_MS;
      if (fallbacks) fallbacksAt = Date.now();
      return discoverIps(this.deps.backend, this.deps.networks, name, nics, { useStatic: false, fallbacks });
    };
    let ips: (string | undefined)[] = [];
    const outageMs = this.deps.libvirtOutageMs ?? LIBVIRT_OUTAGE_MS;
    let failingSince: number | undefined;
    let outage: ProviderError | undefined;
    // false ends the wait early: a domain that is no longer running will not lease anything, and libvirt that has
    // not answered for outageMs (its daemon died) will not say.
    await retryUntil(async () => {
      ips = await discover();
      // An address the guest configures itself is known now; readiness then waits for the guest to answer on it.
      if (ips[0] !== undefined || nics[0]?.staticIp !== undefined) return true;
      try {
        const running = await this.deps.backend.domainRunning(name);
        failingSince = undefined;
        return running ? undefined : false;
      } catch (error) {
        failingSince ??= Date.now();
        if (Date.now() - failingSince < outageMs) return undefined;
        const detail = error instanceof Error ? error.message : String(error);
        outage = new ProviderError("PROVIDER_ERROR", `waiting for an address of vm ${name}: libvirt has not answered for ${Math.round(outageMs / 1000)} s: ${detail}`, { retryable: true, cause: error });
        return false;
      }
    }, { timeoutMs: budgetMs, intervalMs: pollMs });
    if (outage) throw outage;
    // Secondary NICs get a short grace period; their DHCP usually lands within a second of the first.
    if (ips.some((ip) => ip === undefined)) {
      const graceMs = Math.max(0, Math.min(budgetMs - (Date.now() - started), 5000));
      await retryUntil(async () => {
        ips = await discover();
        return ips.every((ip) => ip !== undefined) ? true : undefined;
      }, { timeoutMs: graceMs, intervalMs: pollMs });
    }
    return ips.map((ip, index) => ip ?? nics[index]?.staticIp);
  }

  private async ours(name: string): Promise<{ metadata: DomainMetadata; xml: string } | undefined> {
    const xml = await this.deps.backend.domainXml(name);
    if (xml === undefined) return undefined;
    const metadata = parseMetadata(xml);
    return metadata ? { metadata, xml } : undefined;
  }

  async get(name: string): Promise<VMState> {
    checkResourceName("vm", name);
    const found = await this.ours(name);
    if (!found) throw notFound("vm", name);
    const nics = await this.nicInfos(found.metadata);
    const ips = await discoverIps(this.deps.backend, this.deps.networks, name, nics, { useStatic: true });
    return this.stateOf(name, found.metadata, ips, found.xml);
  }

  async list(): Promise<VMState[]> {
    const prefix = this.deps.config.prefix;
    const states: VMState[] = [];
    for (const domain of await allDomains(this.deps.backend)) {
      if (!domain.metadata) continue;
      if (prefix && domain.metadata.prefix !== prefix) continue;
      try {
        states.push(await this.get(domain.name));
      } catch (error) {
        if (!(error instanceof ProviderError && error.code === "NOT_FOUND")) throw error;
      }
    }
    return states.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** spec.fixedIPs as DHCP reservations for this VM's NICs, each checked against its network before anything exists. */
  private async fixedIpReservations(fixedIPs: Record<string, string> | undefined, nics: readonly NicInfo[]): Promise<DhcpReservation[]> {
    const reservations: DhcpReservation[] = [];
    for (const [network, ip] of Object.entries(fixedIPs ?? {})) {
      const nic = nics.find((candidate) => candidate.network === network);
      if (nic === undefined) throw invalidSpec(`spec.fixedIPs.${network}: the VM has no NIC on "${network}"; attach it in spec.networks`);
      if (await this.deps.networks.record(network)) {
        throw invalidSpec(`spec.fixedIPs.${network}: "${network}" is a network of this environment; give the address as a DHCP static lease there`);
      }
      const reservation = { network, mac: nic.mac, ip };
      await checkReservation(this.deps.backend, reservation);
      reservations.push(reservation);
    }
    return reservations;
  }

  private async removeEverything(name: string, metadata: DomainMetadata | undefined, defined: boolean): Promise<void> {
    if (defined) {
      await this.deps.backend.destroyDomain(name);
      await this.deps.backend.undefineDomain(name);
    }
    const dir = metadata?.vmDir ?? this.vmDir(name);
    await release(this.deps.backend, dir);
    const host = this.host;
    if (metadata?.disk) await forgetDiskUser(host, metadata.disk);
    const paths = [metadata?.disk, metadata?.seedIso, metadata?.nvram, metadata?.consoleLog ?? this.consoleLog(name)];
    for (const path of paths) if (path) await host.remove(path);
    await host.remove(dir, { recursive: true });
    if (host.remote) await rm(dir, { recursive: true, force: true }); // the reservations record kept here
  }

  async delete(name: string, _force: boolean): Promise<void> {
    checkResourceName("vm", name);
    const xml = await this.deps.backend.domainXml(name);
    const metadata = xml === undefined ? undefined : parseMetadata(xml);
    if (xml !== undefined && !metadata) {
      throw new ProviderError("PERMISSION_DENIED", `domain "${name}" was not created by testenv-vm (no testenv metadata); not deleting it`);
    }
    const leftovers = (await this.host.exists(this.vmDir(name))) || (await this.host.exists(this.consoleLog(name)));
    if (xml === undefined && !leftovers) throw notFound("vm", name);
    if (xml !== undefined) {
      await this.deps.backend.destroyDomain(name);
      await this.hold("vm-delete"); // stopped, still defined, files there
    }
    await this.removeEverything(name, metadata, xml !== undefined);
  }

  /** Powers the domain on with its disks as they are, then waits for the readiness it was created with. */
  async start(request: VMStartRequest): Promise<VMState> {
    const name = checkResourceName("vm", request.name);
    const found = await this.ours(name);
    if (!found) throw notFound("vm", name);
    if (await this.deps.backend.domainRunning(name)) return this.get(name);
    // A network deleted with force since: say so, instead of libvirt's "network not found" from deep inside start.
    for (const network of found.metadata.networks) await this.deps.networks.attachmentFor(network);
    await recordDiskUser(this.host, found.metadata.disk, `libvirt VM ${name}`);
    const started = Date.now();
    const lap = (step: string) => this.deps.log.debug(`vm ${name}: ${step}`, { ms: Date.now() - started });
    await this.deps.backend.startDomain(name);
    lap("domain started again");
    if (!request.waitReady) return this.get(name);
    const ips = await this.waitUntilReady(name, found.metadata, await this.nicInfos(found.metadata), planReadiness(found.metadata.readiness), lap);
    return this.stateOf(name, found.metadata, ips, (await this.deps.backend.domainXml(name)) ?? found.xml);
  }

  /** The testenv metadata of one of our domains; NOT_FOUND otherwise. */
  async metadataOf(name: string): Promise<DomainMetadata> {
    checkResourceName("vm", name);
    const found = await this.ours(name);
    if (!found) throw notFound("vm", name);
    return found.metadata;
  }

  /**
   * The domain runs again from memory saved while it was ready (a snapshot restored), then its state. The login
   * keys, sshd and cloud-init's result are in that memory already, so with waitReady only the way to the guest is
   * checked again: its addresses, then a TCP accept on each port its readiness uses (resumedPorts). An SSH login
   * here would be a second handshake under TCG before the caller's own (docs/performance.md: about 0.4 s).
   */
  async settle(name: string, metadata: DomainMetadata, waitReady: boolean): Promise<VMState> {
    if (!waitReady) return this.get(name);
    const started = Date.now();
    const lap = (step: string) => this.deps.log.debug(`vm ${name}: ${step}`, { ms: Date.now() - started });
    const plan = planReadiness(metadata.readiness);
    const ports = resumedPorts(plan.spec);
    const budgetMs = ports.includes(SSH_PORT) ? plan.sshTimeout : plan.tcpTimeout;
    const read = (path: string) => this.host.readText(path);
    const ips = await this.waitForIps(name, await this.nicInfos(metadata), ports.length > 0 ? budgetMs : (this.deps.ipWaitMs ?? 120_000));
    lap(`addresses: ${ips.map((a) => a ?? "-").join(", ") || "no NIC"}`);
    const ip = ips[0];
    if (ports.length > 0) {
      if (!ip) throw await readinessTimeout(`IP address of ${name}`, budgetMs, metadata.consoleLog, "no DHCP lease, ARP entry or static address", read);
      const via = await this.jumpHost();
      for (const port of ports) {
        await waitForTcp(ip, port, budgetMs, metadata.consoleLog, { read, ...(via ? { via } : {}) });
        lap(`tcp ${port} accepts again`);
      }
    }
    return this.stateOf(name, metadata, ips, (await this.deps.backend.domainXml(name)) ?? "");
  }

  /** Powers the domain off and keeps everything else; the answer says how it went off. */
  async stop(request: VMStopRequest): Promise<VMState> {
    const name = checkResourceName("vm", request.name);
    if (!(await this.ours(name))) throw notFound("vm", name);
    const stopMethod = await powerOffDomain(this.deps.backend, this.deps.log, name, request);
    return { ...(await this.get(name)), stopMethod };
  }

  /** The KVM probe runs QEMU here, which says nothing of a remote host: there auto means TCG (configure kvm to use it). */
  private async accelerator(): Promise<"kvm" | "tcg"> {
    const configured = this.deps.config.accelerator;
    if (!this.host.remote) return chooseAccelerator(configured, this.deps.log);
    if (configured === "auto") this.deps.log.info(`accelerator auto on ${this.host.name}: TCG (set accelerator kvm when that host has KVM)`);
    return configured === "auto" ? "tcg" : configured;
  }

  /** On a remote host, readiness reaches the guest through the host's sshd: its network is that host's. */
  private jumpHost(): Promise<JumpHost | undefined> {
    const remote = this.deps.config.remote;
    if (!remote) return Promise.resolve(undefined);
    this.jump ??= (async () => {
      if (!remote.key) throw invalidSpec(`providers[].config.ssh.key: readiness on ${this.host.name} goes through that host and needs its private key file`);
      const privateKey = await readFile(remote.key, "utf8");
      const knownHosts = remote.knownHosts ? await readFile(remote.knownHosts, "utf8") : undefined;
      return { host: remote.host, port: remote.port, user: remote.user, privateKey, knownHosts };
    })();
    return this.jump;
  }

  handlers(): VMHandlers {
    return {
      create: (request) => this.create(request),
      get: (name) => this.get(name),
      list: () => this.list(),
      delete: (name, force) => this.delete(name, force),
      start: (request) => this.start(request),
      stop: (request) => this.stop(request),
    };
  }
}

interface VmBlueprint {
  metadata: DomainMetadata;
  domain: DomainInput;
  seed: SeedFiles | undefined;
  plan: ReadinessPlan;
  baseImage: string | undefined;
}

/** The seed's instance-id: a new one for a changed request, the same one for the same request (no random part). */
function instanceId(request: VMCreateRequest): string {
  return `${request.name}-${createHash("sha256").update(JSON.stringify(request)).digest("hex").slice(0, 16)}`;
}

export { shellQuote } from "./shell-quote.js";

/** How much of a remote VM's console log its state carries (the log itself stays on that host). */
const REMOTE_CONSOLE_BYTES = 64 * 1024;

async function readPrivateKey(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw invalidSpec(`spec.readiness.ssh.privateKey: cannot read ${path} (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** A libvirt VM always has a root disk; a spec without one (a container's) belongs on a container provider. */
function requireDisk(disk: VMCreateRequest["spec"]["disk"]): NonNullable<VMCreateRequest["spec"]["disk"]> {
  if (disk === undefined) throw invalidSpec("spec.disk: a libvirt VM needs a disk (size, and baseImage unless it boots from the network)");
  return disk;
}
