import { createHash } from "node:crypto";
import { invalidSpec } from "../kit/index.js";

// Address arithmetic for the stub: deterministic, collision-free addresses derived from names.

export interface Subnet {
  /** Network address as an unsigned 32-bit integer. */
  network: number;
  prefix: number;
  /** The address written in the CIDR (e.g. .1 in 192.168.100.1/24). */
  given: number;
}

export function hashBytes(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

export function hashInt(text: string): number {
  return hashBytes(text).readUInt32BE(0);
}

export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

export function parseCidr(text: string, field: string): Subnet {
  const [address, prefixText, extra] = text.split("/");
  const given = parseIPv4(address ?? "");
  const prefix = prefixText !== undefined && /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (given === undefined || extra !== undefined || !(prefix >= 0 && prefix <= 32)) {
    throw invalidSpec(`${field}: "${text}" is not an IPv4 CIDR such as 192.168.100.0/24`);
  }
  if (prefix > 30) throw invalidSpec(`${field}: "${text}" leaves no room for hosts; use a prefix of /30 or shorter`);
  const size = 2 ** (32 - prefix);
  return { network: given - (given % size), prefix, given };
}

export function subnetSize(subnet: Subnet): number {
  return 2 ** (32 - subnet.prefix);
}

export function contains(subnet: Subnet, address: number): boolean {
  return address >= subnet.network && address < subnet.network + subnetSize(subnet);
}

/** First and last usable host address (network and broadcast excluded). */
export function hostRange(subnet: Subnet): { first: number; last: number } {
  return { first: subnet.network + 1, last: subnet.network + subnetSize(subnet) - 2 };
}

/**
 * A free address in [first, last], starting at a point derived from `seed` and probing upwards, so the
 * same names in the same order get the same addresses and two resources never share one.
 */
export function allocate(seed: string, range: { first: number; last: number }, taken: ReadonlySet<number>): number | undefined {
  const count = range.last - range.first + 1;
  if (count <= 0) return undefined;
  const start = hashInt(seed) % count;
  for (let i = 0; i < count; i++) {
    const candidate = range.first + ((start + i) % count);
    if (!taken.has(candidate)) return candidate;
  }
  return undefined;
}

/** A locally administered QEMU-style MAC (52:54:00:xx:xx:xx) not in `taken`. */
export function allocateMac(seed: string, taken: ReadonlySet<string>): string {
  const base = hashBytes(seed).readUIntBE(0, 3);
  for (let i = 0; i < 0x1000000; i++) {
    const value = (base + i) % 0x1000000;
    const mac = `52:54:00:${[16, 8, 0].map((shift) => ((value >> shift) & 0xff).toString(16).padStart(2, "0")).join(":")}`;
    if (!taken.has(mac)) return mac;
  }
  throw new Error("no free MAC address left");
}

/** A stable UUID (version 5 layout) for a name. */
export function stableUuid(seed: string): string {
  const bytes = hashBytes(seed).subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
