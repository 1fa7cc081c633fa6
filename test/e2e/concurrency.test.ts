import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { readStubStore, storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, type Json } from "./env.js";
import { designExample } from "../helpers/specs.js";

const ENVIRONMENTS = 10;

describe("concurrent environments", () => {
  it(`${ENVIRONMENTS} environments created at once, one orchestrator process each, share nothing`, { timeout: 600_000 }, async () => {
    using box = sandbox("concurrency");
    const ids = Array.from({ length: ENVIRONMENTS }, () => testID("conc"));
    // Every environment asks for the same CIDRs; isolation must give each its own subnet and names.
    const spec = designExample(box.store);

    const artifacts = await Promise.all(
      ids.map(async (id) => {
        await using orchestrator = await connectOrchestrator({ env: box.env });
        const result = await orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec }, { timeoutMs: 590_000 });
        expect(result.isError, textOf(result)).toBeFalsy();
        return result.structuredContent as Json;
      }),
    );

    const prefixes = artifacts.map((a) => a.env.TESTENV_VM_NAME_PREFIX as string);
    expect(new Set(prefixes).size).toBe(ENVIRONMENTS);
    expect(storedResources(box.store)).toHaveLength(ENVIRONMENTS * 5);

    // No two environments got the same subnet: every network CIDR in the store is distinct per environment.
    const store = readStubStore(box.store)!;
    const cidrsByEnv = new Map<string, Set<string>>();
    for (const network of Object.values(store.networks)) {
      const name = String(network.name);
      const prefix = name.slice(0, name.indexOf("-"));
      if (typeof network.cidr !== "string" || network.cidr === "") continue;
      const set = cidrsByEnv.get(prefix) ?? new Set<string>();
      set.add(network.cidr);
      cidrsByEnv.set(prefix, set);
    }
    expect(cidrsByEnv.size).toBe(ENVIRONMENTS);
    const allCidrs = [...cidrsByEnv.values()].flatMap((set) => [...set]);
    expect(new Set(allCidrs).size).toBe(allCidrs.length);
    // VM addresses differ across environments too.
    const vmIps = artifacts.map((a) => a.metadata["testenv-vm.vm.test-vm.ip"] as string);
    expect(new Set(vmIps).size).toBe(ENVIRONMENTS);

    await Promise.all(
      ids.map(async (id, i) => {
        await using orchestrator = await connectOrchestrator({ env: box.env });
        const result = await orchestrator.call("delete", { testID: id, metadata: artifacts[i]!.metadata }, { timeoutMs: 590_000 });
        expect(result.isError, textOf(result)).toBeFalsy();
      }),
    );
    expect(storedResources(box.store)).toEqual([]);
    expect(box.stateFiles()).toEqual([]);
  });
});
