import { execFile, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  IMAGE_USERS_DIR,
  PENDING_USER_GRACE_MS,
  forgetImageUser,
  imageCacheOf,
  readBackingFile,
  readImageUsers,
  recordImageUser,
} from "../../../lib/image-users.js";
import { ImageCache } from "../../../src/image/cache.js";

// The records of who uses a cached image, and the qcow2 header reader prune judges them with: real files, real
// qcow2 overlays made by qemu-img, in a throwaway directory.

const run = promisify(execFile);
let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "testenv-image-users-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const overlay = async (path: string, base: string, baseFormat = "raw"): Promise<void> => {
  await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", baseFormat, path]);
};

/** A cache dir laid out as ImageCache leaves it: metadata.json and one slot with one image. */
async function fakeCache(): Promise<{ cacheDir: string; base: string }> {
  const cacheDir = join(work, "cache");
  await mkdir(join(cacheDir, "0123456789abcdef"), { recursive: true });
  await writeFile(join(cacheDir, "metadata.json"), '{"version":1,"images":{},"updatedAt":""}\n');
  const base = join(cacheDir, "0123456789abcdef", "abcdef012345-base.img");
  await writeFile(base, Buffer.alloc(1024 * 1024));
  return { cacheDir, base };
}

describe("readBackingFile", () => {
  it("reads the backing file name from a qcow2 header, resolved against the overlay's directory", async () => {
    const base = join(work, "base.img");
    await writeFile(base, Buffer.alloc(1024 * 1024));
    await overlay(join(work, "abs.qcow2"), base);
    expect(await readBackingFile(join(work, "abs.qcow2"))).toBe(base);
    await mkdir(join(work, "vm"));
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "../base.img", "-F", "raw", join(work, "vm", "rel.qcow2")]);
    expect(await readBackingFile(join(work, "vm", "rel.qcow2"))).toBe(base);
  });

  it("is undefined for a qcow2 without a backing file and for a file that is not qcow2", async () => {
    await run("qemu-img", ["create", "-q", "-f", "qcow2", join(work, "blank.qcow2"), "1M"]);
    expect(await readBackingFile(join(work, "blank.qcow2"))).toBeUndefined();
    await writeFile(join(work, "raw.img"), Buffer.alloc(4096, 1));
    expect(await readBackingFile(join(work, "raw.img"))).toBeUndefined();
    await writeFile(join(work, "short"), "QFI");
    expect(await readBackingFile(join(work, "short"))).toBeUndefined();
  });

  it("throws ENOENT for a missing file, so callers can tell gone from unreadable", async () => {
    await expect(readBackingFile(join(work, "nope.qcow2"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("image user records", () => {
  it("finds the cache of a cached file, and none for a user's own image or a slot-shaped dir without metadata", async () => {
    const { cacheDir, base } = await fakeCache();
    expect(await imageCacheOf(base)).toBe(cacheDir);
    expect(await imageCacheOf(join(work, "base.img"))).toBeUndefined();
    await mkdir(join(work, "other", "fedcba9876543210"), { recursive: true });
    expect(await imageCacheOf(join(work, "other", "fedcba9876543210", "x.img"))).toBeUndefined();
    expect(await recordImageUser({ overlayPath: join(work, "d.qcow2"), basePath: join(work, "base.img"), usedBy: "t" })).toBeUndefined();
  });

  it("counts a live overlay, a young record whose overlay is not made yet, and drops old or re-based ones", async () => {
    const { cacheDir, base } = await fakeCache();
    const live = join(work, "live.qcow2");
    const pending = join(work, "pending.qcow2");
    const crashed = join(work, "crashed.qcow2");
    const rebased = join(work, "rebased.qcow2");
    for (const path of [live, pending, crashed, rebased]) await recordImageUser({ overlayPath: path, basePath: base, usedBy: `VM ${path}` });
    await overlay(live, base);
    const other = join(work, "other.img");
    await writeFile(other, Buffer.alloc(1024 * 1024));
    await overlay(rebased, other);
    const records = await readdir(join(cacheDir, IMAGE_USERS_DIR));
    expect(records).toHaveLength(4);
    expect((await stat(join(cacheDir, IMAGE_USERS_DIR, records[0]!))).mode & 0o777).toBe(0o644);

    const now = await readImageUsers(cacheDir);
    expect(
      (now.uses.get(base) ?? []).map((use) => [use.state, use.record.overlayPath, use.record.usedBy]).sort(),
    ).toEqual(
      [
        ["being created", crashed, `VM ${crashed}`],
        ["being created", pending, `VM ${pending}`],
        ["being created", rebased, `VM ${rebased}`],
        ["in use", live, `VM ${live}`],
      ].sort(),
    );
    expect(now.stale).toEqual([]);

    const later = await readImageUsers(cacheDir, { now: Date.now() + PENDING_USER_GRACE_MS + 1000 });
    expect((later.uses.get(base) ?? []).map((use) => [use.state, use.record.overlayPath])).toEqual([["in use", live]]);
    expect(later.stale).toHaveLength(3);
  });

  it("drops at once a young record whose overlay is missing when its creator on this machine has exited", async () => {
    const { cacheDir, base } = await fakeCache();
    const path = await recordImageUser({ overlayPath: join(work, "gone.qcow2"), basePath: base, usedBy: "VM" });
    const exited = spawnSync("true").pid;
    const record = JSON.parse(await readFile(path!, "utf8")) as Record<string, unknown>;
    await writeFile(path!, JSON.stringify({ ...record, pid: exited }));
    const users = await readImageUsers(cacheDir);
    expect(users.uses.size).toBe(0);
    expect(users.stale).toEqual([path]);
  });

  it("counts an overlay it cannot read as a user", async () => {
    if (process.getuid?.() === 0) return; // root reads a 0000 file anyway
    const { cacheDir, base } = await fakeCache();
    const disk = join(work, "locked.qcow2");
    await recordImageUser({ overlayPath: disk, basePath: base, usedBy: "VM" });
    await overlay(disk, base);
    await chmod(disk, 0);
    const users = await readImageUsers(cacheDir, { now: Date.now() + PENDING_USER_GRACE_MS + 1000 });
    expect(users.uses.get(base)?.map((use) => use.state)).toEqual(["unreadable"]);
  });

  it("forgets an overlay's record through the overlay's own backing file, and ignores a record that is not JSON", async () => {
    const { cacheDir, base } = await fakeCache();
    const disk = join(work, "disk.qcow2");
    await recordImageUser({ overlayPath: disk, basePath: base, usedBy: "VM" });
    await overlay(disk, base);
    await writeFile(join(cacheDir, IMAGE_USERS_DIR, "junk.json"), "{not json");
    await forgetImageUser(disk);
    expect(await readdir(join(cacheDir, IMAGE_USERS_DIR))).toEqual(["junk.json"]);
    expect((await readImageUsers(cacheDir)).uses.size).toBe(0);
    await forgetImageUser(join(work, "never-made.qcow2")); // absent: nothing to do
  });
});

describe("prune with image users", () => {
  it("keeps a customized image a VM disk uses, and its base, then removes them once the disk is gone", async () => {
    // A customized image is a qcow2 in a cache slot: the one kind of cached file a local source yields.
    const bin = join(work, "bin");
    await mkdir(bin);
    await writeFile(join(bin, "virt-customize"), "#!/bin/sh\nexit 0\n");
    await chmod(join(bin, "virt-customize"), 0o755);
    const base = join(work, "base.qcow2");
    await run("qemu-img", ["create", "-q", "-f", "qcow2", base, "16M"]);
    const cache = new ImageCache({ cacheDir: join(work, "cache"), env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` } });
    const custom = await cache.ensure({ name: "web", spec: { source: base, customize: { runcmd: ["true"] } } });
    const disk = join(work, "vm", "disk.qcow2");
    await mkdir(join(work, "vm"));
    await recordImageUser({ overlayPath: disk, basePath: custom.path, usedBy: "libvirt VM web-1" });
    await overlay(disk, custom.path, "qcow2");
    const { removed, kept } = await cache.prune({ all: true });
    expect(removed).toEqual([]);
    expect(kept.map((image) => [image.path, image.usedBy])).toEqual(
      expect.arrayContaining([
        [custom.path, [{ overlayPath: disk, usedBy: "libvirt VM web-1", state: "in use" }]],
        [base, [{ overlayPath: disk, usedBy: "libvirt VM web-1", state: "in use", via: custom.path }]],
      ]),
    );
    expect(kept).toHaveLength(2);
    expect((await stat(custom.path)).isFile()).toBe(true);
    expect([...(await cache.userCounts()).values()]).toEqual([1, 1]);

    // As the provider deletes a VM: the record first, then the disk.
    await forgetImageUser(disk);
    await rm(disk);
    const after = await cache.prune({ all: true });
    expect(after.kept).toEqual([]);
    expect(after.removed.map((image) => image.path).sort()).toEqual([base, custom.path].sort());
    await expect(stat(custom.path)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(join(work, "cache", IMAGE_USERS_DIR))).toEqual([]);
  });

  it("keeps a file no metadata records any more while a VM disk still uses it", async () => {
    const { cacheDir, base } = await fakeCache();
    const disk = join(work, "disk.qcow2");
    await recordImageUser({ overlayPath: disk, basePath: base, usedBy: "VM" });
    await overlay(disk, base);
    await new ImageCache({ cacheDir }).prune({ all: true });
    expect((await stat(base)).isFile()).toBe(true);
    await forgetImageUser(disk);
    await rm(disk);
    await new ImageCache({ cacheDir }).prune({ all: true });
    await expect(stat(base)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
