import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandError } from "./exec.js";
import { ProviderError } from "../kit/index.js";
import type { Logger } from "../../lib/log.js";
import { runVirsh, type LibvirtConnection } from "./connection.js";

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

function matches(error: unknown, patterns: readonly RegExp[]): boolean {
  const text = error instanceof CommandError ? `${error.stderr} ${error.message}` : error instanceof Error ? error.message : String(error);
  return patterns.some((pattern) => pattern.test(text));
}

function libvirtError(what: string, error: unknown): ProviderError {
  const message = error instanceof Error ? error.message : String(error);
  // Already ours (the remote host could not be reached): keep its code, retryable and details.
  if (error instanceof ProviderError) return new ProviderError(error.code, `${what}: ${message}`, { retryable: error.retryable, ...(error.details ? { details: error.details } : {}), cause: error });
  if (/permission denied|access denied|authentication/i.test(message)) {
    return new ProviderError("PERMISSION_DENIED", `${what}: ${message}; run as root or use a libvirt URI you may manage`, { cause: error });
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

export class DefaultLibvirtBackend implements LibvirtBackend {
  private hypervisor: Promise<NativeHypervisor | undefined> | undefined;

  readonly uri: string;

  constructor(
    private readonly connection: LibvirtConnection,
    private readonly log: Logger,
    /** Use the N-API binding for domains (tests turn it off to exercise the virsh path). */
    private readonly useBinding = true,
  ) {
    this.uri = connection.uri;
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
    this.hypervisor ??= (async () => {
      if (!this.useBinding) return undefined;
      let uri: string;
      try {
        uri = await this.connection.open();
      } catch (error) {
        this.hypervisor = undefined; // the host may answer the next time
        throw error;
      }
      try {
        const module = (await import("@unraid/libvirt")) as unknown as { Hypervisor: new (options: { uri: string }) => NativeHypervisor };
        const hypervisor = new module.Hypervisor({ uri });
        await hypervisor.connectOpen();
        return hypervisor;
      } catch (error) {
        this.log.warn(`@unraid/libvirt unavailable, using virsh for domains: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }
    })();
    return this.hypervisor;
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

  async listDomains(): Promise<string[]> {
    const hypervisor = await this.native();
    try {
      if (hypervisor) return await Promise.all((await hypervisor.connectListAllDomains()).map((d) => d.getName()));
      return (await this.virsh(["list", "--all", "--name"])).split("\n").map((l) => l.trim()).filter(Boolean);
    } catch (error) {
      throw libvirtError("listing domains", error);
    }
  }

  async domainXml(name: string): Promise<string | undefined> {
    const hypervisor = await this.native();
    try {
      if (hypervisor) {
        const domain = await this.lookup(name);
        return domain ? await domain.getXMLDesc(0) : undefined;
      }
      return await this.virsh(["dumpxml", name]);
    } catch (error) {
      if (matches(error, NOT_FOUND_PATTERNS)) return undefined;
      throw libvirtError(`reading domain ${name}`, error);
    }
  }

  async domainRunning(name: string): Promise<boolean> {
    const hypervisor = await this.native();
    try {
      if (hypervisor) {
        const domain = await this.lookup(name);
        return domain ? RUNNING_STATES.has((await domain.getInfo()).state) : false;
      }
      const state = (await this.virsh(["domstate", name])).trim();
      return ["running", "paused", "idle", "in shutdown", "pmsuspended"].includes(state);
    } catch (error) {
      if (matches(error, NOT_FOUND_PATTERNS)) return false;
      throw libvirtError(`reading state of domain ${name}`, error);
    }
  }

  async defineDomain(xml: string): Promise<void> {
    const hypervisor = await this.native();
    try {
      if (hypervisor) await hypervisor.domainDefineXML(xml);
      else await this.virshWithXml("define", xml);
    } catch (error) {
      throw libvirtError("defining domain", error);
    }
  }

  async startDomain(name: string): Promise<void> {
    try {
      const domain = await this.lookup(name);
      if (domain) await domain.create();
      else await this.virsh(["start", name], 120_000);
    } catch (error) {
      throw libvirtError(`starting domain ${name}`, error);
    }
  }

  async shutdownDomain(name: string): Promise<void> {
    try {
      const domain = await this.lookup(name);
      if (domain) await domain.shutdown();
      else await this.virsh(["shutdown", name]);
    } catch (error) {
      if (matches(error, NOT_RUNNING_PATTERNS)) return;
      throw libvirtError(`shutting down domain ${name}`, error);
    }
  }

  async destroyDomain(name: string): Promise<void> {
    try {
      const domain = await this.lookup(name);
      if (domain) await domain.destroy();
      else await this.virsh(["destroy", name]);
    } catch (error) {
      if (matches(error, NOT_FOUND_PATTERNS) || matches(error, NOT_RUNNING_PATTERNS)) return;
      throw libvirtError(`stopping domain ${name}`, error);
    }
  }

  async undefineDomain(name: string): Promise<void> {
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
  }

  async domainAddresses(name: string, source: AddressSource): Promise<InterfaceAddress[]> {
    try {
      return parseDomifaddr(await this.virsh(["domifaddr", name, "--source", source], 15_000));
    } catch {
      // No agent, no ARP entry yet, or the domain is gone: simply no answer from this source.
      return [];
    }
  }

  async listNetworks(): Promise<string[]> {
    try {
      return (await this.virsh(["net-list", "--all", "--name"])).split("\n").map((l) => l.trim()).filter(Boolean);
    } catch (error) {
      throw libvirtError("listing networks", error);
    }
  }

  async networkXml(name: string): Promise<string | undefined> {
    try {
      return await this.virsh(["net-dumpxml", name]);
    } catch (error) {
      if (matches(error, NOT_FOUND_PATTERNS)) return undefined;
      throw libvirtError(`reading network ${name}`, error);
    }
  }

  async networkActive(name: string): Promise<boolean> {
    try {
      const info = await this.virsh(["net-info", name]);
      return /^Active:\s+yes/m.test(info);
    } catch (error) {
      if (matches(error, NOT_FOUND_PATTERNS)) return false;
      throw libvirtError(`reading network ${name}`, error);
    }
  }

  async defineNetwork(xml: string): Promise<void> {
    try {
      await this.virshWithXml("net-define", xml);
    } catch (error) {
      throw libvirtError("defining network", error);
    }
  }

  async startNetwork(name: string): Promise<void> {
    try {
      await this.virsh(["net-start", name]);
    } catch (error) {
      throw libvirtError(`starting network ${name}`, error);
    }
  }

  async destroyNetwork(name: string): Promise<void> {
    try {
      await this.virsh(["net-destroy", name]);
    } catch (error) {
      if (matches(error, NOT_FOUND_PATTERNS) || matches(error, NOT_RUNNING_PATTERNS)) return;
      throw libvirtError(`stopping network ${name}`, error);
    }
  }

  async undefineNetwork(name: string): Promise<void> {
    try {
      await this.virsh(["net-undefine", name]);
    } catch (error) {
      if (matches(error, NOT_FOUND_PATTERNS)) return;
      throw libvirtError(`undefining network ${name}`, error);
    }
  }

  async networkLeases(name: string): Promise<Lease[]> {
    try {
      return parseLeaseTable(await this.virsh(["net-dhcp-leases", name], 15_000));
    } catch {
      return [];
    }
  }

  private async updateDhcpHost(action: "add-last" | "delete", network: string, hostXml: string): Promise<void> {
    const scope = (await this.networkActive(network)) ? ["--live", "--config"] : ["--config"];
    try {
      await this.virsh(["net-update", network, action, "ip-dhcp-host", hostXml, ...scope]);
    } catch (error) {
      throw libvirtError(`${action === "delete" ? "removing" : "adding"} the DHCP host entry ${hostXml} on network ${network}`, error);
    }
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
