import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { LIBVIRT_PROVIDER, connectOrchestrator, textOf, type Json, type Workspace } from "./support.js";

// Crashing an environment on purpose: the processes of an orchestrator, the domain's state, and waiting for either.

function parentOf(pid: number): number | undefined {
  try {
    // The command name may contain spaces and parentheses; the fields after the last ')' are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The libvirt provider process the orchestrator started (its child running providers/libvirt). */
export function libvirtProviderOf(orchestratorPid: number): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || parentOf(Number(entry)) !== orchestratorPid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("providers/libvirt")) return Number(entry);
    } catch {
      // gone
    }
  }
  return undefined;
}

export function domainRunning(name: string): boolean {
  try {
    return execFileSync("virsh", ["-q", "-c", "qemu:///system", "domstate", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() === "running";
  } catch {
    return false;
  }
}

export async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** gc of this workspace's environment over MCP from a fresh orchestrator (a dry run unless args say apply). */
export async function gcOverMcp(ws: Workspace, args: Json): Promise<Json> {
  await using orchestrator = await connectOrchestrator({ env: ws.env });
  const result = await orchestrator.call("gc", { olderThan: "0", testID: ws.testID, providers: [{ ...LIBVIRT_PROVIDER }], ...args }, { timeoutMs: 600_000 });
  if (result.isError === true) throw new Error(`gc failed: ${textOf(result)}`);
  return result.structuredContent as Json;
}
