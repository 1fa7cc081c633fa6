import type { z } from "zod";
import type { NetworkSpec } from "../../../api/spec.js";
import { invalidSpec } from "../../kit/index.js";
import { checkHostname, normalizeMac } from "../names.js";
import { checkInside, defaultRange, ipToNumber, isIpv4, parseCidr, type Ipv4Network } from "../../kit/ipv4.js";

// Turns a network request into a validated, fully defaulted plan. Everything after this works on
// checked values only.

type Spec = z.infer<typeof NetworkSpec>;

export type NetworkKind = "bridge" | "libvirt" | "dnsmasq";
export type ForwardMode = "nat" | "route" | "isolated" | "bridge";

export interface DhcpPlan {
  start: string;
  end: string;
  leaseSeconds: number | undefined;
  router: string | undefined;
  dnsServers: string[];
  domain: string | undefined;
  nextServer: string;
  hosts: { mac: string; ip: string; hostname?: string }[];
}

export interface TftpPlan {
  root: string;
  bootFile: string | undefined;
  bootFileEfi: string | undefined;
  ipxeScript: string | undefined;
}

export interface DnsPlan {
  hosts: { hostname: string; ip: string }[];
  servers: string[];
  domain: string | undefined;
}

export interface NetworkPlan {
  /** The kind as requested (nat/isolated kept so get reports what the user wrote). */
  requestedKind: string;
  kind: NetworkKind;
  forwardMode: ForwardMode | undefined;
  ip: Ipv4Network | undefined;
  attachTo: string | undefined;
  mtu: number | undefined;
  dhcp: DhcpPlan | undefined;
  dns: DnsPlan | undefined;
  tftp: TftpPlan | undefined;
}

const KIND_ALIASES: Record<string, { kind: NetworkKind; forwardMode?: ForwardMode }> = {
  bridge: { kind: "bridge" },
  libvirt: { kind: "libvirt" },
  dnsmasq: { kind: "dnsmasq" },
  nat: { kind: "libvirt", forwardMode: "nat" },
  isolated: { kind: "libvirt", forwardMode: "isolated" },
};
export const NETWORK_KINDS = Object.keys(KIND_ALIASES);

/** "1h", "30m", "600", "600s", "infinite" → seconds (undefined = infinite / default). */
export function parseLeaseTime(value: string | undefined, field = "spec.dhcp.leaseTime"): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "infinite") return undefined;
  const match = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
  if (!match) throw invalidSpec(`${field}: "${value}" is not a lease time such as 600, 30m or 1h`);
  const seconds = Number(match[1]) * ({ "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] ?? ""] ?? 1);
  if (seconds < 120) throw invalidSpec(`${field}: "${value}" is shorter than the 2 minutes dnsmasq and libvirt accept`);
  return seconds;
}

// TFTP paths end up in dnsmasq argv and libvirt XML; keep them plain relative paths or http(s) URLs.
function checkBootPath(value: string | undefined, field: string, allowUrl = false): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (allowUrl && /^https?:\/\/[^\s,]+$/.test(value)) return value;
  if (!/^[A-Za-z0-9_.\-/]+$/.test(value) || value.split("/").includes("..") || value.startsWith("/")) {
    throw invalidSpec(`${field}: "${value}" must be a path relative to the TFTP root (letters, digits, '._-/')`);
  }
  return value;
}

function checkIps(values: readonly string[] | undefined, field: string): string[] {
  return (values ?? []).map((value, index) => {
    if (!isIpv4(value)) throw invalidSpec(`${field}[${index}]: "${value}" is not an IPv4 address`);
    return value;
  });
}

export function planNetwork(kind: string, spec: Spec): NetworkPlan {
  const alias = KIND_ALIASES[kind.toLowerCase()];
  if (!alias) throw invalidSpec(`kind: unsupported network kind "${kind}"; use ${NETWORK_KINDS.join(", ")}`);
  const ip = spec.cidr ? parseCidr(spec.cidr, spec.gateway) : undefined;
  if (!ip && spec.gateway) throw invalidSpec("spec.gateway needs spec.cidr");
  if (spec.mtu !== undefined && (spec.mtu < 576 || spec.mtu > 65535)) throw invalidSpec(`spec.mtu: ${spec.mtu} is outside 576-65535`);

  let forwardMode: ForwardMode | undefined;
  if (alias.kind === "libvirt") {
    if (alias.forwardMode && spec.forwardMode && spec.forwardMode !== alias.forwardMode) {
      throw invalidSpec(`spec.forwardMode: kind "${kind}" means forwardMode ${alias.forwardMode}, got ${spec.forwardMode}`);
    }
    forwardMode = alias.forwardMode ?? spec.forwardMode ?? (spec.attachTo ? "bridge" : "nat");
    if (forwardMode === "bridge" && !spec.attachTo) throw invalidSpec("spec.attachTo: forwardMode bridge needs the bridge to attach to");
    if (forwardMode !== "bridge" && spec.attachTo) {
      throw invalidSpec(`spec.attachTo: only forwardMode bridge attaches to an existing bridge (forwardMode is ${forwardMode})`);
    }
    if (forwardMode !== "bridge" && !ip) throw invalidSpec(`spec.cidr: a ${forwardMode} libvirt network needs a cidr such as 192.168.100.1/24`);
  } else if (spec.forwardMode) {
    throw invalidSpec(`spec.forwardMode only applies to libvirt networks (kind is ${kind})`);
  }
  if (alias.kind === "dnsmasq") {
    if (!spec.attachTo) throw invalidSpec("spec.attachTo: a dnsmasq network serves an existing bridge; name it in attachTo");
    if (!ip) throw invalidSpec("spec.cidr: a dnsmasq network needs the bridge's subnet, e.g. 192.168.100.1/24");
  }
  if (alias.kind === "bridge" && spec.attachTo) throw invalidSpec("spec.attachTo does not apply to kind bridge");

  const dhcpEnabled = spec.dhcp != null && spec.dhcp.enabled !== false;
  const tftpEnabled = spec.tftp != null && spec.tftp.enabled !== false;
  const dnsEnabled = spec.dns != null && spec.dns.enabled !== false;
  // Bridges only carry an address; serving anything on them is what libvirt/dnsmasq networks are for.
  const serves = alias.kind !== "bridge";
  if (!serves && (dhcpEnabled || tftpEnabled || dnsEnabled)) {
    throw invalidSpec("spec.dhcp/dns/tftp: a bridge network serves nothing itself; add a dnsmasq or libvirt network attached to it");
  }
  // Libvirt's own DHCP (libvirt networks with NAT/route/isolated; the first network gets the default pool).
  const libvirtDefaultsDhcp = alias.kind === "libvirt" && forwardMode !== "bridge" && spec.dhcp == null;
  const needsIp = dhcpEnabled || tftpEnabled || dnsEnabled;
  if (needsIp && !ip) throw invalidSpec("spec.cidr: DHCP, DNS and TFTP need the network's cidr");

  let dhcp: DhcpPlan | undefined;
  if (ip && (dhcpEnabled || libvirtDefaultsDhcp)) {
    const d = spec.dhcp ?? {};
    const range = defaultRange(ip);
    const start = d.rangeStart ?? range.start;
    const end = d.rangeEnd ?? range.end;
    checkInside(ip, start, "spec.dhcp.rangeStart");
    checkInside(ip, end, "spec.dhcp.rangeEnd");
    if (ipToNumber(start) > ipToNumber(end)) throw invalidSpec(`spec.dhcp: rangeStart ${start} is after rangeEnd ${end}`);
    const hosts = (d.staticLeases ?? []).map((lease, index) => {
      const field = `spec.dhcp.staticLeases[${index}]`;
      checkInside(ip, lease.ip, `${field}.ip`);
      return {
        mac: normalizeMac(lease.mac, `${field}.mac`),
        ip: lease.ip,
        ...(lease.hostname ? { hostname: checkHostname(lease.hostname, `${field}.hostname`) } : {}),
      };
    });
    if (d.router) checkInside(ip, d.router, "spec.dhcp.router");
    dhcp = {
      start,
      end,
      leaseSeconds: parseLeaseTime(d.leaseTime),
      router: d.router,
      dnsServers: checkIps(d.dnsServers, "spec.dhcp.dnsServers"),
      domain: d.domain ? checkHostname(d.domain, "spec.dhcp.domain") : undefined,
      nextServer: d.nextServer ? (checkIps([d.nextServer], "spec.dhcp.nextServer")[0] ?? ip.gateway) : ip.gateway,
      hosts,
    };
  }

  let tftp: TftpPlan | undefined;
  if (tftpEnabled && spec.tftp) {
    if (!spec.tftp.root.startsWith("/")) throw invalidSpec(`spec.tftp.root: "${spec.tftp.root}" must be an absolute path`);
    if (/[,\s]/.test(spec.tftp.root)) throw invalidSpec(`spec.tftp.root: "${spec.tftp.root}" must not contain commas or spaces`);
    tftp = {
      root: spec.tftp.root,
      bootFile: checkBootPath(spec.tftp.bootFile, "spec.tftp.bootFile"),
      bootFileEfi: checkBootPath(spec.tftp.bootFileEfi, "spec.tftp.bootFileEfi"),
      ipxeScript: checkBootPath(spec.tftp.ipxeScript, "spec.tftp.ipxeScript", true),
    };
    if (!tftp.bootFile && !tftp.bootFileEfi && !tftp.ipxeScript) {
      throw invalidSpec("spec.tftp: name what to boot (bootFile, bootFileEfi or ipxeScript)");
    }
    if (!dhcp) throw invalidSpec("spec.tftp: PXE boot needs DHCP on the same network (add spec.dhcp)");
  }

  let dns: DnsPlan | undefined;
  if (dnsEnabled && spec.dns) {
    dns = {
      hosts: (spec.dns.hosts ?? []).map((host, index) => ({
        hostname: checkHostname(host.hostname, `spec.dns.hosts[${index}].hostname`),
        ip: checkIps([host.ip], `spec.dns.hosts[${index}].ip`)[0] ?? host.ip,
      })),
      servers: checkIps(spec.dns.servers, "spec.dns.servers"),
      domain: spec.dns.domain ? checkHostname(spec.dns.domain, "spec.dns.domain") : undefined,
    };
  }

  return { requestedKind: kind, kind: alias.kind, forwardMode, ip, attachTo: spec.attachTo, mtu: spec.mtu, dhcp, dns, tftp };
}
