import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandError } from "./exec.js";
import { ProviderError } from "../kit/index.js";
import type { Logger } from "../../lib/log.js";
import { retryUntil } from "../../lib/retry.js";
import { LIBVIRT_OUTAGE_MS, runVirsh, type LibvirtConnection } from "./connection.js";

// The one seam between the provider and libvirt. Domains go through @unraid/libvirt (N-API) when it
// loads; networks, leases, interface addresses and undefine-with-nvram go through virsh, which the
// binding does not cover. Tests of the pure parts never touch this.

export interface Lease {
  mac: string;
  ip: string;
  hostname?: string;
}

export interface InterfaceAddress {
  mac: string;
  ip: string;
}

export type AddressSource = "lease" | "arp" | "agent";

export interface LibvirtBackend {
  readonly uri: string;
  /** Domain names, running or not. */
  listDomains(): Promise<string[]>;
  /** The domain's XML, or undefined when no such domain exists. */
  domainXml(name: string): Promise<string | undefined>;
  domainRunning(name: string): Promise<boolean>;
  defineDomain(xml: string): Promise<void>;
  startDomain(name: string): Promise<void>;
  /** Asks the guest to power off (ACPI power button) and returns at once; fine when it is not running. */
  shutdownDomain(name: string): Promise<void>;
  /** Stops the domain hard; fine when it is not running. */
  destroyDomain(name: string): Promise<void>;
  /** Removes the definition, its NVRAM and TPM state; fine when it does not exist. */
  undefineDomain(name: string): Promise<void>;
  domainAddresses(name: string, source: AddressSource): Promise<InterfaceAddress[]>;

  listNetworks(): Promise<string[]>;
  networkXml(name: string): Promise<string | undefined>;
  networkActive(name: string): Promise<boolean>;
  defineNetwork(xml: string): Promise<void>;
  startNetwork(name: string): Promise<void>;
  destroyNetwork(name: string): Promise<void>;
  undefineNetwork(name: string): Promise<void>;
  networkLeases(name: string): Promise<Lease[]>;
  /** Adds a `<host>` to the network's DHCP, live (when active) and persistent. */
  addDhcpHost(network: string, hostXml: string): Promise<void>;
  /** Removes the matching `<host>` from the network's DHCP, live (when active) and persistent. */
  removeDhcpHost(network: string, hostXml: string): Promise<void>;
  close(): Promise<void>;
}

const NOT_FOUND_PATTERNS = [/not found/i, /no domain with matching/i, /no network with matching/i, /failed to get (domain|network)/i];
const NOT_RUNNING_PATTERNS = [/not running/i, /is not active/i, /domain is not running/i];
const ALREADY_ACTIVE_PATTERNS = [/is already running/i, /is already active/i];
const GONE_OR_STOPPED_PATTERNS = [...NOT_FOUND_PATTERNS, ...NOT_RUNNING_PATTERNS];
/**
 * libvirt's words for a connection the daemon closed (it restarted or died): the binding's connection answers every
 * later call so ("client socket is closed"), and a call in flight then may or may not have happened.
 */
const CONNECTION_LOST_PATTERNS = [/client socket is closed/i, /end of file while reading data/i, /cannot (?:recv|write) data/i, /connection reset by peer/i, /broken pipe/i];
/** No daemon answered at all (it is starting again): nothing ran. */
const DAEMON_DOWN_PATTERNS = [/failed to connect socket/i, /failed to connect to the hypervisor/i];

function matches(error: unknown, patterns: readonly RegExp[]): boolean {
  const text = error instanceof CommandError ? `${error.stderr} ${error.message}` : error instanceof Error ? error.message : String(error);
  return patterns.some((pattern) => pattern.test(text));
}

/** libvirt went away: the connection was closed under a call, or no daemon answered. */
function isOutage(error: unknown): boolean {
  return matches(error, CONNECTION_LOST_PATTERNS) || matches(error, DAEMON_DOWN_PATTERNS);
}

function libvirtError(what: string, error: unknown): ProviderError {
  const message = error instanceof Error ? error.message : String(error);
  // Already ours (the remote host could not be reached): keep its code, retryable and details.
  if (error instanceof ProviderError) return new ProviderError(error.code, `${what}: ${message}`, { retryable: error.retryable, ...(error.details ? { details: error.details } : {}), cause: error });
  if (/permission denied|access denied|authentication/i.test(message)) {
    return new ProviderError("PERMISSION_DENIED", `${what}: ${message}; run as root or use a libvirt URI you may manage`, { cause: error });
  }
  if (CONNECTION_LOST_PATTERNS.some((pattern) => pattern.test(message))) {
    return new ProviderError("PROVIDER_ERROR", `${what}: libvirt's connection was lost (${message}); libvirtd restarted or stopped`, { retryable: true, cause: error });
  }
  if (/failed to connect|no such file or directory.*sock/i.test(message)) {
    return new ProviderError("PROVIDER_ERROR", `${what}: libvirt is not reachable (${message}); start libvirtd or set TESTENV_VM_LIBVIRT_URI`, {
      retryable: true,
      cause: error,
    });
  }
  return new ProviderError("PROVIDER_ERROR", `${what}: ${message}`, { cause: error });
}

/** Parses `virsh net-dhcp-leases` tables: Expiry Time, MAC, Protocol, IP/prefix, Hostname, Client ID. */
export function parseLeaseTable(output: string): Lease[] {
  const leases: Lease[] = [];
  for (const line of output.split("\n")) {
    const mac = /\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i.exec(line)?.[1];
    const ip = /\b(\d{1,3}(?:\.\d{1,3}){3})\/\d+/.exec(line)?.[1];
    if (!mac || !ip) continue;
    const hostname = line.trim().split(/\s+/)[5]; // date, time, MAC, protocol, address, hostname, client id
    leases.push({ mac: mac.toLowerCase(), ip, ...(hostname && hostname !== "-" ? { hostname } : {}) });
  }
  return leases;
}

/** Parses `virsh domifaddr` tables: Name, MAC address, Protocol, Address. */
export function parseDomifaddr(output: string): InterfaceAddress[] {
  const result: InterfaceAddress[] = [];
  let lastMac: string | undefined;
  for (const line of output.split("\n")) {
    const mac = /\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i.exec(line)?.[1];
    if (mac) lastMac = mac.toLowerCase();
    const ip = /ipv4\s+(\d{1,3}(?:\.\d{1,3}){3})\//.exec(line)?.[1];
    if (ip && lastMac && !ip.startsWith("127.")) result.push({ mac: lastMac, ip });
  }
  return result;
}

interface NativeDomain {
  getXMLDesc(flags?: number): Promise<string>;
  getInfo(): Promise<{ state: number }>;
  getName(): Promise<string>;
  create(): Promise<void>;
  shutdown(): Promise<void>;
  destroy(): Promise<void>;
}

interface NativeHypervisor {
  connectOpen(): Promise<void>;
  connectClose(): Promise<void>;
  connectListAllDomains(flags?: number): Promise<NativeDomain[]>;
  domainLookupByName(name: string): Promise<NativeDomain>;
  domainDefineXML(xml: string): Promise<NativeDomain>;
}

// running, blocked, paused, shutting down (the guest still runs), pmsuspended; as virsh's domstate list below.
const RUNNING_STATES = new Set([1, 2, 3, 4, 7]);

/** What a call may do again when libvirt went away under it: a repeatable call is retried once libvirt is back. */
type Repeat = "repeatable" | "once";

type BindingModule = { Hypervisor: new (options: { uri: string }) => NativeHypervisor };

export interface BackendOptions {
  /** Use the N-API binding for domains (tests turn it off to exercise the virsh path). */
  useBinding?: boolean;
  /** How long a call waits for libvirt to come back after it lost its connection or found no daemon. */
  outageMs?: number;
  /** Loads @unraid/libvirt (tests pass a fake binding). */
  loadBinding?: () => Promise<BindingModule>;
}

export class DefaultLibvirtBackend implements LibvirtBackend {
  private hypervisor: Promise<NativeHypervisor | undefined> | undefined;
  /** The binding does not load or cannot be used here: virsh does everything. */
  private bindingMissing: boolean;
  /** libvirt answered this process once: a daemon that is gone later is waited for (it restarts), never before. */
  private reached = false;
  /** When the current outage began (a call found libvirt gone); undefined while libvirt answers. */
  private outageSince: number | undefined;
  private readonly outageMs: number;
  private readonly loadBinding: () => Promise<BindingModule>;

  readonly uri: string;

  constructor(
    private readonly connection: LibvirtConnection,
    private readonly log: Logger,
    options: BackendOptions = {},
  ) {
    this.uri = connection.uri;
    this.bindingMissing = options.useBinding === false;
    this.outageMs = options.outageMs ?? LIBVIRT_OUTAGE_MS;
    this.loadBinding = options.loadBinding ?? (async () => (await import("@unraid/libvirt")));
  }

  /** virsh reads XML from a file only (a pipe as /dev/stdin is refused). */
  private async virshWithXml(command: string, xml: string): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "testenv-vm-xml-"));
    try {
      const file = join(dir, "object.xml");
      await writeFile(file, xml, { mode: 0o600 });
      await this.virsh([command, file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private virsh(args: readonly string[], timeoutMs = 60_000): Promise<string> {
    return runVirsh(this.connection, args, { timeoutMs }).then((result) => result.stdout);
  }

  /** The N-API connection, or undefined when the binding does not load here (then virsh does everything). */
  private native(): Promise<NativeHypervisor | undefined> {
    if (this.bindingMissing) return Promise.resolve(undefined);
    this.hypervisor ??= this.openNative().catch((error: unknown) => {
      this.hypervisor = undefined; // the daemon may answer the next time
      throw error;
    });
    return this.hypervisor;
  }

  private async openNative(): Promise<NativeHypervisor | undefined> {
    const uri = await this.connection.open();
    let hypervisor: NativeHypervisor;
    try {
      hypervisor = new (await this.loadBinding()).Hypervisor({ uri });
      await hypervisor.connectOpen();
    } catch (error) {
      if (isOutage(error)) throw libvirtError("connecting to libvirt", error);
      this.log.warn(`@unraid/libvirt unavailable, using virsh for domains: ${error instanceof Error ? error.message : String(error)}`);
      this.bindingMissing = true;
      return undefined;
    }
    return hypervisor;
  }

  /** Forgets a connection libvirt closed; the next call opens a new one. */
  private dropNative(): void {
    const dead = this.hypervisor;
    this.hypervisor = undefined;
    void dead?.then((hypervisor) => hypervisor?.connectClose()).catch(() => undefined);
  }

  /**
   * Runs a call against libvirt, riding out a daemon restart: a lost connection is dropped (the next call reopens
   * it), and while the outage lasts the call runs again when nothing of it can have happened (no daemon answered) or
   * when running it again is harmless (repeatable). One outage is waited for at most outageMs in all, however many
   * calls meet it (a host that is gone fails every later call at once); a daemon never reached is not waited for.
   */
  private async resilient<T>(what: string, repeat: Repeat, call: () => Promise<T>): Promise<T> {
    const mayRetry = (error: unknown): boolean => {
      const lost = matches(error, CONNECTION_LOST_PATTERNS);
      if (lost) this.dropNative();
      if (!this.reached) return false;
      return lost ? repeat === "repeatable" : matches(error, DAEMON_DOWN_PATTERNS);
    };
    try {
      const value = await call();
      this.answered();
      return value;
    } catch (error) {
      if (!mayRetry(error)) throw error;
      this.outageSince ??= Date.now();
      const leftMs = this.outageMs - (Date.now() - this.outageSince);
      if (leftMs <= 0) throw error;
      this.log.warn(`${what}: libvirt went away (${error instanceof Error ? error.message : String(error)}); waiting up to ${Math.ceil(leftMs / 1000)} s for it to come back`);
      const outcome = await retryUntil(async () => ({ value: await call() }), { timeoutMs: leftMs, intervalMs: 250, backoff: 2, maxIntervalMs: 2000, retryable: mayRetry });
      if (!outcome.ok) throw outcome.lastError;
      this.log.info(`${what}: libvirt answers again`);
      this.answered();
      return outcome.value.value;
    }
  }

  private answered(): void {
    this.reached = true;
    this.outageSince = undefined;
  }

  /**
   * A repeatable call to libvirt, its failure named by `what`. An error matching `settled` means the call has
   * nothing to do (not found, not running, already active): that is the answer `settledValue`, not a failure.
   */
  private repeatable<T>(what: string, body: () => Promise<T>, settled?: { patterns: readonly RegExp[]; value: T }): Promise<T> {
    return this.resilient(what, "repeatable", async () => {
      try {
        return await body();
      } catch (error) {
        if (settled && matches(error, settled.patterns)) return settled.value;
        throw libvirtError(what, error);
      }
    });
  }

  private async lookup(name: string): Promise<NativeDomain | undefined> {
    const hypervisor = await this.native();
    if (!hypervisor) return undefined;
    try {
      return await hypervisor.domainLookupByName(name);
    } catch (error) {
      if (matches(error, NOT_FOUND_PATTERNS)) return undefined;
      throw libvirtError(`looking up domain ${name}`, error);
    }
  }

  listDomains(): Promise<string[]> {
    return this.repeatable("listing domains", async () => {
      const hypervisor = await this.native();
      if (hypervisor) return await Promise.all((await hypervisor.connectListAllDomains()).map((d) => d.getName()));
      return (await this.virsh(["list", "--all", "--name"])).split("\n").map((l) => l.trim()).filter(Boolean);
    });
  }

  domainXml(name: string): Promise<string | undefined> {
    return this.repeatable(
      `reading domain ${name}`,
      async () => {
        if (await this.native()) return await (await this.lookup(name))?.getXMLDesc(0);
        return await this.virsh(["dumpxml", name]);
      },
      { patterns: NOT_FOUND_PATTERNS, value: undefined },
    );
  }

  domainRunning(name: string): Promise<boolean> {
    return this.repeatable(
      `reading state of domain ${name}`,
      async () => {
        if (await this.native()) {
          const domain = await this.lookup(name);
          return domain ? RUNNING_STATES.has((await domain.getInfo()).state) : false;
        }
        const state = (await this.virsh(["domstate", name])).trim();
        return ["running", "paused", "idle", "in shutdown", "pmsuspended"].includes(state);
      },
      { patterns: NOT_FOUND_PATTERNS, value: false },
    );
  }

  defineDomain(xml: string): Promise<void> {
    return this.repeatable("defining domain", async () => {
      const hypervisor = await this.native();
      if (hypervisor) await hypervisor.domainDefineXML(xml);
      else await this.virshWithXml("define", xml);
    });
  }

  startDomain(name: string): Promise<void> {
    return this.repeatable(
      `starting domain ${name}`,
      async () => {
        const domain = await this.lookup(name);
        if (domain) await domain.create();
        else await this.virsh(["start", name], 120_000);
      },
      // A start repeated after a lost connection finds the first one done.
      { patterns: ALREADY_ACTIVE_PATTERNS, value: undefined },
    );
  }

  shutdownDomain(name: string): Promise<void> {
    return this.repeatable(
      `shutting down domain ${name}`,
      async () => {
        const domain = await this.lookup(name);
        if (domain) await domain.shutdown();
        else await this.virsh(["shutdown", name]);
      },
      { patterns: NOT_RUNNING_PATTERNS, value: undefined },
    );
  }

  destroyDomain(name: string): Promise<void> {
    return this.repeatable(
      `stopping domain ${name}`,
      async () => {
        const domain = await this.lookup(name);
        if (domain) await domain.destroy();
        else await this.virsh(["destroy", name]);
      },
      { patterns: GONE_OR_STOPPED_PATTERNS, value: undefined },
    );
  }

  undefineDomain(name: string): Promise<void> {
    return this.resilient(`undefining domain ${name}`, "repeatable", async () => {
      try {
        // The binding's undefine takes no flags; a UEFI domain refuses to go without --nvram.
        await this.virsh(["undefine", name, "--nvram", "--tpm"]);
      } catch (error) {
        if (matches(error, NOT_FOUND_PATTERNS)) return;
        // Older libvirt without --tpm support.
        if (/--tpm/.test(error instanceof Error ? error.message : "")) {
          await this.virsh(["undefine", name, "--nvram"]).catch((e: unknown) => {
            if (!matches(e, NOT_FOUND_PATTERNS)) throw libvirtError(`undefining domain ${name}`, e);
          });
          return;
        }
        throw libvirtError(`undefining domain ${name}`, error);
      }
    });
  }

  async domainAddresses(name: string, source: AddressSource): Promise<InterfaceAddress[]> {
    try {
      return parseDomifaddr(await this.virsh(["domifaddr", name, "--source", source], 15_000));
    } catch {
      // No agent, no ARP entry yet, or the domain is gone: simply no answer from this source.
      return [];
    }
  }

  listNetworks(): Promise<string[]> {
    return this.repeatable("listing networks", async () => (await this.virsh(["net-list", "--all", "--name"])).split("\n").map((l) => l.trim()).filter(Boolean));
  }

  networkXml(name: string): Promise<string | undefined> {
    return this.repeatable(`reading network ${name}`, () => this.virsh(["net-dumpxml", name]), { patterns: NOT_FOUND_PATTERNS, value: undefined });
  }

  networkActive(name: string): Promise<boolean> {
    return this.repeatable(`reading network ${name}`, async () => /^Active:\s+yes/m.test(await this.virsh(["net-info", name])), { patterns: NOT_FOUND_PATTERNS, value: false });
  }

  defineNetwork(xml: string): Promise<void> {
    return this.repeatable("defining network", () => this.virshWithXml("net-define", xml));
  }

  startNetwork(name: string): Promise<void> {
    return this.repeatable(`starting network ${name}`, async () => void (await this.virsh(["net-start", name])), { patterns: ALREADY_ACTIVE_PATTERNS, value: undefined });
  }

  destroyNetwork(name: string): Promise<void> {
    return this.repeatable(`stopping network ${name}`, async () => void (await this.virsh(["net-destroy", name])), { patterns: GONE_OR_STOPPED_PATTERNS, value: undefined });
  }

  undefineNetwork(name: string): Promise<void> {
    return this.repeatable(`undefining network ${name}`, async () => void (await this.virsh(["net-undefine", name])), { patterns: NOT_FOUND_PATTERNS, value: undefined });
  }

  async networkLeases(name: string): Promise<Lease[]> {
    try {
      return parseLeaseTable(await this.virsh(["net-dhcp-leases", name], 15_000));
    } catch {
      return [];
    }
  }

  private updateDhcpHost(action: "add-last" | "delete", network: string, hostXml: string): Promise<void> {
    return this.resilient(`updating the DHCP hosts of network ${network}`, "once", async () => {
      const scope = (await this.networkActive(network)) ? ["--live", "--config"] : ["--config"];
      try {
        await this.virsh(["net-update", network, action, "ip-dhcp-host", hostXml, ...scope]);
      } catch (error) {
        throw libvirtError(`${action === "delete" ? "removing" : "adding"} the DHCP host entry ${hostXml} on network ${network}`, error);
      }
    });
  }

  addDhcpHost(network: string, hostXml: string): Promise<void> {
    return this.updateDhcpHost("add-last", network, hostXml);
  }

  removeDhcpHost(network: string, hostXml: string): Promise<void> {
    return this.updateDhcpHost("delete", network, hostXml);
  }

  async close(): Promise<void> {
    const hypervisor = await this.hypervisor;
    await hypervisor?.connectClose().catch(() => undefined);
  }
}
