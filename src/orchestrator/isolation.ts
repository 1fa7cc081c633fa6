import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import type { Spec } from "../../api/spec.js";

// Parallel environments must not collide: names get a per-testID prefix, and every /24 the spec uses is moved
// to a third octet reserved for this environment (subnet-reservations.ts). This file is the pure part: no I/O.

/** First 6 hex chars of SHA-256(testID); exported to users as TESTENV_VM_NAME_PREFIX. */
export function namePrefix(testID: string): string {
  return createHash("sha256").update(testID, "utf8").digest("hex").slice(0, 6);
}

export function prefixName(prefix: string, name: string): string {
  return prefix ? `${prefix}-${name}` : name;
}

export const OCTET_MIN = 20;
export const OCTET_COUNT = 200;

/** The environment's preferred third octet: CRC32(testID) % 200 + 20, in [20, 219]. */
export function subnetOctet(testID: string): number {
  return (crc32(testID) % OCTET_COUNT) + OCTET_MIN;
}

// ---------------------------------------------------------------------------------------------------------------
// Which subnets a spec uses

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function threeOctets(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const match = DOTTED_QUAD.exec(address.trim());
  if (match === null) return undefined;
  const parts = match.slice(1).map(Number);
  if (parts.some((part) => part > 255)) return undefined;
  return parts.slice(0, 3).join(".");
}

/** "a.b.c" of a cidr whose prefix length is at least 24 (a /24 or smaller, so the third octet is ours to move). */
function cidrSubnet(cidr: string): string | undefined {
  const [address, length, extra] = cidr.trim().split("/");
  if (extra !== undefined || length === undefined || !/^\d{1,2}$/.test(length)) return undefined;
  const bits = Number(length);
  return bits >= 24 && bits <= 32 ? threeOctets(address) : undefined;
}

/** Distinct "a.b.c" prefixes of the spec's networks, in spec order: the cidr, else the gateway and DHCP range. */
export function computeSubnetPlan(spec: Spec): string[] {
  const seen = new Set<string>();
  for (const network of spec.networks ?? []) {
    const { cidr, gateway, dhcp } = network.spec;
    const candidates =
      cidr !== undefined && cidr.trim() !== ""
        ? [cidrSubnet(cidr)]
        : [threeOctets(gateway), threeOctets(dhcp?.rangeStart), threeOctets(dhcp?.rangeEnd)];
    for (const prefix of candidates) if (prefix !== undefined) seen.add(prefix);
  }
  return [...seen];
}

// ---------------------------------------------------------------------------------------------------------------
// Rewriting a spec onto its reserved subnets

// A whole dotted quad: not glued to a preceding digit or dot, not followed by a digit or by ".<digit>".
const ADDRESS = /(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)/g;
const TEMPLATE = /\{\{[\s\S]*?\}\}/g;

/** Rewrites every whole address whose "a.b.c" is in the map, outside `{{ ... }}` template expressions. */
export function rewriteAddresses(text: string, subnetMap: Readonly<Record<string, string>>): string {
  if (!/\d\.\d/.test(text)) return text;
  const rewritePlain = (plain: string): string =>
    plain.replace(ADDRESS, (whole, a: string, b: string, c: string, d: string) => {
      const target = Object.hasOwn(subnetMap, `${a}.${b}.${c}`) ? subnetMap[`${a}.${b}.${c}`] : undefined;
      if (target === undefined || [a, b, c, d].some((part) => Number(part) > 255)) return whole;
      return `${target}.${d}`;
    });
  let out = "";
  let last = 0;
  for (const match of text.matchAll(TEMPLATE)) {
    out += rewritePlain(text.slice(last, match.index)) + match[0];
    last = match.index + match[0].length;
  }
  const rest = text.slice(last);
  // An unclosed "{{" is left alone from there on: it belongs to the template engine, which will report it.
  const open = rest.indexOf("{{");
  return open === -1 ? out + rewritePlain(rest) : out + rewritePlain(rest.slice(0, open)) + rest.slice(open);
}

/** A deep copy of the spec with its literal addresses moved onto the reserved subnets. */
export function isolateSpec(spec: Spec, subnetMap: Readonly<Record<string, string>>): Spec {
  const copy = structuredClone(spec);
  if (Object.keys(subnetMap).length === 0) return copy;
  const one = (value: string | undefined): string | undefined =>
    value === undefined ? undefined : rewriteAddresses(value, subnetMap);
  const many = (values: string[] | undefined): string[] | undefined => values?.map((v) => rewriteAddresses(v, subnetMap));

  for (const network of copy.networks ?? []) {
    const net = network.spec;
    assign(net, "cidr", one(net.cidr));
    assign(net, "gateway", one(net.gateway));
    if (net.dhcp) {
      const dhcp = net.dhcp;
      assign(dhcp, "rangeStart", one(dhcp.rangeStart));
      assign(dhcp, "rangeEnd", one(dhcp.rangeEnd));
      assign(dhcp, "router", one(dhcp.router));
      assign(dhcp, "nextServer", one(dhcp.nextServer));
      assign(dhcp, "dnsServers", many(dhcp.dnsServers));
      for (const lease of dhcp.staticLeases ?? []) lease.ip = rewriteAddresses(lease.ip, subnetMap);
    }
    if (net.dns) {
      for (const host of net.dns.hosts ?? []) host.ip = rewriteAddresses(host.ip, subnetMap);
      assign(net.dns, "servers", many(net.dns.servers));
    }
    // An iPXE script may be an http URL on the gateway.
    if (net.tftp) assign(net.tftp, "ipxeScript", one(net.tftp.ipxeScript));
  }
  for (const vm of copy.vms ?? []) {
    // A container's fixed address is on the spec's own network, moved with it.
    if (vm.spec.container) assign(vm.spec.container, "ip", one(vm.spec.container.ip));
    const cloudInit = vm.spec.cloudInit;
    if (!cloudInit) continue;
    for (const file of cloudInit.writeFiles ?? []) file.content = rewriteAddresses(file.content, subnetMap);
    assign(cloudInit, "runcmd", many(cloudInit.runcmd));
    for (const ethernet of cloudInit.networkConfig?.ethernets ?? []) {
      assign(ethernet, "addresses", many(ethernet.addresses));
      assign(ethernet, "gateway4", one(ethernet.gateway4));
      if (ethernet.nameservers) assign(ethernet.nameservers, "addresses", many(ethernet.nameservers.addresses));
    }
  }
  return copy;
}

/** Sets a field only when it was present, so the copy gains no `key: undefined` entries. */
function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
