import { invalidSpec } from "./errors.js";

// IPv4 arithmetic for network specs, shared by the providers. Addresses are unsigned 32-bit numbers.

export interface Ipv4Network {
  /** Host-side address: the gateway if given, else the host part of the CIDR, else network + 1. */
  gateway: string;
  prefixLength: number;
  netmask: string;
  network: string;
  broadcast: string;
  /** The CIDR as given, e.g. 192.168.100.1/24. */
  cidr: string;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIpv4(value: string): boolean {
  const parts = value.split(".");
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

export function ipToNumber(value: string): number {
  if (!isIpv4(value)) throw invalidSpec(`"${value}" is not an IPv4 address`);
  return value.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function maskNumber(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Parses `a.b.c.d/n` with an optional explicit gateway; the field name goes into error messages. */
export function parseCidr(cidr: string, gateway: string | undefined, field = "spec.cidr"): Ipv4Network {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(cidr.trim());
  const address = match?.[1];
  const prefixLength = Number(match?.[2]);
  if (!match || address === undefined || !isIpv4(address) || prefixLength < 8 || prefixLength > 30) {
    throw invalidSpec(`${field}: "${cidr}" is not an IPv4 CIDR with a prefix length of 8 to 30 (e.g. 192.168.100.1/24)`);
  }
  const mask = maskNumber(prefixLength);
  const base = (ipToNumber(address) & mask) >>> 0;
  const broadcast = (base | (~mask >>> 0)) >>> 0;
  let host = ipToNumber(address);
  if (host === base || host === broadcast) host = base + 1;
  if (gateway !== undefined && gateway !== "") {
    const gw = ipToNumber(gateway);
    if (((gw & mask) >>> 0) !== base) throw invalidSpec(`spec.gateway: ${gateway} is outside ${cidr}`);
    host = gw;
  }
  return {
    gateway: numberToIp(host),
    prefixLength,
    netmask: numberToIp(mask),
    network: numberToIp(base),
    broadcast: numberToIp(broadcast),
    cidr: cidr.trim(),
  };
}

export function contains(net: Ipv4Network, ip: string): boolean {
  const mask = maskNumber(net.prefixLength);
  return ((ipToNumber(ip) & mask) >>> 0) === ipToNumber(net.network);
}

/** Whether two subnets share any address: one of them contains the other's network address. */
export function overlaps(a: Pick<Ipv4Network, "network" | "prefixLength">, b: Pick<Ipv4Network, "network" | "prefixLength">): boolean {
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  const mask = maskNumber(shorter);
  return ((ipToNumber(a.network) & mask) >>> 0) === ((ipToNumber(b.network) & mask) >>> 0);
}

/** Default DHCP pool: everything after the gateway up to broadcast - 1, skipping the gateway. */
export function defaultRange(net: Ipv4Network): { start: string; end: string } {
  const gw = ipToNumber(net.gateway);
  const first = ipToNumber(net.network) + 1;
  const last = ipToNumber(net.broadcast) - 1;
  const start = gw === first ? first + 1 : first;
  return { start: numberToIp(start === gw ? start + 1 : start), end: numberToIp(last === gw ? last - 1 : last) };
}

export function checkInside(net: Ipv4Network, ip: string, field: string): void {
  if (!isIpv4(ip)) throw invalidSpec(`${field}: "${ip}" is not an IPv4 address`);
  if (!contains(net, ip)) throw invalidSpec(`${field}: ${ip} is outside ${net.cidr}`);
}
