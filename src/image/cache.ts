import { chmod, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

import type { ImageResource } from "../../api/spec.js";
import { TestenvError, errorMessage } from "../errors.js";
import { type Logger, createLogger } from "../../lib/log.js";
import {
  type Customization,
  buildOverlay,
  customizationJson,
  customizationKey,
  findExecutable,
  hasCustomization,
  requireVirtCustomize,
  validateCustomization,
} from "./customize.js";
import { discardPartial, download } from "./download.js";
import { sha256File, sha256Text } from "./hash.js";
import { tryAcquireLock, withLock } from "./lock.js";
import { makeDirs, syncDirectory } from "../../lib/durable-file.js";
import { type ImageUse, IMAGE_CACHE_SLOT, dropImageUser, readImageUsers } from "../../lib/image-users.js";
import { type CacheEntry, MetadataStore } from "./metadata.js";
import { type ImageProgress, throttledProgress } from "./progress.js";
import { type WellKnownImage, WELL_KNOWN_IMAGES } from "./registry.js";
import { classifySource } from "./source.js";

export type { ImageProgress } from "./progress.js";

// Layout of a cache directory:
//   metadata.json               one entry per key (see metadata.ts), merged under .locks/metadata
//   .locks/<slot>.lock          per-image cross-process lock (slot = first 16 hex chars of the key)
//   <slot>/<sha12>-<basename>   a downloaded image; the digest in the name means new bytes never
//                               overwrite a path an existing VM disk may use as its backing file
//   <slot>/<basename>.partial   an unfinished download, kept for resuming (+ .json validator)
//   <slot>/custom-<key12>.qcow2 a customized overlay over a cached base
// Local sources (paths, file://) are never copied: their digest, size and mtime are recorded and the
// original path is served.

/** What a caller learns of a cached image: its metadata entry without the bookkeeping. */
export type CachedImage = Pick<CacheEntry, "name" | "source" | "resolvedUrl" | "path" | "sha256" | "size" | "downloadedAt" | "key">;

export interface ImageCacheOptions {
  cacheDir: string;
  log?: Logger;
  /** Extra CA certificate(s), PEM, trusted in addition to the system roots. */
  ca?: string | Buffer;
  /** Retries after the first attempt, for 5xx and network errors. Default 2 (three attempts). */
  retries?: number;
  /** First retry delay; doubles each retry. Default 1000. */
  retryBaseMs?: number;
  /** A download fails (and is retried) after this long without data. Default 30000. */
  fetchTimeoutMs?: number;
  /** Well-known images; default WELL_KNOWN_IMAGES. */
  registry?: Record<string, WellKnownImage>;
  /** Architecture used to pick well-known URLs; default the host's. */
  arch?: string;
  /** Environment used to find virt-customize (PATH); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface EnsureOptions {
  onProgress?: (progress: ImageProgress) => void;
  /** Base directory of relative local paths; default process.cwd(). */
  rootDir?: string;
  /** Re-hash a cached file even when its size and mtime match the record. */
  fullVerify?: boolean;
  signal?: AbortSignal;
  /**
   * Download an https:// source without a pinned sha256 (the user said so, e.g. `vm sync --allow-download`): its
   * digest is recorded on first download, like a well-known image's.
   */
  allowUnpinned?: boolean;
}

export interface PruneOptions {
  /** Forget every entry and delete every cached file. */
  all?: boolean;
  /** Also remove entries not used (ensured) for more than this many days. */
  unusedForDays?: number;
}

/** One overlay that keeps an image, as `images prune` reports it. */
export interface ImageUserSummary {
  overlayPath: string;
  usedBy: string;
  state: ImageUse["state"];
  /** For a customized image's base: the customized image the overlay uses. */
  via?: string;
}

export type KeptImage = CachedImage & { usedBy: ImageUserSummary[] };

export interface PruneResult {
  removed: CachedImage[];
  /** Images prune would have removed but a VM disk still uses. */
  kept: KeptImage[];
}

export interface ResolveImageCacheDirOptions {
  /** The spec's `imageCacheDir`, relative to rootDir. */
  specDir?: string;
  env?: NodeJS.ProcessEnv;
  rootDir: string;
}

export const ROOT_IMAGE_CACHE_DIR = "/var/cache/testenv-vm/images";

/**
 * The spec's imageCacheDir, else TESTENV_VM_IMAGE_CACHE_DIR, else a per-user default. Root gets
 * /var/cache/testenv-vm/images because qemu:///system runs qemu as libvirt-qemu, which must read the
 * backing files and usually cannot enter /root; other users run qemu:///session as themselves, so
 * $XDG_CACHE_HOME (or ~/.cache)/testenv-vm/images is readable by their qemu.
 */
export function resolveImageCacheDir(options: ResolveImageCacheDirOptions): string {
  const env = options.env ?? process.env;
  const home = env.HOME ?? homedir();
  const expand = (p: string): string => (p === "~" || p.startsWith("~/") ? join(home, p.slice(1)) : p);
  if (options.specDir) return resolve(options.rootDir, expand(options.specDir));
  if (env.TESTENV_VM_IMAGE_CACHE_DIR) return resolve(expand(env.TESTENV_VM_IMAGE_CACHE_DIR));
  if (process.getuid?.() === 0) return ROOT_IMAGE_CACHE_DIR;
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, ".cache"), "testenv-vm", "images");
}

const SLOT_NAME = IMAGE_CACHE_SLOT;
const slotOf = (key: string): string => key.slice(0, 16);

interface EnsureContext {
  name: string;
  source: string;
  expected: string | undefined;
  fullVerify: boolean;
  signal: AbortSignal | undefined;
  onProgress: ((progress: ImageProgress) => void) | undefined;
}

type Check = { ok: true; entry: CacheEntry } | { ok: false; entry?: CacheEntry; reason: string };

export class ImageCache {
  readonly cacheDir: string;
  private readonly locksDir: string;
  private readonly log: Logger;
  private readonly metadata: MetadataStore;
  private readonly options: ImageCacheOptions;

  constructor(options: ImageCacheOptions) {
    this.options = options;
    this.cacheDir = resolve(options.cacheDir);
    this.locksDir = join(this.cacheDir, ".locks");
    this.log = options.log ?? createLogger("testenv-vm:image");
    this.metadata = new MetadataStore(this.cacheDir, this.locksDir, this.log);
  }

  /** The image on this host, verified: downloaded (or hashed) once, then served from the cache. */
  async ensure(image: ImageResource, options: EnsureOptions = {}): Promise<CachedImage> {
    try {
      return await this.ensureImage(image, options);
    } catch (error) {
      if (error instanceof TestenvError || options.signal?.aborted) throw error;
      // Filesystem trouble (EACCES on a shared cache dir, ENOSPC) reaches the user with the image and the dir.
      throw new TestenvError(
        "IMAGE_ERROR",
        `image ${image.name}: ${errorMessage(error)} (image cache ${this.cacheDir}; set imageCacheDir or TESTENV_VM_IMAGE_CACHE_DIR to use another)`,
        { cause: error },
      );
    }
  }

  private async ensureImage(image: ImageResource, options: EnsureOptions): Promise<CachedImage> {
    const { name, spec } = image;
    const source = classifySource(name, spec.source, {
      rootDir: options.rootDir ?? process.cwd(),
      ...(this.options.arch === undefined ? {} : { arch: this.options.arch }),
      registry: this.options.registry ?? WELL_KNOWN_IMAGES,
    });
    const expected = normalizeSha256(name, spec.sha256);
    if (source.kind === "download" && source.wellKnown === undefined && expected === undefined && options.allowUnpinned !== true) {
      throw new TestenvError(
        "IMAGE_ERROR",
        `image ${name}: ${spec.source} needs a sha256 (only well-known images may omit it); add spec.sha256 with the image's SHA-256`,
      );
    }
    const customize = hasCustomization(spec.customize) ? spec.customize : undefined;
    if (customize !== undefined) {
      validateCustomization(name, customize);
      await this.failFastWithoutVirtCustomize(name, spec.source, customize);
    }

    const context: EnsureContext = {
      name,
      source: spec.source,
      expected,
      fullVerify: options.fullVerify ?? false,
      signal: options.signal,
      onProgress: options.onProgress,
    };
    await makeDirs(this.cacheDir, 0o755);
    const base =
      source.kind === "download"
        ? await this.ensureDownloaded(context, source.url)
        : await this.ensureLocal(context, source.path, source.looksLikeRef);
    const entry = customize === undefined ? base : await this.ensureCustomized(context, base, customize);
    return toCachedImage(entry, name);
  }

  async list(): Promise<CachedImage[]> {
    const { images } = await this.metadata.read();
    return Object.values(images)
      .sort((a, b) => a.name.localeCompare(b.name) || a.key.localeCompare(b.key))
      .map((entry) => toCachedImage(entry, entry.name));
  }

  /**
   * Removes broken entries (file missing or wrong size), entries matching the options, customized
   * overlays whose base goes or changed, and unrecorded files (stale partials, replaced versions). Never an image
   * a VM disk still uses as its backing file (lib/image-users.ts), nor the base of a customized image that one
   * uses: those are kept, with who uses them. Images being downloaded right now (their lock is held) are skipped.
   * Local sources are only forgotten, never deleted.
   */
  async prune(options: PruneOptions = {}): Promise<PruneResult> {
    const { images } = await this.metadata.read();
    const doomed = new Set<string>();
    const cutoff = options.unusedForDays === undefined ? undefined : Date.now() - options.unusedForDays * 86_400_000;
    for (const entry of Object.values(images)) {
      const unused = cutoff !== undefined && Date.parse(entry.lastUsedAt) < cutoff;
      const base = entry.baseKey === undefined ? undefined : images[entry.baseKey];
      const staleOverlay = entry.baseKey !== undefined && base?.sha256 !== entry.baseSha256;
      if (options.all || unused || staleOverlay || !(await sizeMatches(entry))) doomed.add(entry.key);
    }
    for (let grew = true; grew; ) {
      grew = false;
      for (const entry of Object.values(images)) {
        if (entry.baseKey !== undefined && doomed.has(entry.baseKey) && !doomed.has(entry.key)) {
          doomed.add(entry.key);
          grew = true;
        }
      }
    }

    const users = await readImageUsers(this.cacheDir);
    for (const record of users.stale) await dropImageUser(record);
    const keptFor = usersByEntry(images, users.uses);
    const removed: CacheEntry[] = [];
    const kept: KeptImage[] = [];
    for (const key of doomed) {
      const entry = images[key];
      if (entry === undefined) continue;
      const usedBy = keptFor.get(key);
      if (usedBy !== undefined) {
        kept.push({ ...toCachedImage(entry, entry.name), usedBy });
        continue;
      }
      const held = await tryAcquireLock(this.locksDir, slotOf(key));
      if (held === undefined) {
        this.log.info(`prune: image ${entry.name} is in use by another process; kept`);
        continue;
      }
      try {
        if (entry.kind !== "local" && this.isInsideCache(entry.path)) await rm(entry.path, { force: true });
        removed.push(entry);
      } finally {
        await held.release();
      }
    }
    if (removed.length > 0) {
      await this.metadata.update((current) => {
        for (const entry of removed) delete current[entry.key];
      });
    }
    await this.removeUnrecordedFiles(new Set(users.uses.keys()));
    return { removed: removed.map((entry) => toCachedImage(entry, entry.name)), kept };
  }

  /** How many VM disks (overlays) use each cached image, by key; for `images list`. */
  async userCounts(): Promise<Map<string, number>> {
    const { images } = await this.metadata.read();
    const counts = new Map<string, number>();
    for (const [key, uses] of usersByEntry(images, (await readImageUsers(this.cacheDir)).uses)) counts.set(key, uses.length);
    return counts;
  }

  private async ensureDownloaded(context: EnsureContext, url: string): Promise<CacheEntry> {
    const key = sha256Text(`download\0${url}`);
    const quick = await this.check(key, context);
    if (quick.ok) return this.markUsed(quick.entry, context.name);

    return withLock(
      this.locksDir,
      slotOf(key),
      async (signal) => {
        // Another process may have finished it while we waited, or left it corrupt.
        const checked = await this.check(key, { ...context, signal });
        if (checked.ok) return this.markUsed(checked.entry, context.name);
        await this.discardBroken(checked);
        return this.downloadInto(key, url, { ...context, signal });
      },
      { signal: context.signal, onWait: () => this.log.info(`image ${context.name}: another process is fetching ${url}; waiting for it`) },
    );
  }

  private async downloadInto(key: string, url: string, context: EnsureContext): Promise<CacheEntry> {
    const dir = join(this.cacheDir, slotOf(key));
    await makeDirs(dir, 0o755);
    const fileName = fileNameFromUrl(url);
    const partial = join(dir, `${fileName}.partial`);
    this.log.info(`image ${context.name}: downloading ${url}`);
    const result = await download({
      url,
      partialPath: partial,
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
      retries: this.options.retries ?? 2,
      retryBaseMs: this.options.retryBaseMs ?? 1000,
      fetchTimeoutMs: this.options.fetchTimeoutMs ?? 30_000,
      log: this.log,
      ...(context.signal === undefined ? {} : { signal: context.signal }),
      ...(context.onProgress === undefined ? {} : { onBytes: throttledProgress(context.name, context.onProgress) }),
    });
    if (context.expected !== undefined && result.sha256 !== context.expected) {
      await discardPartial(partial);
      throw checksumMismatch(context.name, url, context.expected, result.sha256, "the downloaded file was removed");
    }
    const path = join(dir, `${result.sha256.slice(0, 12)}-${fileName}`);
    await chmod(partial, 0o644);
    await rename(partial, path);
    await rm(`${partial}.json`, { force: true });
    await syncDirectory(dir);
    const now = new Date().toISOString();
    // From here on the work is done: recording it is not cancelled, or the bytes would be orphaned.
    const entry: CacheEntry = {
      key,
      kind: "download",
      name: context.name,
      source: context.source,
      resolvedUrl: url,
      path,
      sha256: result.sha256,
      size: result.size,
      mtimeMs: (await stat(path)).mtimeMs,
      downloadedAt: now,
      lastUsedAt: now,
    };
    await this.metadata.update((images) => {
      images[key] = entry;
    });
    this.log.info(`image ${context.name}: cached ${path} (sha256 ${result.sha256}, ${result.size} bytes)`);
    return entry;
  }

  private async ensureLocal(context: EnsureContext, path: string, looksLikeRef: boolean): Promise<CacheEntry> {
    const before = await stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
      const known = Object.keys(this.options.registry ?? WELL_KNOWN_IMAGES).join(", ");
      const hint = looksLikeRef ? ` and "${context.source}" is not a well-known image either (known: ${known})` : "";
      throw new TestenvError("IMAGE_ERROR", `image ${context.name}: local image ${path} does not exist${hint}`, { cause: error });
    });
    if (!before.isFile()) throw new TestenvError("IMAGE_ERROR", `image ${context.name}: ${path} is not a regular file`);
    const key = sha256Text(`local\0${path}`);
    const recorded = (await this.metadata.read()).images[key];
    const unchanged = recorded !== undefined && recorded.size === before.size && recorded.mtimeMs === before.mtimeMs;
    if (unchanged && !context.fullVerify) {
      this.assertPinned(context, recorded, path);
      return this.markUsed(recorded, context.name);
    }

    return withLock(
      this.locksDir,
      slotOf(key),
      async (signal) => {
        const { sha256, size } = await sha256File(path, signal);
        const after = await stat(path);
        if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
          throw new TestenvError("IMAGE_ERROR", `image ${context.name}: ${path} changed while it was being hashed; retry when nothing writes to it`);
        }
        const now = new Date().toISOString();
        const entry: CacheEntry = {
          key,
          kind: "local",
          name: context.name,
          source: context.source,
          path,
          sha256,
          size,
          mtimeMs: after.mtimeMs,
          downloadedAt: recorded?.sha256 === sha256 ? recorded.downloadedAt : now,
          lastUsedAt: now,
        };
        this.assertPinned(context, entry, path);
        await this.metadata.update((images) => {
          images[key] = entry;
        });
        return entry;
      },
      { signal: context.signal },
    );
  }

  private assertPinned(context: EnsureContext, entry: CacheEntry, path: string): void {
    if (context.expected !== undefined && entry.sha256 !== context.expected) {
      throw checksumMismatch(context.name, path, context.expected, entry.sha256, "the file was left in place (it is yours)");
    }
  }

  private async ensureCustomized(context: EnsureContext, base: CacheEntry, customize: Customization): Promise<CacheEntry> {
    const key = customizationKey(base.sha256, customize);
    const quick = await this.check(key, { ...context, expected: undefined });
    if (quick.ok) return this.markUsed(quick.entry, context.name);

    return withLock(
      this.locksDir,
      slotOf(key),
      async (signal) => {
        const checked = await this.check(key, { ...context, expected: undefined, signal });
        if (checked.ok) return this.markUsed(checked.entry, context.name);
        await this.discardBroken(checked);
        const virtCustomize = await requireVirtCustomize(context.name, this.options.env);
        const dir = join(this.cacheDir, slotOf(key));
        await makeDirs(dir, 0o755);
        const path = join(dir, `custom-${key.slice(0, 12)}.qcow2`);
        const partial = `${path}.partial`;
        await rm(partial, { force: true });
        try {
          await buildOverlay({
            image: context.name,
            basePath: base.path,
            outPath: partial,
            customize,
            virtCustomize,
            log: this.log,
            signal,
            ...(this.options.env === undefined ? {} : { env: this.options.env }),
          });
          const { sha256, size } = await sha256File(partial, signal);
          await chmod(partial, 0o644);
          await rename(partial, path);
          await syncDirectory(dir);
          const now = new Date().toISOString();
          const entry: CacheEntry = {
            key,
            kind: "customized",
            name: context.name,
            source: context.source,
            ...(base.resolvedUrl === undefined ? {} : { resolvedUrl: base.resolvedUrl }),
            path,
            sha256,
            size,
            mtimeMs: (await stat(path)).mtimeMs,
            downloadedAt: now,
            lastUsedAt: now,
            baseKey: base.key,
            baseSha256: base.sha256,
            customize: customizationJson(customize),
          };
          await this.metadata.update((images) => {
            images[key] = entry;
          });
          return entry;
        } catch (error) {
          await rm(partial, { force: true });
          throw error;
        }
      },
      { signal: context.signal, onWait: () => this.log.info(`image ${context.name}: another process is customizing it; waiting`) },
    );
  }

  /** Without virt-customize, fail before a long base download unless the overlay is already cached. */
  private async failFastWithoutVirtCustomize(name: string, source: string, customize: Customization): Promise<void> {
    if ((await findExecutable("virt-customize", this.options.env)) !== undefined) return;
    const json = customizationJson(customize);
    const { images } = await this.metadata.read();
    const cached = Object.values(images).some((e) => e.kind === "customized" && e.source === source && e.customize === json);
    if (!cached) await requireVirtCustomize(name, this.options.env);
  }

  /** Is the recorded entry still exactly what was recorded (and what the spec pins)? Read-only. */
  private async check(key: string, context: EnsureContext): Promise<Check> {
    const entry = (await this.metadata.read()).images[key];
    if (entry === undefined) return { ok: false, reason: "not cached" };
    if (context.expected !== undefined && entry.sha256 !== context.expected) {
      // A different version than the one pinned: not an error, and not corrupt; fetch the pinned one.
      return { ok: false, reason: `cached digest ${entry.sha256} is not the pinned ${context.expected}` };
    }
    const current = await stat(entry.path).catch(() => undefined);
    if (current === undefined) return { ok: false, entry, reason: "file missing" };
    if (current.size !== entry.size) return { ok: false, entry, reason: `size ${current.size}, recorded ${entry.size}` };
    if (!context.fullVerify && current.mtimeMs === entry.mtimeMs) return { ok: true, entry };
    const { sha256 } = await sha256File(entry.path, context.signal);
    if (sha256 !== entry.sha256) return { ok: false, entry, reason: `sha256 ${sha256}, recorded ${entry.sha256}` };
    if (current.mtimeMs !== entry.mtimeMs) {
      const refreshed = { ...entry, mtimeMs: current.mtimeMs };
      await this.metadata.update((images) => {
        if (images[key]?.sha256 === entry.sha256) images[key] = refreshed;
      }, context.signal);
      return { ok: true, entry: refreshed };
    }
    return { ok: true, entry };
  }

  /** Called under the image's lock: a corrupt or partial cached file is never served, so it goes. */
  private async discardBroken(check: Check): Promise<void> {
    if (check.ok || check.entry === undefined) return;
    const { entry } = check;
    this.log.warn(`image ${entry.name}: cached ${entry.path} is not usable (${check.reason}); fetching it again`);
    if (entry.kind !== "local" && this.isInsideCache(entry.path)) await rm(entry.path, { force: true });
    await this.metadata.update((images) => {
      if (images[entry.key]?.path === entry.path) delete images[entry.key];
    });
  }

  private async markUsed(entry: CacheEntry, name: string): Promise<CacheEntry> {
    const used = { ...entry, name, lastUsedAt: new Date().toISOString() };
    await this.metadata.update((images) => {
      if (images[entry.key]?.sha256 === entry.sha256) images[entry.key] = used;
    });
    return used;
  }

  /** Deletes files in slot directories that no entry records (old versions, abandoned partials) and no VM disk uses. */
  private async removeUnrecordedFiles(inUse: ReadonlySet<string>): Promise<void> {
    const dirents = await readdir(this.cacheDir, { withFileTypes: true }).catch(() => []);
    for (const dirent of dirents) {
      // Only our own slot directories: a cache dir pointed at the wrong place must not lose anything else.
      if (!dirent.isDirectory() || !SLOT_NAME.test(dirent.name)) continue;
      const held = await tryAcquireLock(this.locksDir, dirent.name);
      if (held === undefined) continue;
      try {
        const { images } = await this.metadata.read();
        const recorded = new Set(Object.values(images).map((entry) => entry.path));
        const dir = join(this.cacheDir, dirent.name);
        for (const file of await readdir(dir)) {
          const path = join(dir, file);
          if (recorded.has(path)) continue;
          if (inUse.has(path)) {
            this.log.info(`prune: kept unrecorded ${path}: a VM disk uses it as its backing file`);
            continue;
          }
          this.log.info(`prune: removing unrecorded ${path}`);
          await rm(path, { force: true, recursive: true });
        }
        await rmdir(dir).catch(() => undefined);
      } finally {
        await held.release();
      }
    }
  }

  private isInsideCache(path: string): boolean {
    const rel = relative(this.cacheDir, path);
    return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
  }
}

/**
 * The users of each entry by key: the overlays whose backing file is its path, and, for the base of a customized
 * image, the users of that customized image (the overlay's chain runs through it).
 */
function usersByEntry(images: Record<string, CacheEntry>, uses: ReadonlyMap<string, readonly ImageUse[]>): Map<string, ImageUserSummary[]> {
  const result = new Map<string, ImageUserSummary[]>();
  const add = (key: string, summaries: readonly ImageUserSummary[]): void => {
    if (summaries.length > 0) result.set(key, [...(result.get(key) ?? []), ...summaries]);
  };
  const direct = (entry: CacheEntry): ImageUserSummary[] =>
    (uses.get(entry.path) ?? []).map((use) => ({ overlayPath: use.record.overlayPath, usedBy: use.record.usedBy, state: use.state }));
  for (const entry of Object.values(images)) {
    const summaries = direct(entry);
    add(entry.key, summaries);
    // Up the chain of bases (a customized image's base may itself be customized).
    const seen = new Set([entry.key]);
    for (let base = entry.baseKey === undefined ? undefined : images[entry.baseKey]; base !== undefined && !seen.has(base.key); base = base.baseKey === undefined ? undefined : images[base.baseKey]) {
      seen.add(base.key);
      add(base.key, summaries.map((summary) => ({ ...summary, via: summary.via ?? entry.path })));
    }
  }
  return result;
}

async function sizeMatches(entry: CacheEntry): Promise<boolean> {
  const current = await stat(entry.path).catch(() => undefined);
  return current?.size === entry.size;
}

function toCachedImage(entry: CacheEntry, name: string): CachedImage {
  return {
    name,
    source: entry.source,
    ...(entry.resolvedUrl === undefined ? {} : { resolvedUrl: entry.resolvedUrl }),
    path: entry.path,
    sha256: entry.sha256,
    size: entry.size,
    downloadedAt: entry.downloadedAt,
    key: entry.key,
  };
}

function normalizeSha256(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const hex = value.trim().replace(/^sha256:/i, "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new TestenvError("IMAGE_ERROR", `image ${name}: sha256 "${value}" is not 64 hexadecimal characters`);
  }
  return hex;
}

function checksumMismatch(name: string, from: string, expected: string, actual: string, fate: string): TestenvError {
  return new TestenvError(
    "IMAGE_ERROR",
    `image ${name}: checksum mismatch for ${from}: expected ${expected}, got ${actual}; ${fate}. ` +
      "If the image was updated upstream, update sha256 in the spec; otherwise the file is corrupt or was tampered with.",
    { details: { image: name, source: from, expected, actual } },
  );
}

/** A safe file name from the URL's last path segment. */
function fileNameFromUrl(url: string): string {
  let last = new URL(url).pathname.split("/").filter(Boolean).pop() ?? "";
  try {
    last = decodeURIComponent(last);
  } catch {
    // keep the encoded form
  }
  const safe = last.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "");
  return safe === "" ? "image" : safe.slice(0, 120);
}
