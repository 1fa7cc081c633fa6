import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, expect } from "vitest";
import type { Spec } from "../../api/spec.js";
import { HOLD_ENV } from "../../providers/libvirt/fault-hold.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { LIBVIRT_PROVIDER, connectOrchestrator, createArgs, deleteIfLeft, textOf, workspace, type Json, type Workspace } from "./support.js";

// Crashing an environment on purpose: the processes of an orchestrator, the domain's state, waiting for either, and
// the suite around it (the tiny image, a workspace per test that goes after it whatever happened).

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

/** Call in a describe: the tiny image, and workspaces whose environment is deleted (if left) and removed after each test. */
export function tinyImageSuite(): { images(): TestImages; workspace(label: string): Workspace } {
  let images: TestImages | undefined;
  const made: Workspace[] = [];
  beforeAll(() => {
    images = ensureTestImages("tiny");
  });
  afterEach(async () => {
    for (const ws of made.splice(0)) {
      await deleteIfLeft(ws);
      ws[Symbol.dispose]();
    }
  });
  return {
    images: () => {
      if (images === undefined) throw new Error("tinyImageSuite: the images are ready in beforeAll");
      return images;
    },
    workspace: (label) => {
      const ws = workspace(label);
      made.push(ws);
      return ws;
    },
  };
}

/**
 * An environment lost mid-create: `spec` is created over MCP in `ws` and held once its VM's domain has started, the
 * orchestrator is SIGKILLed there, and its orphaned provider is waited for. The state file is still there.
 */
export async function killedOnceVmStarted(ws: Workspace, spec: Spec): Promise<void> {
  const holdDir = join(ws.root, "hold");
  mkdirSync(holdDir);
  const orchestrator = await connectOrchestrator({ env: { ...ws.env, [HOLD_ENV.point]: "vm-started", [HOLD_ENV.dir]: holdDir } });
  const create = orchestrator.call("create", createArgs(ws, spec), { timeoutMs: 900_000 }).then(
    () => "answered",
    () => "connection lost",
  );
  await until("the VM's domain to start", () => existsSync(join(holdDir, "vm-started", "holding")), 300_000);
  const provider = libvirtProviderOf(orchestrator.pid);
  process.kill(orchestrator.pid, "SIGKILL");
  expect(await create).toBe("connection lost");
  await orchestrator.close();
  if (provider !== undefined) await until(`orphaned provider ${provider} to exit`, () => !alive(provider), 120_000);
}
