import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, waitForNoProcesses } from "./env.js";
import { designExample } from "../helpers/specs.js";

describe("restart safety", () => {
  it("a create killed with SIGKILL mid-phase is fully deleted by a new process", async () => {
    using box = sandbox("restart");
    const id = testID();
    // Slow networks: phase 2 is running for a while when we pull the plug.
    const spec = designExample(box.store, { delayMs: { network_create: 1500 } });
    const orchestrator = await connectOrchestrator({ env: box.env });
    let reachedPhaseTwo!: () => void;
    const phaseTwo = new Promise<void>((resolve) => (reachedPhaseTwo = resolve));
    const create = orchestrator
      .call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec }, {
        onprogress: (p) => {
          if (p.message?.includes("phase 2/3")) reachedPhaseTwo();
        },
      })
      .then(
        () => "answered",
        () => "connection lost",
      );
    await phaseTwo;
    process.kill(orchestrator.pid, "SIGKILL");
    expect(await create).toBe("connection lost");
    await orchestrator.close();

    // The orphaned stub providers notice their stdin closed and exit; wait so nothing writes behind our back.
    expect(await waitForNoProcesses(box.store)).toEqual([]);
    expect(existsSync(box.stateFile(id))).toBe(true);
    expect(storedResources(box.store).length).toBeGreaterThan(0);

    {
      await using again = await connectOrchestrator({ env: box.env });
      const result = await again.call("delete", { testID: id, metadata: {} });
      expect(result.isError, textOf(result)).toBeFalsy();
    }
    expect(storedResources(box.store)).toEqual([]);
    expect(existsSync(box.stateFile(id))).toBe(false);
  });
});
