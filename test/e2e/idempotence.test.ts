import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID } from "./env.js";
import { designExample } from "../helpers/specs.js";

describe("idempotent create", () => {
  it("the same testID and spec returns the same artifact without creating anything twice", async () => {
    using box = sandbox("idem");
    const id = testID();
    const spec = designExample(box.store);
    const args = { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec };
    await using orchestrator = await connectOrchestrator({ env: box.env });

    const first = await orchestrator.call("create", args);
    expect(first.isError, textOf(first)).toBeFalsy();
    const stored = storedResources(box.store);
    const updatedAt = box.readState(id).updatedAt as string;

    // Forge retrying the call, from a new process.
    await using again = await connectOrchestrator({ env: box.env });
    const second = await again.call("create", args);
    expect(second.isError, textOf(second)).toBeFalsy();
    expect(second.structuredContent).toEqual(first.structuredContent);
    expect(storedResources(box.store)).toEqual(stored);
    expect(box.readState(id).updatedAt).toBe(updatedAt);

    // Same testID, different spec: refused, nothing touched.
    const changed = { ...spec, keys: [{ name: "vm-ssh", spec: { type: "rsa", bits: 2048 } }] };
    const refused = await again.call("create", { ...args, spec: changed });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/^Create failed: .*already exists.*different spec/s);
    expect(textOf(refused)).toContain(id);
    expect(storedResources(box.store)).toEqual(stored);

    const deleted = await again.call("delete", { testID: id, metadata: {} });
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    // Delete is idempotent too.
    const deletedAgain = await again.call("delete", { testID: id, metadata: {} });
    expect(textOf(deletedAgain)).toBe("Deleted test environment resource using testenv-vm");
    expect(storedResources(box.store)).toEqual([]);
  });
});
