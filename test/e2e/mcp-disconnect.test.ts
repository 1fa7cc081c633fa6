import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { designExample } from "../helpers/specs.js";
import { storedResources } from "../helpers/stub-store.js";
import { processAlive, sandbox, testID, waitForNoProcesses } from "./env.js";

// An agent's client that goes away in the middle of a create (its process died, its stdin closed): the server
// finishes or rolls back the create before it exits, and a later delete from a new server removes everything.

describe("a client that disconnects mid-call", () => {
  it("leaves an environment that completes or rolls back, and a later delete leaves nothing", async () => {
    using box = sandbox("disconnect");
    const id = testID();
    const spec = designExample(box.store, { delayMs: { network_create: 1500, vm_create: 1500 } });
    const first = await connectOrchestrator({ env: box.env });
    const call = first.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec });
    await sleep(800);
    // The SDK's close is what a dying client amounts to: stdin closed, then SIGTERM, then SIGKILL after 2 s each.
    // The server keeps working on the create after stdin closes; a SIGKILL may still stop it half-way.
    await first.close();
    await call.catch(() => undefined);
    for (let i = 0; i < 200 && processAlive(first.pid); i++) await sleep(100);
    expect(processAlive(first.pid)).toBe(false);
    expect(["ready", "failed", "creating"]).toContain(box.readState(id).status);

    await using second = await connectOrchestrator({ env: box.env });
    const removed = await second.call("delete", { testID: id, metadata: null });
    expect(removed.isError, textOf(removed)).toBeFalsy();
    expect(box.stateFiles()).toEqual([]);
    expect(storedResources(box.store)).toEqual([]);
    await second.close();
    expect(await waitForNoProcesses(box.store)).toEqual([]);
  });
});
