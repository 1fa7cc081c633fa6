import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { retryUntil } from "../../lib/retry.js";
import { ORCHESTRATOR_BIN } from "../helpers/mcp.js";
import { designExample } from "../helpers/specs.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, waitForNoProcesses, type Sandbox } from "./env.js";

// create --reap-on-exit: a detached watcher deletes the environment once the process that ran create dies, even
// with SIGKILL and even in the middle of the create.

/** A shell that runs create --reap-on-exit and then waits: the create's parent, killed by the test. */
function startParent(box: Sandbox, id: string, spec: Record<string, unknown>): number {
  const specFile = join(box.root, "spec.yaml");
  writeFileSync(specFile, JSON.stringify(spec));
  const create = [process.execPath, ORCHESTRATOR_BIN, "create", "--spec", specFile, "--id", id, "--tmp-dir", box.tmpDir, "--reap-on-exit", "--quiet"];
  const script = `${create.map((word) => `'${word}'`).join(" ")} >/dev/null 2>&1; sleep 600`;
  const parent = spawn("/bin/sh", ["-c", script], { cwd: box.root, env: { PATH: process.env.PATH ?? "", HOME: box.root, TESTENV_VM_LOG: "warn", ...box.env }, detached: true, stdio: "ignore" });
  if (parent.pid === undefined) throw new Error("the parent shell did not start");
  return parent.pid;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  return (await retryUntil(() => Promise.resolve(check() ? true : undefined), { timeoutMs, intervalMs: 200 })).ok;
}

describe("create --reap-on-exit", () => {
  it("deletes the environment when the process that created it is SIGKILLed", async () => {
    using box = sandbox("reap");
    const id = testID();
    const parent = startParent(box, id, designExample(box.store));
    expect(await until(() => existsSync(box.stateFile(id)) && box.readState(id).status === "ready", 60_000)).toBe(true);
    expect(storedResources(box.store)).toHaveLength(5);
    process.kill(-parent, "SIGKILL");
    expect(await until(() => storedResources(box.store).length === 0 && !existsSync(box.stateFile(id)), 60_000), storedResources(box.store).join(", ")).toBe(true);
    expect(await waitForNoProcesses(box.stateDir, 15_000)).toEqual([]);
  });

  it("cleans up a create killed half-way (orchestrator and provider SIGKILLed with their parent)", async () => {
    using box = sandbox("reap-mid");
    const id = testID();
    const parent = startParent(box, id, designExample(box.store, { delayMs: { vm_create: 60_000 } }));
    expect(await until(() => storedResources(box.store).length === 4, 60_000)).toBe(true);
    process.kill(-parent, "SIGKILL");
    // The killed create's lock goes stale after 10 s; then the reaper deletes what the state lists.
    expect(await until(() => storedResources(box.store).length === 0 && !existsSync(box.stateFile(id)), 90_000), storedResources(box.store).join(", ")).toBe(true);
    expect(await waitForNoProcesses(box.stateDir, 15_000)).toEqual([]);
  });
});
