import { createHash } from "node:crypto";
import { open, readdir, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { readTextIfExists, removeFileDurably, writeJsonAtomic } from "./durable-file.js";

// Who uses a cached image. A VM disk is a qcow2 overlay whose backing file is a file in the image cache; deleting
// that file destroys the VM, stopped or running. So whoever creates an overlay on a cached image records it first,
// next to the cache (<cache>/users/<hash of the overlay path>.json), and `images prune` keeps every image a record
// still vouches for. The record is written BEFORE the overlay: a creator killed in between leaves a record without
// an overlay, which prune counts as a user for a grace period and then drops, never an overlay without a record.
// Shared by the providers (which create overlays) and src/image (which prunes): they may not import each other.

/** An image cache's slot directory name: the first 16 hex characters of the image's key. */
export const IMAGE_CACHE_SLOT = /^[0-9a-f]{16}$/;
/** The file every image cache has at its top. */
export const IMAGE_CACHE_METADATA = "metadata.json";
export const IMAGE_USERS_DIR = "users";
/** A record whose overlay does not exist yet is a create in progress for this long, then a crashed one. */
export const PENDING_USER_GRACE_MS = 10 * 60_000;

export interface ImageUserRecord {
  version: 1;
  /** The qcow2 overlay whose backing file is basePath. */
  overlayPath: string;
  basePath: string;
  createdAt: string;
  /** What the overlay is, for people: e.g. "libvirt VM testenv-ab12-web". */
  usedBy: string;
  hostname: string;
  pid: number;
}

/** How prune sees one record. */
export type ImageUse =
  | { state: "in use"; record: ImageUserRecord }
  /** The overlay is not there yet and the record is young: a create is (or was just) making it. */
  | { state: "being created"; record: ImageUserRecord }
  /** The overlay exists but could not be read: counted as a user, since we cannot tell. */
  | { state: "unreadable"; record: ImageUserRecord; reason: string };

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
/** qcow2's own limit on a backing file name. */
const MAX_BACKING_NAME = 1023;

/**
 * The backing file a qcow2 image names in its header (resolved against the image's directory, as qemu does), or
 * undefined when the file is not qcow2 or has no backing file. Reads 20 bytes and the name: no qemu-img child.
 */
export async function readBackingFile(path: string): Promise<string | undefined> {
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(20);
    const { bytesRead } = await file.read(header, 0, header.length, 0);
    if (bytesRead < header.length || header.readUInt32BE(0) !== QCOW2_MAGIC) return undefined;
    const offset = header.readBigUInt64BE(8);
    const size = header.readUInt32BE(16);
    if (offset === 0n || size === 0 || size > MAX_BACKING_NAME) return undefined;
    const name = Buffer.alloc(size);
    const read = await file.read(name, 0, size, Number(offset));
    if (read.bytesRead < size) return undefined;
    return resolve(dirname(path), name.toString("utf8"));
  } finally {
    await file.close();
  }
}

/**
 * The image cache `imagePath` is a file of (<cache>/<slot>/<file>, with the cache's metadata.json), or undefined:
 * a user's own base image is never deleted by prune, so it needs no record.
 */
export async function imageCacheOf(imagePath: string): Promise<string | undefined> {
  const slot = dirname(resolve(imagePath));
  if (!IMAGE_CACHE_SLOT.test(basename(slot))) return undefined;
  const cacheDir = dirname(slot);
  const metadata = await stat(join(cacheDir, IMAGE_CACHE_METADATA)).catch(() => undefined);
  return metadata?.isFile() === true ? cacheDir : undefined;
}

function recordPath(cacheDir: string, overlayPath: string): string {
  const id = createHash("sha256").update(resolve(overlayPath)).digest("hex").slice(0, 32);
  return join(cacheDir, IMAGE_USERS_DIR, `${id}.json`);
}

/**
 * Records that `overlayPath` is about to be created over `basePath`. Call it before the overlay exists. Returns the
 * record's path, or undefined when the base is not in an image cache.
 */
export async function recordImageUser(options: { overlayPath: string; basePath: string; usedBy: string }): Promise<string | undefined> {
  const basePath = resolve(options.basePath);
  const cacheDir = await imageCacheOf(basePath);
  if (cacheDir === undefined) return undefined;
  const path = recordPath(cacheDir, options.overlayPath);
  const record: ImageUserRecord = {
    version: 1,
    overlayPath: resolve(options.overlayPath),
    basePath,
    createdAt: new Date().toISOString(),
    usedBy: options.usedBy,
    hostname: hostname(),
    pid: process.pid,
  };
  // 0755/0644: the cache is shared by users and with qemu; a record holds no secret.
  await writeJsonAtomic(path, record, { mode: 0o644, makeDirs: 0o755 });
  return path;
}

/** Forgets the record of an overlay about to be deleted; its cache is found from the overlay's backing file. */
export async function forgetImageUser(overlayPath: string): Promise<void> {
  const backing = await readBackingFile(overlayPath).catch(() => undefined);
  if (backing === undefined) return;
  const cacheDir = await imageCacheOf(backing);
  if (cacheDir !== undefined) await removeFileDurably(recordPath(cacheDir, overlayPath));
}

export interface ImageUsers {
  /** Per base path, the overlays that keep it. */
  uses: Map<string, ImageUse[]>;
  /** Records that vouch for nothing any more (overlay gone, or it names another backing file): prune drops them. */
  stale: string[];
}

/** Every record under the cache, each judged against the overlay it names. */
export async function readImageUsers(cacheDir: string, options: { now?: number; graceMs?: number } = {}): Promise<ImageUsers> {
  const now = options.now ?? Date.now();
  const graceMs = options.graceMs ?? PENDING_USER_GRACE_MS;
  const dir = join(cacheDir, IMAGE_USERS_DIR);
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const result: ImageUsers = { uses: new Map(), stale: [] };
  for (const name of names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort()) {
    const path = join(dir, name);
    const record = parseRecord(await readTextIfExists(path));
    // Unparseable (not ours, or hand-edited): left alone, and it keeps nothing.
    if (record === undefined) continue;
    const use = await judge(record, now, graceMs);
    if (use === undefined) {
      result.stale.push(path);
      continue;
    }
    const list = result.uses.get(record.basePath) ?? [];
    list.push(use);
    result.uses.set(record.basePath, list);
  }
  return result;
}

async function judge(record: ImageUserRecord, now: number, graceMs: number): Promise<ImageUse | undefined> {
  let backing: string | undefined;
  try {
    backing = await readBackingFile(record.overlayPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // EACCES (qemu:///system may own a running VM's disk), EIO: it may well still use the base.
    if (code !== "ENOENT") return { state: "unreadable", record, reason: code ?? String(error) };
  }
  if (backing === record.basePath) return { state: "in use", record };
  // Missing, or its header not written yet: a young record of a live creator is a create under way; an old one, or
  // one whose creator on this machine has exited, was a create that crashed or whose disk was deleted by hand.
  const age = now - Date.parse(record.createdAt);
  const young = Number.isFinite(age) && age < graceMs;
  return young && creatorMayBeAlive(record) ? { state: "being created", record } : undefined;
}

function creatorMayBeAlive(record: ImageUserRecord): boolean {
  if (record.hostname !== hostname() || record.pid <= 0) return true;
  try {
    process.kill(record.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function parseRecord(text: string | undefined): ImageUserRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ImageUserRecord> | null;
    if (value === null || typeof value !== "object") return undefined;
    if (typeof value.overlayPath !== "string" || typeof value.basePath !== "string" || typeof value.createdAt !== "string") return undefined;
    return {
      version: 1,
      overlayPath: value.overlayPath,
      basePath: value.basePath,
      createdAt: value.createdAt,
      usedBy: typeof value.usedBy === "string" ? value.usedBy : "an overlay",
      hostname: typeof value.hostname === "string" ? value.hostname : "",
      pid: typeof value.pid === "number" ? value.pid : 0,
    };
  } catch {
    return undefined;
  }
}

/** Drops a record prune found stale. */
export async function dropImageUser(recordFile: string): Promise<void> {
  await removeFileDurably(recordFile);
}
