import { quoted } from "../errors.js";
// Checks for literal values in a spec (names, IPv4, MAC, sizes, durations). Each returns a problem
// description, or undefined when the value is fine, so callers can attach the field path.

export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;
export const NAME_MAX_LENGTH = 48;
const NAME_RULE = `allowed: letters, digits, '.', '_', '-', starting with a letter or digit, no '..', at most ${NAME_MAX_LENGTH} characters`;

/** Names end up in libvirt object names, Linux interface names and file paths, so they are restricted. */
export function nameProblem(name: string): string | undefined {
  if (name.trim() === "") return "name is empty";
  if (!NAME_PATTERN.test(name) || name.includes("..") || name.length > NAME_MAX_LENGTH) {
    return `name ${quoted(name)} is not allowed; ${NAME_RULE}`;
  }
  return undefined;
}

export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export interface Ipv4Cidr {
  address: number;
  prefix: number;
  /** First address of the network (host bits zero). */
  network: number;
}

export function parseCidr(text: string): Ipv4Cidr | undefined {
  const [ip, prefixText, ...rest] = text.split("/");
  if (ip === undefined || prefixText === undefined || rest.length > 0 || !/^\d{1,2}$/.test(prefixText)) return undefined;
  const address = parseIPv4(ip);
  const prefix = Number(prefixText);
  if (address === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { address, prefix, network: Math.floor(address / size) * size };
}

export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
  const size = 2 ** (32 - cidr.prefix);
  return address >= cidr.network && address < cidr.network + size;
}

export function ipv4Problem(text: string, cidr?: Ipv4Cidr, cidrText?: string): string | undefined {
  const address = parseIPv4(text);
  if (address === undefined) return `${quoted(text)} is not an IPv4 address (expected e.g. 192.168.100.10)`;
  if (cidr !== undefined && !cidrContains(cidr, address)) return `${text} is outside the network ${cidrText ?? ""}`.trimEnd();
  return undefined;
}

export function cidrProblem(text: string): string | undefined {
  return parseCidr(text) === undefined ? `${quoted(text)} is not an IPv4 CIDR (expected e.g. 192.168.100.1/24)` : undefined;
}

export function macProblem(text: string): string | undefined {
  return /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(text)
    ? undefined
    : `${quoted(text)} is not a MAC address (expected e.g. 52:54:00:12:34:56)`;
}

export const DISK_SIZE_PATTERN = /^[1-9][0-9]*[KMGT]$/;

/** Upper bounds no host can give: a typo (an extra three zeros) is refused before a provider is asked. */
export const RESOURCE_MAXIMUMS = {
  /** MiB; 16 TiB, the most any x86 host on sale has. */
  memoryMiB: 16 * 1024 * 1024,
  /** KVM's own limit on vCPUs per guest. */
  vcpus: 1024,
  /** 64 TiB, qcow2's limit at the default cluster size. */
  diskBytes: 64 * 1024 ** 4,
} as const;

const DISK_UNIT_BYTES: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export function diskSizeProblem(text: string): string | undefined {
  if (!DISK_SIZE_PATTERN.test(text)) return `${quoted(text)} is not a disk size (expected a number and K, M, G or T, e.g. 10G)`;
  const bytes = Number(text.slice(0, -1)) * (DISK_UNIT_BYTES[text.slice(-1)] ?? 1);
  return bytes > RESOURCE_MAXIMUMS.diskBytes ? `disk size ${quoted(text)} is more than the limit of 64T` : undefined;
}

/** The name part of the TESTENV_* variables the artifact exports: upper-case, `-` and `.` to `_`, as the original's toEnvVarName. */
export function envVarName(name: string): string {
  return name.toUpperCase().replace(/[-.]/g, "_");
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations: `90s`, `3m`, `1h`, `1m30s`, `1.5h`, `500ms`. */
export function parseDurationMs(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    total += Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? ""] ?? 0);
  }
  return total;
}

export function durationProblem(text: string): string | undefined {
  return parseDurationMs(text) === undefined
    ? `${quoted(text)} is not a duration (expected e.g. 90s, 3m, 1h or 1m30s)`
    : undefined;
}

/** dnsmasq lease times: a duration, a number of seconds, or `infinite`. */
export function leaseTimeProblem(text: string): string | undefined {
  if (text === "infinite" || /^[1-9][0-9]*$/.test(text) || parseDurationMs(text) !== undefined) return undefined;
  return `${quoted(text)} is not a lease time (expected e.g. 1h, 600 (seconds) or infinite)`;
}
