import { existsSync } from "node:fs";
import { relative } from "node:path";
import { expect, it } from "vitest";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { filesUnder, waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { alive, domainRunning, libvirtProviderOf, tinyImageSuite, until } from "./crash-support.js";
import { connectOrchestrator, createArgs, deleteOverMcp, fourResourceSpec, leakScope, readState, stateFile, textOf } from "./support.js";

// Real crashes in the middle of a create, while the VM is booting: the provider process is SIGKILLed (the
// orchestrator must fail the create with PROVIDER_ERROR and roll back), or the orchestrator itself is
// SIGKILLed (a new process must delete everything from the state file). Both end with zero leaks.

describeIfTestHost("e2e_libvirt: fault injection with real VMs", () => {
  const suite = tinyImageSuite();

  it("provider SIGKILLed while the VM boots: create fails with PROVIDER_ERROR, rolls back, zero leaks", async () => {
    const ws = suite.workspace("kill-provider");
    const prefix = namePrefix(ws.testID);
    await using orchestrator = await connectOrchestrator({ env: ws.env });
    const create = orchestrator.call("create", createArgs(ws, fourResourceSpec({ baseImage: suite.images().tiny })), { timeoutMs: 900_000 });
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
    const ws = suite.workspace("kill-orch");
    const prefix = namePrefix(ws.testID);
    const orchestrator = await connectOrchestrator({ env: ws.env });
    const create = orchestrator.call("create", createArgs(ws, fourResourceSpec({ baseImage: suite.images().tiny })), { timeoutMs: 900_000 }).then(
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
