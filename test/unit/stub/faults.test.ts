import { describe, expect, it } from "vitest";
import { callTool, readProviderContext } from "../../../providers/kit/index.js";
import { StubConfig } from "../../../providers/stub/config.js";
import { nameMatches, withFaults, type FaultHooks } from "../../../providers/stub/faults.js";
import { MemoryStore } from "../../../providers/stub/store.js";
import { createStub } from "../../../providers/stub/stub.js";

class Exited extends Error {
  constructor(readonly code: number, reason: string) {
    super(reason);
  }
}

function faulty(config: Record<string, unknown>) {
  const sleeps: number[] = [];
  const hooks: FaultHooks = {
    exit: (code, reason) => {
      throw new Exited(code, reason);
    },
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  };
  const parsed = StubConfig.parse(config);
  const impl = withFaults(createStub({ config: parsed, store: new MemoryStore(), context: { prefix: "tvm-1", artifactDir: undefined } }), parsed, hooks);
  return { impl, sleeps };
}

const context = readProviderContext("stub", {});
const net = (name: string) => ({ name, kind: "bridge", spec: {} });

describe("fault injection", () => {
  it("matches provider-level names and logical suffixes", () => {
    expect(nameMatches("web", "tvm-1-web")).toBe(true);
    expect(nameMatches("web", "web")).toBe(true);
    expect(nameMatches("web", "tvm-1-webserver")).toBe(false);
    expect(nameMatches(undefined, undefined)).toBe(true);
    expect(nameMatches("web", undefined)).toBe(false);
  });

  it("fails the named operation with the configured code, only the first N times", async () => {
    const { impl } = faulty({ faults: [{ tool: "network_create", name: "b", code: "PERMISSION_DENIED", message: "no bridges for you", times: 1 }] });
    expect((await callTool(impl, "network_create", net("tvm-1-a"), context)).success).toBe(true);
    expect(await callTool(impl, "network_create", net("tvm-1-b"), context)).toEqual({
      success: false,
      error: { code: "PERMISSION_DENIED", message: "no bridges for you", retryable: false },
    });
    expect((await callTool(impl, "network_create", net("tvm-1-b"), context)).success).toBe(true);
  });

  it("fails capabilities too, with a default message", async () => {
    const { impl } = faulty({ faults: [{ tool: "provider_capabilities", code: "TIMEOUT" }] });
    const result = await callTool(impl, "provider_capabilities", {}, context);
    expect(result.error).toEqual({ code: "TIMEOUT", message: "injected fault: provider_capabilities fails with TIMEOUT", retryable: true });
  });

  it("delays per tool", async () => {
    const { impl, sleeps } = faulty({ delayMs: { network_list: 25 } });
    await callTool(impl, "network_create", net("x"), context);
    await callTool(impl, "network_list", {}, context);
    expect(sleeps).toEqual([25]);
  });

  it("exits before or after the named operation", async () => {
    const before = faulty({ exitOn: { tool: "network_create", name: "b", code: 7 } });
    await before.impl.networks!.create(net("tvm-1-a"));
    await expect(before.impl.networks!.create(net("tvm-1-b"))).rejects.toMatchObject({ code: 7 });
    expect(await before.impl.networks!.list(undefined)).toHaveLength(1);

    const after = faulty({ exitOn: { tool: "network_create", when: "after" } });
    await expect(after.impl.networks!.create(net("tvm-1-a"))).rejects.toBeInstanceOf(Exited);
    expect(await after.impl.networks!.list(undefined)).toHaveLength(1);
  });
});
