import { readIdentity, sameProcess, stopProcess, type ProcessIdentity } from "../../lib/process-identity.js";
import { retryUntil } from "../../lib/retry.js";
import type { LibvirtHost } from "./host.js";

// A process we started on the libvirt host and that outlives us (dnsmasq), known by pid, start time and argv as
// lib/process-identity does here. On a remote host the same facts are read from that host's /proc over SSH.

/** The identity of `pid` on the host, or undefined when no such process runs there. */
export async function readIdentityOn(host: LibvirtHost, pid: number): Promise<ProcessIdentity | undefined> {
  if (!host.remote) return readIdentity(pid);
  try {
    const stat = await host.readText(`/proc/${pid}/stat`);
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const startTime = rest[19];
    const cmdline = (await host.readText(`/proc/${pid}/cmdline`)).split("\0").filter((part) => part !== "");
    return startTime === undefined ? undefined : { pid, startTime, cmdline };
  } catch {
    return undefined;
  }
}

/** Stops the recorded process on the host if it is still that very process; whether it was running. */
export async function stopProcessOn(host: LibvirtHost, recorded: ProcessIdentity, graceMs = 5000): Promise<boolean> {
  if (!host.remote) return stopProcess(recorded, graceMs);
  const running = async () => sameProcess(recorded, await readIdentityOn(host, recorded.pid));
  if (!(await running())) return false;
  await host.run("kill", ["-TERM", String(recorded.pid)]).catch(() => undefined);
  if ((await retryUntil(async () => ((await running()) ? undefined : true), { timeoutMs: graceMs, intervalMs: 200 })).ok) return true;
  if (await running()) await host.run("kill", ["-KILL", String(recorded.pid)]).catch(() => undefined);
  return true;
}
