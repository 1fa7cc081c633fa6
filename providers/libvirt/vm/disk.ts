import { ProviderError, invalidSpec } from "../../kit/index.js";
import { dropImageUser, forgetImageUser, readBackingFile, recordImageUser } from "../../../lib/image-users.js";
import type { LibvirtHost } from "../host.js";

const UNITS: Record<string, number> = { "": 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "10G", "512M", "20GiB", "1073741824" → bytes. */
export function parseSize(value: string, field = "spec.disk.size"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(value);
  if (!match) throw invalidSpec(`${field}: "${value}" is not a size such as 10G or 512M`);
  const bytes = Math.round(Number(match[1]) * (UNITS[(match[2] ?? "").toUpperCase()] ?? 1));
  if (bytes < 1024 * 1024) throw invalidSpec(`${field}: "${value}" is smaller than 1M`);
  return bytes;
}

interface ImageInfo {
  format: string;
  virtualSize: number;
}

/** Runs on the libvirt host and turns a failure into a PROVIDER_ERROR that says what we were doing. */
async function onHost(host: LibvirtHost, what: string, command: string, args: readonly string[]): Promise<string> {
  try {
    return (await host.run(command, args)).stdout;
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    throw new ProviderError("PROVIDER_ERROR", `${what}${host.remote ? ` on ${host.name}` : ""}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export async function imageInfo(host: LibvirtHost, path: string): Promise<ImageInfo> {
  const stdout = await onHost(host, `reading base image ${path}`, "qemu-img", ["info", "--output=json", "-U", path]);
  const info = JSON.parse(stdout) as { format?: string; "virtual-size"?: number };
  return { format: info.format ?? "raw", virtualSize: info["virtual-size"] ?? 0 };
}

/** qemu-img's argv for the disk before the base image is looked at (create grows the size to the base's). */
export function diskArgv(diskPath: string, baseImage: string | undefined, size: string): string[] {
  const bytes = String(parseSize(size));
  return baseImage === undefined ? ["qemu-img", "create", "-q", "-f", "qcow2", diskPath, bytes] : ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "<format of the base>", "-b", baseImage, diskPath, bytes];
}

/**
 * A qcow2 overlay on the base image, at least `size` large; or a blank qcow2 disk when there is no base. A base in
 * this machine's image cache gets a user record first (lib/image-users.ts), so `images prune` keeps it while the
 * overlay exists; a remote host's copy is its own cache, which local prune never touches.
 */
export async function createDisk(host: LibvirtHost, diskPath: string, baseImage: string | undefined, size: string, usedBy = "libvirt VM disk"): Promise<void> {
  const bytes = parseSize(size);
  if (baseImage === undefined) {
    await onHost(host, "creating the VM disk", "qemu-img", ["create", "-q", "-f", "qcow2", diskPath, String(bytes)]);
    return;
  }
  const record = host.remote ? undefined : await recordUser(diskPath, baseImage, usedBy);
  try {
    if (!(await host.exists(baseImage))) throw invalidSpec(`spec.disk.baseImage: ${baseImage} does not exist or is not readable`);
    const base = await imageInfo(host, baseImage);
    // An overlay smaller than its base would hide the end of the base disk: grow, never shrink.
    const target = Math.max(bytes, base.virtualSize);
    await onHost(host, "creating the VM overlay disk", "qemu-img", ["create", "-q", "-f", "qcow2", "-F", base.format, "-b", baseImage, diskPath, String(target)]);
  } catch (error) {
    if (record !== undefined) await dropImageUser(record).catch(() => undefined);
    throw error;
  }
}

async function recordUser(overlayPath: string, basePath: string, usedBy: string): Promise<string | undefined> {
  try {
    return await recordImageUser({ overlayPath, basePath, usedBy });
  } catch (error) {
    // Without the record a later prune could delete the base under this VM: no overlay without one.
    throw new ProviderError("PROVIDER_ERROR", `recording the VM disk ${overlayPath} as a user of the cached image ${basePath}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * For a disk made before user records existed (or whose record was lost): records its backing file as a user again
 * when that is a cached image. Best effort, on every start, so a long-lived VM gets its record at its next start.
 */
export async function recordDiskUser(host: LibvirtHost, diskPath: string, usedBy: string): Promise<void> {
  if (host.remote) return;
  const backing = await readBackingFile(diskPath).catch(() => undefined);
  if (backing !== undefined) await recordImageUser({ overlayPath: diskPath, basePath: backing, usedBy }).catch(() => undefined);
}

/** Before an overlay on this machine is deleted: its user record goes too (prune would drop it later anyway). */
export async function forgetDiskUser(host: LibvirtHost, diskPath: string): Promise<void> {
  if (!host.remote) await forgetImageUser(diskPath).catch(() => undefined);
}
