import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { ImageResource } from "../../../api/spec.js";
import { TestenvError } from "../../../src/errors.js";
import { ImageCache, ROOT_IMAGE_CACHE_DIR, resolveImageCacheDir } from "../../../src/image/cache.js";

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
const image = (name: string, source: string, sum?: string): ImageResource => ({ name, spec: { source, ...(sum ? { sha256: sum } : {}) } });

let work: string;
let cacheDir: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "testenv-image-local-"));
  cacheDir = join(work, "cache");
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<TestenvError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TestenvError);
  return error as TestenvError;
}

describe("local sources", () => {
  it("hashes a relative path against rootDir, records it and serves the original file", async () => {
    const data = randomBytes(200_000);
    await mkdir(join(work, "images"));
    await writeFile(join(work, "images", "tiny.qcow2"), data);
    const cache = new ImageCache({ cacheDir });
    const result = await cache.ensure(image("tiny", "images/tiny.qcow2"), { rootDir: work });
    expect(result).toMatchObject({ name: "tiny", source: "images/tiny.qcow2", path: join(work, "images", "tiny.qcow2"), sha256: sha256(data), size: data.length });
    expect(result.resolvedUrl).toBeUndefined();
    expect(await cache.list()).toEqual([result]);
  });

  it("accepts a file:// URL and checks a pinned sha256 without touching the user's file", async () => {
    const path = join(work, "disk image.qcow2");
    const data = randomBytes(1000);
    await writeFile(path, data);
    const cache = new ImageCache({ cacheDir });
    const ok = await cache.ensure(image("u", pathToFileURL(path).href, sha256(data)));
    expect(ok.path).toBe(path);
    const error = await rejection(cache.ensure(image("u", pathToFileURL(path).href, "f".repeat(64))));
    expect(error.message).toContain(`image u: checksum mismatch for ${path}: expected ${"f".repeat(64)}, got ${sha256(data)}`);
    expect(sha256(await readFile(path))).toBe(sha256(data));
  });

  it("re-hashes a local file that changed since it was recorded", async () => {
    const path = join(work, "base.img");
    await writeFile(path, "one");
    const cache = new ImageCache({ cacheDir });
    const first = await cache.ensure(image("b", path));
    await writeFile(path, "two!");
    const later = new Date(Date.now() + 5_000);
    await utimes(path, later, later);
    const second = await cache.ensure(image("b", path));
    expect(second.sha256).toBe(sha256(Buffer.from("two!")));
    expect(second.sha256).not.toBe(first.sha256);
    expect(await cache.list()).toHaveLength(1);
  });

  it("explains a missing file, and that an unknown name:tag is not a well-known image", async () => {
    const cache = new ImageCache({ cacheDir });
    const missing = await rejection(cache.ensure(image("x", "nope.img"), { rootDir: work }));
    expect(missing.message).toBe(`image x: local image ${join(work, "nope.img")} does not exist`);
    const typo = await rejection(cache.ensure(image("y", "ubuntu:24.4"), { rootDir: work }));
    expect(typo.message).toContain('"ubuntu:24.4" is not a well-known image either (known: ubuntu:24.04, ubuntu:22.04, debian:12, debian:13)');
  });

  it("creates cache directories readable by qemu running as another user, whatever the umask", async () => {
    await writeFile(join(work, "a.img"), "a");
    const previous = process.umask(0o077);
    try {
      await new ImageCache({ cacheDir: join(cacheDir, "deep") }).ensure(image("a", join(work, "a.img")));
    } finally {
      process.umask(previous);
    }
    expect((await stat(cacheDir)).mode & 0o777).toBe(0o755);
    expect((await stat(join(cacheDir, "deep", ".locks"))).mode & 0o777).toBe(0o755);
  });

  it("reports filesystem failures as IMAGE_ERROR naming the image and the cache dir", async () => {
    await writeFile(join(work, "a.img"), "a");
    await writeFile(join(work, "file"), "not a directory");
    const error = await rejection(new ImageCache({ cacheDir: join(work, "file", "cache") }).ensure(image("a", join(work, "a.img"))));
    expect(error.code).toBe("IMAGE_ERROR");
    expect(error.message).toMatch(/^image a: ENOTDIR.*\(image cache .*\/file\/cache; set imageCacheDir or TESTENV_VM_IMAGE_CACHE_DIR/);
  });

  it("refuses other URL schemes", async () => {
    const error = await rejection(new ImageCache({ cacheDir }).ensure(image("s", "s3://bucket/x.img")));
    expect(error.message).toContain("uses s3://");
  });
});

describe("metadata", () => {
  it("keeps every entry when several caches record images at the same time", async () => {
    const names = Array.from({ length: 8 }, (_, i) => `img${i}`);
    for (const name of names) await writeFile(join(work, name), name);
    await Promise.all(names.map((name) => new ImageCache({ cacheDir }).ensure(image(name, join(work, name)))));
    const listed = await new ImageCache({ cacheDir }).list();
    expect(listed.map((e) => e.name)).toEqual(names);
    const metadata = JSON.parse(await readFile(join(cacheDir, "metadata.json"), "utf8")) as { version: number; images: object };
    expect(metadata.version).toBe(1);
    expect(Object.keys(metadata.images)).toHaveLength(8);
  });

  it("treats unreadable metadata as an empty cache instead of failing", async () => {
    await writeFile(join(work, "a.img"), "a");
    const cache = new ImageCache({ cacheDir });
    await cache.ensure(image("a", join(work, "a.img")));
    await writeFile(join(cacheDir, "metadata.json"), "{ not json");
    expect(await cache.list()).toEqual([]);
    const again = await cache.ensure(image("a", join(work, "a.img")));
    expect(await cache.list()).toEqual([again]);
  });
});

describe("prune", () => {
  it("forgets local images (never deleting them), removes unused and unrecorded files", async () => {
    await writeFile(join(work, "keep.img"), "keep");
    const cache = new ImageCache({ cacheDir });
    const local = await cache.ensure(image("keep", join(work, "keep.img")));
    // A stale partial and an old version left in a slot directory of ours, plus a foreign directory.
    const slot = join(cacheDir, "0123456789abcdef");
    await mkdir(slot, { recursive: true });
    await writeFile(join(slot, "old.img.partial"), "x");
    await mkdir(join(cacheDir, "not-ours"));

    expect((await cache.prune()).removed).toEqual([]);
    await expect(stat(slot)).rejects.toThrow();
    expect((await stat(join(cacheDir, "not-ours"))).isDirectory()).toBe(true);
    expect(await cache.list()).toEqual([local]);

    expect((await cache.prune({ unusedForDays: 1 })).removed).toEqual([]);
    const metadataPath = join(cacheDir, "metadata.json");
    const metadata = JSON.parse(await readFile(metadataPath, "utf8"));
    metadata.images[local.key].lastUsedAt = new Date(Date.now() - 3 * 86_400_000).toISOString();
    await writeFile(metadataPath, JSON.stringify(metadata));
    expect((await cache.prune({ unusedForDays: 2 })).removed).toEqual([local]);
    expect(await cache.list()).toEqual([]);
    expect(await readFile(join(work, "keep.img"), "utf8")).toBe("keep");
  });

  it("with all, deletes every cached file and forgets every entry", async () => {
    await writeFile(join(work, "a.img"), "a");
    const cache = new ImageCache({ cacheDir });
    await cache.ensure(image("a", join(work, "a.img")));
    const { removed } = await cache.prune({ all: true });
    expect(removed.map((e) => e.name)).toEqual(["a"]);
    expect(await cache.list()).toEqual([]);
  });
});

describe("resolveImageCacheDir", () => {
  const asUser = process.getuid?.() !== 0;

  it("prefers the spec, then TESTENV_VM_IMAGE_CACHE_DIR, then a per-user or system default", () => {
    expect(resolveImageCacheDir({ specDir: "cache", rootDir: "/proj", env: { TESTENV_VM_IMAGE_CACHE_DIR: "/env" } })).toBe("/proj/cache");
    expect(resolveImageCacheDir({ rootDir: "/proj", env: { TESTENV_VM_IMAGE_CACHE_DIR: "/env/images" } })).toBe("/env/images");
    expect(resolveImageCacheDir({ specDir: "~/imgs", rootDir: "/proj", env: { HOME: "/home/u" } })).toBe("/home/u/imgs");
    const fallback = resolveImageCacheDir({ rootDir: "/proj", env: { HOME: "/home/u" } });
    expect(fallback).toBe(asUser ? "/home/u/.cache/testenv-vm/images" : ROOT_IMAGE_CACHE_DIR);
    if (asUser) {
      expect(resolveImageCacheDir({ rootDir: "/p", env: { HOME: "/home/u", XDG_CACHE_HOME: "/xdg" } })).toBe("/xdg/testenv-vm/images");
    }
  });
});
