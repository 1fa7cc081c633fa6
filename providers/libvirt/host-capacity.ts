import { dirname } from "node:path";
import type { HealthResponse } from "../../api/provider.js";
import { runVirsh, type LibvirtConnection } from "./connection.js";
import type { LibvirtHost } from "./host.js";

// What a host has for guests, read for placement on a pool of hosts: CPUs and memory from libvirt (virsh nodeinfo,
// nodememstats, so a remote host answers through the same connection) and, on a remote host, the free space of
// the data dir there (the local health check's statfs sees only this machine).

const READ_TIMEOUT_MS = 5_000;
const KIB_PER_MIB = 1024;

/** `CPU(s):` and `Memory size:` of virsh nodeinfo. */
export function parseNodeInfo(text: string): { vcpus: number; memoryMiB: number } | undefined {
  const cpus = /^CPU\(s\):\s*(\d+)/m.exec(text)?.[1];
  const memoryKiB = /^Memory size:\s*(\d+)\s*KiB/m.exec(text)?.[1];
  if (cpus === undefined || memoryKiB === undefined) return undefined;
  return { vcpus: Number(cpus), memoryMiB: Math.floor(Number(memoryKiB) / KIB_PER_MIB) };
}

/** Memory guests can have now (free + buffers + cached, in MiB) from virsh nodememstats; undefined without `free`. */
export function parseFreeMemoryMiB(text: string): number | undefined {
  const field = (name: string): number | undefined => {
    const value = new RegExp(`^${name}\\s*:\\s*(\\d+)\\s*KiB`, "m").exec(text)?.[1];
    return value === undefined ? undefined : Number(value);
  };
  const free = field("free");
  if (free === undefined) return undefined;
  return Math.floor((free + (field("buffers") ?? 0) + (field("cached") ?? 0)) / KIB_PER_MIB);
}

export async function readCapacity(connection: LibvirtConnection): Promise<HealthResponse["capacity"]> {
  const ask = (args: string[]): Promise<string | undefined> =>
    runVirsh(connection, args, { timeoutMs: READ_TIMEOUT_MS, killSignal: "SIGKILL" }).then(
      (result) => result.stdout,
      () => undefined,
    );
  const [nodeInfo, memStats] = await Promise.all([ask(["nodeinfo"]), ask(["nodememstats"])]);
  const node = nodeInfo === undefined ? undefined : parseNodeInfo(nodeInfo);
  if (node === undefined) return undefined;
  const freeMemoryMiB = memStats === undefined ? undefined : parseFreeMemoryMiB(memStats);
  return { ...node, ...(freeMemoryMiB !== undefined ? { freeMemoryMiB } : {}) };
}

/** Free bytes on the file system `path` would live on, on a remote host: df of its nearest existing ancestor. */
export async function remoteFreeBytes(host: LibvirtHost, path: string): Promise<number | undefined> {
  for (let dir = path; ; dir = dirname(dir)) {
    const answer = await host.run("df", ["-B1", "--output=avail", dir], { timeoutMs: READ_TIMEOUT_MS }).catch(() => undefined);
    const bytes = answer?.stdout.split("\n")[1]?.trim();
    if (bytes !== undefined && /^\d+$/.test(bytes)) return Number(bytes);
    if (dirname(dir) === dir) return undefined;
  }
}
