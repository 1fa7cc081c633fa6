import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { afterEach, beforeAll, expect, it } from "vitest";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { filesUnder, waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { connectOrchestrator, createArgs, deleteIfLeft, deleteOverMcp, fourResourceSpec, leakScope, readState, stateFile, textOf, workspace, type Workspace } from "./support.js";

// Real crashes in the middle of a create, while the VM is booting: the provider process is SIGKILLed (the
// orchestrator must fail the create with PROVIDER_ERROR and roll back), or the orchestrator itself is
// SIGKILLed (a new process must delete everything from the state file). Both end with zero leaks.

function parentOf(pid: number): number | undefined {
  try {
    // The command name may contain spaces and parentheses; the fields after the last ')' are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The libvirt provider process the orchestrator started (its child running providers/libvirt). */
function libvirtProviderOf(orchestratorPid: number): number | undefined {
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

function domainRunning(name: string): boolean {
  try {
    return execFileSync("virsh", ["-q", "-c", "qemu:///system", "domstate", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() === "running";
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describeIfTestHost("e2e_libvirt: fault injection with real VMs", () => {
  let images: TestImages;
  let ws: Workspace | undefined;

  beforeAll(() => {
    images = ensureTestImages("tiny");
  });

  afterEach(async () => {
    if (ws) await deleteIfLeft(ws);
    ws?.[Symbol.dispose]();
    ws = undefined;
  });

  it("provider SIGKILLed while the VM boots: create fails with PROVIDER_ERROR, rolls back, zero leaks", async () => {
    ws = workspace("kill-provider");
    const prefix = namePrefix(ws.testID);
    await using orchestrator = await connectOrchestrator({ env: ws.env });
    const create = orchestrator.call("create", createArgs(ws, fourResourceSpec({ baseImage: images.tiny })), { timeoutMs: 900_000 });
    await until("the VM's domain to run", () => domainRunning(`${prefix}-test-vm`), 300_000);
    const provider = libvirtProviderOf(orchestrator.pid);
    expect(provider, "the orchestrator's libvirt provider process").toBeDefined();
    process.kill(provider!, "SIGKILL");

    const result = await create;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Create failed: /);
    expect(textOf(result)).toContain("PROVIDER_ERROR");
    // Rolled back by the same orchestrator (a new provider process deletes what the dead one made).
    // The failed environment keeps only its logs (for debugging) until delete.
    const scope = leakScope(ws, prefix);
    const { artifactDir, ...resources } = scope;
    expect(await waitForNoLeaks(resources)).toEqual([]);
    expect(filesUnder(artifactDir!).map((file) => relative(artifactDir!, file)).sort()).toEqual(["providers/libvirt.log", "testenv-vm.log"]);
    expect(readState(ws).status).toBe("failed");

    const deleted = await deleteOverMcp(ws);
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    expect(existsSync(stateFile(ws))).toBe(false);
    expect(await waitForNoLeaks(scope)).toEqual([]);
  });

  it("orchestrator SIGKILLed while the VM boots: delete from a new process leaves zero leaks", async () => {
    ws = workspace("kill-orch");
    const prefix = namePrefix(ws.testID);
    const orchestrator = await connectOrchestrator({ env: ws.env });
    const create = orchestrator.call("create", createArgs(ws, fourResourceSpec({ baseImage: images.tiny })), { timeoutMs: 900_000 }).then(
      () => "answered",
      () => "connection lost",
    );
    await until("the VM's domain to run", () => domainRunning(`${prefix}-test-vm`), 300_000);
    const provider = libvirtProviderOf(orchestrator.pid);
    process.kill(orchestrator.pid, "SIGKILL");
    expect(await create).toBe("connection lost");
    await orchestrator.close();
    expect(readState(ws).status).toBe("creating");

    // The orphaned provider sees its stdin close and exits; delete must not race with it.
    if (provider !== undefined) await until(`orphaned provider ${provider} to exit`, () => !alive(provider), 600_000);
    const deleted = await deleteOverMcp(ws);
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    expect(existsSync(stateFile(ws))).toBe(false);
    expect(await waitForNoLeaks(leakScope(ws, prefix))).toEqual([]);
  });
});
