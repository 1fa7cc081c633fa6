import { readFile } from "node:fs/promises";
import { retryUntil } from "./retry.js";

// A process we started and that outlives us (dnsmasq, a port forwarder) is recorded by pid, start time and argv,
// so that a later process stops it only when that pid is still that very process, never a stranger that reused
// the pid.

export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot; a reused PID has another. */
  startTime: string;
  cmdline: string[];
}

export async function readIdentity(pid: number): Promise<ProcessIdentity | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses; fields resume after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const startTime = rest[19];
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter((part) => part !== "");
    if (startTime === undefined) return undefined;
    return { pid, startTime, cmdline };
  } catch {
    return undefined;
  }
}

export function sameProcess(recorded: ProcessIdentity, live: ProcessIdentity | undefined): boolean {
  return live !== undefined && live.startTime === recorded.startTime && live.cmdline.join("\0") === recorded.cmdline.join("\0");
}

/** True when the recorded process still runs. */
export async function isRunning(recorded: ProcessIdentity): Promise<boolean> {
  return sameProcess(recorded, await readIdentity(recorded.pid));
}

/**
 * Stops the recorded process if it is still that very process: SIGTERM, then SIGKILL after `graceMs`.
 * Returns whether it was running.
 */
export async function stopProcess(recorded: ProcessIdentity, graceMs = 5000): Promise<boolean> {
  if (!(await isRunning(recorded))) return false;
  process.kill(recorded.pid, "SIGTERM");
  const gone = async () => ((await isRunning(recorded)) ? undefined : true);
  if ((await retryUntil(gone, { timeoutMs: graceMs, intervalMs: 100 })).ok) return true;
  if (await isRunning(recorded)) process.kill(recorded.pid, "SIGKILL");
  return true;
}
