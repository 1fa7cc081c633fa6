import { existsSync } from "node:fs";
import { readFile, statfs } from "node:fs/promises";
import type { ProjectEnv } from "../../api/project-env.js";
import type { Issue } from "../errors.js";

// Before anything is created: does the host have the memory and the disk the .env asks for? A VM that cannot get
// its memory fails late and obscurely (qemu killed, a guest that swaps to death); a full disk corrupts overlays.

/** Where VM disks grow: libvirt's image dir and the provider's data dir, whichever exist, else /var/lib. */
const DISK_DIRS = ["/var/lib/testenv-vm", "/var/lib/libvirt/images", "/var/lib"];

async function availableMemoryMiB(): Promise<number | undefined> {
  try {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(await readFile("/proc/meminfo", "utf8"));
    return match?.[1] === undefined ? undefined : Math.floor(Number(match[1]) / 1024);
  } catch {
    return undefined; // not Linux: nothing to check against
  }
}

async function availableDiskGiB(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return (stats.bavail * stats.bsize) / 1024 ** 3;
}

/** Problems named by key; empty when the host can hold the instance. */
export async function hostCapacityIssues(env: ProjectEnv, folder: string): Promise<Issue[]> {
  const issues: Issue[] = [];
  const memory = await availableMemoryMiB();
  if (memory !== undefined && env.MEMORY > memory) {
    issues.push({ field: "MEMORY", message: `asks for ${env.MEMORY} MiB, but the host has ${memory} MiB available; lower MEMORY or stop other VMs` });
  }
  // A container has no disk of its own (DISK does not apply to it), so there is no size to check.
  const diskDirs = env.INFRA_TYPE === "container" ? [] : [DISK_DIRS.find((candidate) => existsSync(candidate)) ?? folder];
  for (const dir of diskDirs) {
    const free = await availableDiskGiB(dir);
    // Overlays grow lazily, so this is the most the instance can take, not what it takes at once.
    if (env.DISK > free) {
      issues.push({ field: "DISK", message: `asks for ${env.DISK} GiB, but ${dir} has ${free.toFixed(1)} GiB free; lower DISK or free space there` });
    }
  }
  return issues;
}
