import { existsSync, readFileSync } from "node:fs";

// What podman needs to know about this host that it does not find out by itself (see DESIGN.md, "podman"):
// crun refuses hybrid cgroups, a root without CAP_SYS_RESOURCE cannot raise rlimits to podman's defaults, and
// without systemd neither the systemd cgroup manager nor journald events work. Facts are read once, decisions
// are pure functions of them so they can be tested for hosts we do not have.

export interface HostFacts {
  /** Both cgroup v1 controllers and a cgroup2 hierarchy with controllers on it (/sys/fs/cgroup/unified). */
  hybridCgroups: boolean;
  /** CAP_SYS_RESOURCE in the effective set: rlimits may be raised above the hard limit. */
  canRaiseRlimits: boolean;
  /** Hard RLIMIT_NOFILE / RLIMIT_NPROC of this process (undefined: unlimited or unreadable). */
  hardNofile: number | undefined;
  hardNproc: number | undefined;
  /** PID 1 is systemd (/run/systemd/system exists). */
  systemd: boolean;
}

const CAP_SYS_RESOURCE = 24n;
/** conmon runs with this hard nproc; a container asking for more fails in setrlimit. */
const CONMON_NPROC = 32768;

export function parseCapEff(status: string): bigint | undefined {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex === undefined ? undefined : BigInt(`0x${hex}`);
}

/** The hard limit of one row of /proc/<pid>/limits, e.g. "Max open files". */
export function parseHardLimit(limits: string, row: string): number | undefined {
  const line = limits.split("\n").find((l) => l.startsWith(row));
  const hard = line?.slice(row.length).trim().split(/\s+/)[1];
  return hard === undefined || !/^\d+$/.test(hard) ? undefined : Number(hard);
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export function readHostFacts(): HostFacts {
  const capEff = parseCapEff(read("/proc/self/status"));
  const limits = read("/proc/self/limits");
  return {
    hybridCgroups: read("/sys/fs/cgroup/unified/cgroup.controllers").trim() !== "" && !existsSync("/sys/fs/cgroup/cgroup.controllers"),
    canRaiseRlimits: capEff === undefined || ((capEff >> CAP_SYS_RESOURCE) & 1n) === 1n,
    hardNofile: parseHardLimit(limits, "Max open files"),
    hardNproc: parseHardLimit(limits, "Max processes"),
    systemd: existsSync("/run/systemd/system"),
  };
}

export interface RuntimeChoice {
  runtime: string | undefined;
  cgroupManager: "cgroupfs" | "systemd";
  eventsLogger: "file" | "journald" | "none";
  ulimits: string[];
}

/** What to tell podman on a host with these facts; undefined runtime leaves podman's own choice. */
export function chooseRuntime(facts: HostFacts): RuntimeChoice {
  const ulimits: string[] = [];
  if (!facts.canRaiseRlimits) {
    // podman's rootful defaults (nofile 1048576, nproc 4194304) exceed what we may set; stay within our hard limits.
    const nofile = facts.hardNofile ?? 1024;
    const nproc = Math.min(facts.hardNproc ?? CONMON_NPROC, CONMON_NPROC);
    ulimits.push(`nofile=${nofile}:${nofile}`, `nproc=${nproc}:${nproc}`);
  }
  return {
    runtime: facts.hybridCgroups ? "runc" : undefined,
    cgroupManager: facts.systemd ? "systemd" : "cgroupfs",
    eventsLogger: facts.systemd ? "journald" : "file",
    ulimits,
  };
}
