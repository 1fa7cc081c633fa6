import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { removeEmptyDirs } from "../../lib/durable-file.js";
import { withFileLock } from "../../lib/file-lock.js";
import { TestenvError } from "../errors.js";
import { StateStore } from "../state/store.js";
import { validateTestID } from "../state/paths.js";
import { OCTET_COUNT, OCTET_MIN, subnetOctet, threeOctets } from "./isolation.js";

// Reservations of third octets: <registry>/<octet>, one file per octet, created with O_EXCL, so concurrent creates
// never take the same subnet. The engine uses one registry per host (hostSubnetRegistry), so environments of
// different state dirs never collide either; each reservation names its holder's state dir, where its liveness is
// checked. Without a registry, a state dir's own {stateDir}/state/subnets is used.

/** Overrides where the host-wide registry lives (tests, or several users sharing one host through one dir). */
export const SUBNET_REGISTRY_ENV = "TESTENV_VM_SUBNET_DIR";

/**
 * The host-wide registry: TESTENV_VM_SUBNET_DIR, else /run/testenv-vm/subnets as root, else the user's runtime dir,
 * else a per-user dir under the temp dir. All are cleared at boot, like the networks they describe.
 */
export function hostSubnetRegistry(env: NodeJS.ProcessEnv): string {
  const explicit = env[SUBNET_REGISTRY_ENV];
  if (explicit !== undefined && explicit.trim() !== "") return resolve(explicit);
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return "/run/testenv-vm/subnets";
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && runtime.startsWith("/")) return join(runtime, "testenv-vm", "subnets");
  return join(tmpdir(), `testenv-vm-${uid}`, "subnets");
}

/** A reservation younger than this counts as live even without a state file: its create may not have saved yet. */
export const RESERVATION_GRACE_MS = 60_000;
const SUBNET_LOCK_WAIT_MS = 30_000;

interface Reservation {
  octet: number;
  testID?: string;
  prefix?: string;
  /** The holder's state dir; older reservations (per state dir) have none. */
  stateDir?: string;
  ageMs: number;
}

export interface ReservationOptions {
  /** The registry dir; default {stateDir}/state/subnets. */
  registry?: string;
}

/** Beside the state files, so that the store decides where those are. */
function subnetsDir(stateDir: string): string {
  return join(new StateStore(stateDir).dir, "subnets");
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
  options: ReservationOptions = {},
): Promise<Record<string, string>> {
  validateTestID(testID);
  const wanted = [...new Set(prefixes)];
  if (wanted.length === 0) return {};
  for (const prefix of wanted) {
    if (threeOctets(`${prefix}.0`) !== prefix) {
      throw new TestenvError("INTERNAL", `subnet prefix ${JSON.stringify(prefix)} is not of the form a.b.c`);
    }
  }
  const dir = options.registry ?? subnetsDir(stateDir);
  const holder = resolve(stateDir);
  const mine = (r: Reservation): boolean => r.testID === testID && resolve(r.stateDir ?? stateDir) === holder;
  return withSubnetLock(dir, async () => {
    const reservations = await readReservations(dir);
    const octetOf = new Map<string, number>();
    for (const r of reservations.values()) {
      if (mine(r) && r.prefix !== undefined) octetOf.set(r.prefix, r.octet);
    }
    const missing = wanted.filter((prefix) => !octetOf.has(prefix));
    const liveness = new Map<string, Promise<boolean>>();
    const candidates = candidateOctets(subnetOctet(testID));
    for (const octet of candidates) {
      const prefix = missing[0];
      if (prefix === undefined) break;
      const held = reservations.get(octet);
      if (held !== undefined) {
        if (mine(held)) continue;
        if (await isLiveReservation(stateDir, held, liveness)) continue;
        await rm(join(dir, String(octet)), { force: true });
      }
      if (await claim(dir, octet, { testID, prefix, stateDir: holder })) {
        octetOf.set(prefix, octet);
        missing.shift();
      }
    }
    if (missing.length > 0) {
      throw new TestenvError(
        "RESOURCE_BUSY",
        `no free subnet octet for environment ${testID}: all ${OCTET_COUNT} octets in [${OCTET_MIN}, ` +
          `${OCTET_MIN + OCTET_COUNT - 1}] are held by live environments (reservations in ${dir}); ` +
          `delete finished environments`,
        { retryable: true, details: { testID, needed: wanted.length } },
      );
    }
    const map: Record<string, string> = {};
    for (const prefix of wanted) map[prefix] = replaceThirdOctet(prefix, octetOf.get(prefix) ?? 0);
    return map;
  });
}

/**
 * The mapping reserveSubnets would return now, without taking a lock or writing anything (for plan). A create
 * that runs later may see other reservations and choose differently: its plan is then stale and refused.
 */
export async function previewSubnets(stateDir: string, testID: string, prefixes: string[], options: ReservationOptions = {}): Promise<Record<string, string>> {
  const wanted = [...new Set(prefixes)];
  if (wanted.length === 0) return {};
  const holder = resolve(stateDir);
  const mine = (r: Reservation): boolean => r.testID === testID && resolve(r.stateDir ?? stateDir) === holder;
  const reservations = await readReservations(options.registry ?? subnetsDir(stateDir));
  const octetOf = new Map<string, number>();
  for (const r of reservations.values()) {
    if (mine(r) && r.prefix !== undefined) octetOf.set(r.prefix, r.octet);
  }
  const missing = wanted.filter((prefix) => !octetOf.has(prefix));
  const liveness = new Map<string, Promise<boolean>>();
  for (const octet of candidateOctets(subnetOctet(testID))) {
    const prefix = missing[0];
    if (prefix === undefined) break;
    const held = reservations.get(octet);
    if (held !== undefined && (mine(held) || (await isLiveReservation(stateDir, held, liveness)))) continue;
    octetOf.set(prefix, octet);
    missing.shift();
  }
  const map: Record<string, string> = {};
  for (const prefix of wanted) map[prefix] = octetOf.has(prefix) ? replaceThirdOctet(prefix, octetOf.get(prefix) ?? 0) : prefix;
  return map;
}

export async function releaseSubnets(stateDir: string, testID: string, options: ReservationOptions = {}): Promise<void> {
  validateTestID(testID);
  const dir = options.registry ?? subnetsDir(stateDir);
  const holder = resolve(stateDir);
  await withSubnetLock(dir, async () => {
    for (const r of (await readReservations(dir)).values()) {
      if (r.testID === testID && resolve(r.stateDir ?? stateDir) === holder) await rm(join(dir, String(r.octet)), { force: true });
    }
    await removeEmptyDirs([dir]);
  });
}

function replaceThirdOctet(prefix: string, octet: number): string {
  const [a, b] = prefix.split(".");
  return `${a}.${b}.${octet}`;
}

async function withSubnetLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  // The lock lives beside the directory; the directory itself is made (and removed when empty) under the lock.
  await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
  // O_EXCL alone makes claiming a free octet race-free; the lock makes reclaiming a dead one race-free too
  // (without it, two reclaimers could each delete the other's fresh reservation).
  const busy = () =>
    new TestenvError(
      "STATE_LOCKED",
      `subnet reservations in ${dir} are locked by another testenv-vm process; retry, or remove ${dir}.lock ` +
        `if no testenv-vm process is running`,
      { retryable: true },
    );
  return withFileLock(dir, { waitMs: SUBNET_LOCK_WAIT_MS, busy }, async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return fn();
  });
}

async function claim(dir: string, octet: number, holder: { testID: string; prefix: string; stateDir: string }): Promise<boolean> {
  const content = `${JSON.stringify({ ...holder, pid: process.pid, createdAt: new Date().toISOString() })}\n`;
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

function parseReservation(text: string): { testID?: string; prefix?: string; stateDir?: string } {
  try {
    const json = JSON.parse(text) as { testID?: unknown; prefix?: unknown; stateDir?: unknown };
    return {
      ...(typeof json.testID === "string" ? { testID: json.testID } : {}),
      ...(typeof json.prefix === "string" ? { prefix: json.prefix } : {}),
      ...(typeof json.stateDir === "string" ? { stateDir: json.stateDir } : {}),
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
  const holderDir = reservation.stateDir ?? stateDir;
  const key = `${holderDir}\0${holder}`;
  let live = memo.get(key);
  if (live === undefined) {
    live = new StateStore(holderDir).isLive(holder);
    memo.set(key, live);
  }
  return live;
}


