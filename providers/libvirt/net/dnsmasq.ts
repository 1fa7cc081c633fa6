import { LOCAL_HOST, type LibvirtHost } from "../host.js";
import { readIdentityOn, stopProcessOn } from "../host-process.js";
import type { ProcessIdentity } from "../../../lib/process-identity.js";
import { retryUntil } from "../../../lib/retry.js";
import { ProviderError } from "../../kit/index.js";
import type { NetworkPlan } from "./plan.js";

// A standalone dnsmasq serving an existing bridge. It daemonizes, so it outlives the provider process;
// what identifies it (pid + process start time + argv) is recorded so a later process can stop exactly it.

export interface DnsmasqFiles {
  pidFile: string;
  leaseFile: string;
  logFile: string;
}

export interface DnsmasqInput {
  iface: string;
  plan: NetworkPlan;
  files: DnsmasqFiles;
  /**
   * Send IPv6 router advertisements (the bridge needs an IPv6 address). QEMU's iPXE ROM otherwise waits
   * ~16 s for an IPv6 router before it fetches its boot file.
   */
  routerAdvertisements?: boolean;
}

export function dnsmasqArgv(input: DnsmasqInput): string[] {
  const { plan, files } = input;
  const ip = plan.ip;
  if (!ip) throw new ProviderError("INVALID_SPEC", "a dnsmasq network needs spec.cidr");
  const args = [
    "--conf-file=/dev/null", // never pick up /etc/dnsmasq.conf or /etc/dnsmasq.d
    "--bind-interfaces",
    `--interface=${input.iface}`,
    "--except-interface=lo",
    `--pid-file=${files.pidFile}`,
    `--dhcp-leasefile=${files.leaseFile}`,
    `--log-facility=${files.logFile}`,
    "--log-dhcp",
    "--no-hosts",
    "--no-ping",
  ];
  const dns = plan.dns;
  if (dns) {
    args.push(`--listen-address=${ip.gateway}`);
    if (dns.servers.length > 0) args.push("--no-resolv", ...dns.servers.map((server) => `--server=${server}`));
    else args.push("--no-resolv");
    for (const host of dns.hosts) args.push(`--host-record=${host.hostname},${host.ip}`);
    if (dns.domain) args.push(`--domain=${dns.domain}`, `--local=/${dns.domain}/`);
  } else {
    args.push("--port=0"); // no DNS
  }
  const dhcp = plan.dhcp;
  if (dhcp) {
    const lease = dhcp.leaseSeconds === undefined ? "1h" : `${dhcp.leaseSeconds}`;
    args.push(`--dhcp-range=${dhcp.start},${dhcp.end},${ip.netmask},${lease}`, "--dhcp-authoritative");
    for (const host of dhcp.hosts) args.push(`--dhcp-host=${[host.mac, host.ip, host.hostname].filter(Boolean).join(",")}`);
    args.push(`--dhcp-option=option:router,${dhcp.router ?? ip.gateway}`);
    const dnsServers = dhcp.dnsServers.length > 0 ? dhcp.dnsServers : dns ? [ip.gateway] : [];
    if (dnsServers.length > 0) args.push(`--dhcp-option=option:dns-server,${dnsServers.join(",")}`);
    else args.push("--dhcp-option=option:dns-server"); // send none rather than dnsmasq's own (disabled) DNS
    const domain = dhcp.domain ?? dns?.domain;
    if (domain) args.push(`--dhcp-option=option:domain-name,${domain}`);
  }
  if (input.routerAdvertisements) args.push("--enable-ra", `--dhcp-range=::,constructor:${input.iface},ra-only`);
  const tftp = plan.tftp;
  if (tftp && dhcp) {
    const server = dhcp.nextServer;
    args.push("--enable-tftp", `--tftp-root=${tftp.root}`);
    args.push("--dhcp-match=set:efi64,option:client-arch,7", "--dhcp-match=set:efi64,option:client-arch,9");
    const notIpxe: string[] = [];
    if (tftp.ipxeScript) {
      // A client that already runs iPXE (QEMU's NIC ROMs do) gets the script; others get the boot loader.
      args.push("--dhcp-match=set:ipxe,175", "--dhcp-option=encap:175,176,1b", `--dhcp-boot=tag:ipxe,${tftp.ipxeScript},,${server}`);
      notIpxe.push("tag:!ipxe");
    }
    if (tftp.bootFileEfi) args.push(`--dhcp-boot=${[...notIpxe, "tag:efi64", tftp.bootFileEfi].join(",")},,${server}`);
    if (tftp.bootFile) args.push(`--dhcp-boot=${[...notIpxe, ...(tftp.bootFileEfi ? ["tag:!efi64"] : []), tftp.bootFile].join(",")},,${server}`);
  }
  return args;
}

export { readIdentity, sameProcess, type ProcessIdentity } from "../../../lib/process-identity.js";

async function readPidFile(host: LibvirtHost, path: string): Promise<number | undefined> {
  try {
    const pid = Number((await host.readText(path)).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Starts dnsmasq (it daemonizes) and returns who it is once its pid file names a live process. */
export async function startDnsmasq(binary: string, argv: readonly string[], pidFile: string, host: LibvirtHost = LOCAL_HOST): Promise<ProcessIdentity> {
  await host.remove(pidFile);
  try {
    await host.run(binary, argv, { timeoutMs: 30_000 });
  } catch (error) {
    throw new ProviderError("PROVIDER_ERROR", `dnsmasq did not start: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const started = await retryUntil(async () => {
    const pid = await readPidFile(host, pidFile);
    return pid === undefined ? undefined : await readIdentityOn(host, pid);
  }, { timeoutMs: 5000, intervalMs: 100 });
  if (started.ok) return started.value;
  throw new ProviderError("PROVIDER_ERROR", `dnsmasq started but wrote no usable pid file at ${pidFile}`);
}

/** Stops the recorded dnsmasq if it is still that very process. Returns whether one was running. */
export function stopDnsmasq(recorded: ProcessIdentity, host: LibvirtHost = LOCAL_HOST): Promise<boolean> {
  return stopProcessOn(host, recorded);
}

export interface DnsmasqLease {
  mac: string;
  ip: string;
  hostname?: string;
}

/** Lease file lines: `<expiry> <mac> <ip> <hostname|*> <client-id>`. */
export function parseDnsmasqLeases(content: string): DnsmasqLease[] {
  const leases: DnsmasqLease[] = [];
  for (const line of content.split("\n")) {
    const [, mac, ip, hostname] = line.trim().split(/\s+/);
    if (!mac || !ip || !/^[0-9a-f:]{17}$/i.test(mac)) continue;
    leases.push({ mac: mac.toLowerCase(), ip, ...(hostname && hostname !== "*" ? { hostname } : {}) });
  }
  return leases;
}
