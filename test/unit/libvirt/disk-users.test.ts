import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IMAGE_USERS_DIR, readBackingFile, readImageUsers } from "../../../lib/image-users.js";
import { LOCAL_HOST } from "../../../providers/libvirt/host.js";
import { createDisk, forgetDiskUser, recordDiskUser } from "../../../providers/libvirt/vm/disk.js";

// The libvirt provider's part of "prune never removes a base a VM disk uses": the record is made before the
// overlay, dropped when the overlay could not be made, made again at a start for a disk that has none, and
// removed with the disk. Real qemu-img, a cache dir laid out as ImageCache leaves it.

const run = promisify(execFile);
let work: string;
let cacheDir: string;
let base: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "testenv-disk-users-"));
  cacheDir = join(work, "cache");
  await mkdir(join(cacheDir, "0123456789abcdef"), { recursive: true });
  await writeFile(join(cacheDir, "metadata.json"), '{"version":1,"images":{},"updatedAt":""}\n');
  base = join(cacheDir, "0123456789abcdef", "abcdef012345-base.qcow2");
  await run("qemu-img", ["create", "-q", "-f", "qcow2", base, "8M"]);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const users = async (): Promise<string[][]> =>
  ((await readImageUsers(cacheDir)).uses.get(base) ?? []).map((use) => [use.state, use.record.overlayPath, use.record.usedBy]);

describe("VM disks as users of cached images", () => {
  it("records the overlay createDisk makes on a cached base, and forgets it when the disk goes", async () => {
    const disk = join(work, "disk.qcow2");
    await createDisk(LOCAL_HOST, disk, base, "16M", "libvirt VM t-web");
    expect(await readBackingFile(disk)).toBe(base);
    expect(await users()).toEqual([["in use", disk, "libvirt VM t-web"]]);
    await forgetDiskUser(LOCAL_HOST, disk);
    expect(await readdir(join(cacheDir, IMAGE_USERS_DIR))).toEqual([]);
  });

  it("drops the record when the overlay could not be made", async () => {
    await expect(createDisk(LOCAL_HOST, join(work, "no-such-dir", "disk.qcow2"), base, "16M")).rejects.toThrow(/creating the VM overlay disk/);
    expect(await readdir(join(cacheDir, IMAGE_USERS_DIR))).toEqual([]);
  });

  it("records, at a start, a disk made before records existed; a disk on a user's own image needs none", async () => {
    const disk = join(work, "old.qcow2");
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", disk]);
    await recordDiskUser(LOCAL_HOST, disk, "libvirt VM t-old");
    expect(await users()).toEqual([["in use", disk, "libvirt VM t-old"]]);
    const own = join(work, "own.qcow2");
    await run("qemu-img", ["create", "-q", "-f", "qcow2", own, "8M"]);
    await createDisk(LOCAL_HOST, join(work, "on-own.qcow2"), own, "8M");
    expect(await readdir(join(cacheDir, IMAGE_USERS_DIR))).toHaveLength(1);
  });
});
