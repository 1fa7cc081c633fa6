import { stat } from "node:fs/promises";
import { isAbsolute, normalize } from "node:path";
import { expandHome } from "../../../lib/home.js";
import { invalidSpec } from "../../kit/index.js";

// Manifest paths are trusted input from the user's file, yet still checked before libvirt or qemu-img get them:
// absolute after ~ expansion, no `..` segment (a path that means something other than it reads), and a disk is a
// regular file unless block devices are allowed.

/** The checked, ~-expanded form of a manifest path; `field` names it in the error (e.g. vms.win11.disk_path). */
export function checkManifestPath(path: string, field: string, home?: string): string {
  const expanded = expandHome(path.trim(), home);
  if (!isAbsolute(expanded)) throw invalidSpec(`${field}: "${path}" is not an absolute path (after ~ expansion); write it from / or ~/`);
  if (expanded.split("/").includes("..")) throw invalidSpec(`${field}: "${path}" contains "..": write the path it means`);
  if (expanded.includes("\0")) throw invalidSpec(`${field}: contains a NUL byte`);
  return normalize(expanded);
}

export type DiskKind = "missing" | "file" | "block";

/** What is at a disk path: nothing, a regular file, or (only when allowed) a block device. */
export async function diskKind(path: string, field: string, allowBlockDevice: boolean): Promise<DiskKind> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw invalidSpec(`${field}: cannot inspect ${path} (${(error as Error).message})`);
  }
  if (info.isBlockDevice()) {
    if (!allowBlockDevice) throw invalidSpec(`${field}: ${path} is a block device; pass --allow-block-device to use it`);
    return "block";
  }
  if (!info.isFile()) throw invalidSpec(`${field}: ${path} is not a regular file`);
  return "file";
}

/** An ISO path must exist as a regular file. */
export async function checkIsoFile(path: string, field: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw invalidSpec(`${field}: ${path} does not exist or is not readable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!info.isFile()) throw invalidSpec(`${field}: ${path} is not a regular file`);
}
