import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/durable-file.js";
import { IMAGE_CACHE_METADATA } from "../../lib/image-users.js";

import type { Logger } from "../../lib/log.js";
import { withLock } from "./lock.js";

// metadata.json is shared by every process using the cache. Each change re-reads the file under a lock,
// applies only its own entries and replaces the file atomically, so no process clobbers another's entries.

export type CacheEntryKind = "download" | "local" | "customized";

export interface CacheEntry {
  key: string;
  kind: CacheEntryKind;
  /** The image name it was last ensured as (a spec's `images[].name`). */
  name: string;
  source: string;
  resolvedUrl?: string;
  path: string;
  sha256: string;
  size: number;
  /** mtime recorded when the digest was computed; with the size, the fast-path check of a cache hit. */
  mtimeMs: number;
  downloadedAt: string;
  lastUsedAt: string;
  /** Customized overlays: the key of their base entry and the customization they were built with. */
  baseKey?: string;
  /** The base digest the overlay was built on; when the base's record changes, the overlay is stale. */
  baseSha256?: string;
  customize?: string;
}

export interface MetadataFile {
  version: 1;
  images: Record<string, CacheEntry>;
  updatedAt: string;
}

// The name is shared with lib/image-users.ts, which finds a cache by it.
export const METADATA_FILE = IMAGE_CACHE_METADATA;
const METADATA_LOCK = "metadata";

function empty(): MetadataFile {
  return { version: 1, images: {}, updatedAt: new Date(0).toISOString() };
}

function isMetadataFile(value: unknown): value is MetadataFile {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<MetadataFile>;
  return candidate.version === 1 && typeof candidate.images === "object" && candidate.images !== null;
}

export class MetadataStore {
  readonly path: string;

  constructor(
    private readonly cacheDir: string,
    private readonly locksDir: string,
    private readonly log: Logger,
  ) {
    this.path = join(cacheDir, METADATA_FILE);
  }

  /** The current entries; an unreadable file reads as empty (its images are re-verified or re-fetched). */
  async read(): Promise<MetadataFile> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return empty();
      throw error;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (isMetadataFile(parsed)) return parsed;
    } catch {
      // fall through: reported below
    }
    this.log.warn(`image cache metadata ${this.path} is not valid; treating the cache as empty`);
    return empty();
  }

  /** Re-reads, lets `change` edit the entries, writes atomically; all under the metadata lock. */
  async update(change: (images: Record<string, CacheEntry>) => void, signal?: AbortSignal): Promise<MetadataFile> {
    return withLock(
      this.locksDir,
      METADATA_LOCK,
      async () => {
        const current = await this.read();
        change(current.images);
        current.updatedAt = new Date().toISOString();
        await writeAtomically(this.path, `${JSON.stringify(current, null, 2)}\n`);
        return current;
      },
      { signal },
    );
  }
}

/** metadata and sidecar files: atomic, readable by qemu (0644), parents created 0755. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text, { mode: 0o644, makeDirs: 0o755 });
}
