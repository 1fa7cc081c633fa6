import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { designExample } from "../helpers/specs.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, type Json } from "./env.js";

// An MCP client that cancels its create request (notifications/cancelled, as an agent or Ctrl+C does): the
// create stops starting resources, lets the running ones finish, rolls everything back, and says CANCELLED.

describe("cancelling a create", () => {
  it("rolls back what it made; the state records CANCELLED; a later delete leaves nothing", async () => {
    using box = sandbox("cancel");
    const id = testID();
    // Phase 2's networks take 1.5 s each at the provider, so the cancel lands while they run.
    const spec = designExample(box.store, { delayMs: { network_create: 1500 } });
    await using orchestrator = await connectOrchestrator({ env: box.env });
    const controller = new AbortController();
    const call = orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec }, { signal: controller.signal });
    // Cancel once phase 2 runs (a network is recorded), however slow the machine is at getting there.
    for (let attempt = 0; attempt < 300; attempt++) {
      const current = box.stateFiles().length > 0 ? (box.readState(id) as Json | undefined) : undefined;
      if (current !== undefined && Object.keys((current.resources?.networks ?? {}) as object).length > 0) break;
      await sleep(100);
    }
    controller.abort();
    await expect(call).rejects.toThrow(/cancel|abort/i);

    // The server finishes the running operations and rolls back; wait for the state to say so.
    let state: Json | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      state = box.readState(id);
      if (state.status === "failed") break;
      await sleep(100);
    }
    expect(state?.status).toBe("failed");
    const errors = (state?.errors ?? []) as Json[];
    expect(errors.some((e) => e.code === "CANCELLED")).toBe(true);
    expect(state?.resources.vms["test-vm"]).toBeUndefined();
    expect(storedResources(box.store)).toEqual([]);

    const removed = await orchestrator.call("delete", { testID: id, metadata: null });
    expect(removed.isError, textOf(removed)).toBeFalsy();
    expect(box.stateFiles()).toEqual([]);
  });
});
