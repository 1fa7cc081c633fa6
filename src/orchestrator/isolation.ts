import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { crc32 } from "node:zlib";
import type { Spec } from "../../api/spec.js";
import { TestenvError } from "../errors.js";
import { acquireFileLock, isFileLocked } from "../state/lock.js";
import { validateTestID } from "../state/paths.js";

// Parallel environments must not collide: names get a per-testID prefix, and every /24 the spec uses is moved
// to a third octet reserved for this environment in the state dir.

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

function threeOctets(address: string | undefined): string | undefined {
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
// Reservations: {stateDir}/state/subnets/<octet>, one file per octet, created with O_EXCL

/** A reservation younger than this counts as live even without a state file: its create may not have saved yet. */
export const RESERVATION_GRACE_MS = 60_000;
const SUBNET_LOCK_WAIT_MS = 30_000;

interface Reservation {
  octet: number;
  testID?: string;
  prefix?: string;
  ageMs: number;
}

function subnetsDir(stateDir: string): string {
  return join(resolve(stateDir), "state", "subnets");
}

function candidateOctets(first: number): number[] {
  const start = first - OCTET_MIN;
  return Array.from({ length: OCTET_COUNT }, (_, i) => OCTET_MIN + ((start + i) % OCTET_COUNT));
}

/**
 * Reserves one third octet per prefix and returns `"a.b.c" → "a.b.<octet>"`. The first prefix prefers
 * subnetOctet(testID); the others take the next free octets (wrapping in [20, 219]). Octets held by a live
 * environment of the same stateDir are never taken; reservations of environments without a live state file are
 * reclaimed. Calling it again for the same testID returns the same mapping.
 */
export async function reserveSubnets(
  stateDir: string,
  testID: string,
  prefixes: string[],
): Promise<Record<string, string>> {
  validateTestID(testID);
  const wanted = [...new Set(prefixes)];
  if (wanted.length === 0) return {};
  for (const prefix of wanted) {
    if (threeOctets(`${prefix}.0`) !== prefix) {
      throw new TestenvError("INTERNAL", `subnet prefix ${JSON.stringify(prefix)} is not of the form a.b.c`);
    }
  }
  const dir = subnetsDir(stateDir);
  return withSubnetLock(dir, async () => {
    const reservations = await readReservations(dir);
    const octetOf = new Map<string, number>();
    for (const r of reservations.values()) {
      if (r.testID === testID && r.prefix !== undefined) octetOf.set(r.prefix, r.octet);
    }
    const missing = wanted.filter((prefix) => !octetOf.has(prefix));
    const liveness = new Map<string, Promise<boolean>>();
    const candidates = candidateOctets(subnetOctet(testID));
    for (const octet of candidates) {
      const prefix = missing[0];
      if (prefix === undefined) break;
      const held = reservations.get(octet);
      if (held !== undefined) {
        if (held.testID === testID) continue;
        if (await isLiveReservation(stateDir, held, liveness)) continue;
        await rm(join(dir, String(octet)), { force: true });
      }
      if (await claim(dir, octet, testID, prefix)) {
        octetOf.set(prefix, octet);
        missing.shift();
      }
    }
    if (missing.length > 0) {
      throw new TestenvError(
        "RESOURCE_BUSY",
        `no free subnet octet for environment ${testID}: all ${OCTET_COUNT} octets in [${OCTET_MIN}, ` +
          `${OCTET_MIN + OCTET_COUNT - 1}] are held by live environments in ${resolve(stateDir)}; ` +
          `delete finished environments, or use another state dir`,
        { retryable: true, details: { testID, needed: wanted.length } },
      );
    }
    const map: Record<string, string> = {};
    for (const prefix of wanted) map[prefix] = replaceThirdOctet(prefix, octetOf.get(prefix) ?? 0);
    return map;
  });
}

export async function releaseSubnets(stateDir: string, testID: string): Promise<void> {
  validateTestID(testID);
  const dir = subnetsDir(stateDir);
  await withSubnetLock(dir, async () => {
    for (const r of (await readReservations(dir)).values()) {
      if (r.testID === testID) await rm(join(dir, String(r.octet)), { force: true });
    }
  });
}

function replaceThirdOctet(prefix: string, octet: number): string {
  const [a, b] = prefix.split(".");
  return `${a}.${b}.${octet}`;
}

async function withSubnetLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // O_EXCL alone makes claiming a free octet race-free; the lock makes reclaiming a dead one race-free too
  // (without it, two reclaimers could each delete the other's fresh reservation).
  const release = await acquireFileLock(dir, { waitMs: SUBNET_LOCK_WAIT_MS });
  if (release === undefined) {
    throw new TestenvError(
      "STATE_LOCKED",
      `subnet reservations in ${dir} are locked by another testenv-vm process; retry, or remove ${dir}.lock ` +
        `if no testenv-vm process is running`,
      { retryable: true },
    );
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

async function claim(dir: string, octet: number, testID: string, prefix: string): Promise<boolean> {
  const content = `${JSON.stringify({ testID, prefix, pid: process.pid, createdAt: new Date().toISOString() })}\n`;
  try {
    await writeFile(join(dir, String(octet)), content, { flag: "wx", mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

async function readReservations(dir: string): Promise<Map<number, Reservation>> {
  const reservations = new Map<number, Reservation>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return reservations;
    throw error;
  }
  for (const name of names) {
    if (!/^\d{2,3}$/.test(name)) continue;
    const octet = Number(name);
    if (octet < OCTET_MIN || octet >= OCTET_MIN + OCTET_COUNT) continue;
    const path = join(dir, name);
    try {
      const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
      reservations.set(octet, { octet, ageMs: Date.now() - info.mtimeMs, ...parseReservation(text) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  return reservations;
}

function parseReservation(text: string): { testID?: string; prefix?: string } {
  try {
    const json = JSON.parse(text) as { testID?: unknown; prefix?: unknown };
    return {
      ...(typeof json.testID === "string" ? { testID: json.testID } : {}),
      ...(typeof json.prefix === "string" ? { prefix: json.prefix } : {}),
    };
  } catch {
    // A holder killed between create and write leaves an empty file: no owner, reclaimable after the grace.
    return {};
  }
}

async function isLiveReservation(
  stateDir: string,
  reservation: Reservation,
  memo: Map<string, Promise<boolean>>,
): Promise<boolean> {
  if (reservation.ageMs < RESERVATION_GRACE_MS) return true;
  const holder = reservation.testID;
  if (holder === undefined) return false;
  let live = memo.get(holder);
  if (live === undefined) {
    live = isLiveEnvironment(stateDir, holder);
    memo.set(holder, live);
  }
  return live;
}

/** Live = a state file that is not destroyed (unreadable counts as live), or a create/delete holding its lock. */
async function isLiveEnvironment(stateDir: string, testID: string): Promise<boolean> {
  try {
    validateTestID(testID);
  } catch {
    return false;
  }
  const statePath = join(resolve(stateDir), "state", `testenv-${testID}.json`);
  try {
    const state = JSON.parse(await readFile(statePath, "utf8")) as { status?: unknown } | null;
    if (state?.status !== "destroyed") return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return true;
  }
  return isFileLocked(statePath);
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
