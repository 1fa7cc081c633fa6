import { describe, expect, it } from "vitest";
import type { ResourceRecord } from "../../../api/state.js";
import { judgeResource, summarizeLive, vmDrift } from "../../../src/orchestrator/live-state.js";
import { sampleState } from "../../helpers/sample-state.js";

// The judgement of a live status, without providers: a record and what `<kind>_get` answered for it.

const now = "2026-01-01T00:00:00.000Z";

function vmRecord(overrides: Partial<ResourceRecord> = {}): ResourceRecord {
  return {
    kind: "vm",
    name: "web",
    providerName: "abc123-web",
    provider: "stub",
    engine: "testenv-vm-provider-stub",
    status: "ready",
    state: { name: "abc123-web", status: "running", ip: "192.168.42.10" },
    request: { name: "abc123-web", spec: { memory: 1024, vcpus: 2 } },
    updatedAt: now,
    ...overrides,
  };
}

const running = (extra: Record<string, unknown> = {}) => ({ found: true as const, state: { name: "abc123-web", status: "running", providerState: { memory: 1024, vcpus: 2 }, ...extra } });

describe("a VM's live state next to its record", () => {
  it("agrees: running as recorded, same memory and vCPUs", () => {
    const live = judgeResource(vmRecord(), running());
    expect(live).toMatchObject({ kind: "vm", name: "web", recorded: "ready", recordedPower: "running", live: "running", providerStatus: "running" });
    expect(live.drift).toEqual({ status: "none", differences: [] });
    expect(live.mismatch).toBeUndefined();
  });

  it("stopped behind the tool's back is a mismatch that says so", () => {
    const live = judgeResource(vmRecord(), { found: true, state: { name: "abc123-web", status: "stopped", providerState: { memory: 1024, vcpus: 2 } } });
    expect(live.live).toBe("stopped");
    expect(live.mismatch).toBe("vm web: it is stopped, but the state file records it running (changed outside testenv-vm)");
    expect(live.conflicts).toEqual(["power"]);
  });

  it("stopped and resized: both in one sentence, both as codes", () => {
    const live = judgeResource(vmRecord(), { found: true, state: { name: "abc123-web", status: "stopped", providerState: { memory: 1024, vcpus: 4 } } });
    expect(live.mismatch).toBe("vm web: it is stopped, but the state file records it running (changed outside testenv-vm); vcpus is 4, the request was 2");
    expect(live.conflicts).toEqual(["power", "drift"]);
  });

  it("stopped through testenv-vm (recorded stopped) agrees", () => {
    const record = vmRecord({ state: { name: "abc123-web", status: "stopped" } });
    const live = judgeResource(record, { found: true, state: { name: "abc123-web", status: "stopped", providerState: { memory: 1024, vcpus: 2 } } });
    expect(live).toMatchObject({ live: "stopped", recordedPower: "stopped" });
    expect(live.mismatch).toBeUndefined();
  });

  it("gone from the provider is missing, and a mismatch only when the record says ready", () => {
    expect(judgeResource(vmRecord(), { found: false })).toMatchObject({
      live: "missing",
      mismatch: "vm web: the state file records it ready, but provider stub has no abc123-web",
      conflicts: ["missing"],
    });
    expect(judgeResource(vmRecord({ status: "failed" }), { found: false }).mismatch).toBeUndefined();
  });

  it("memory changed: drifted, with both numbers", () => {
    const live = judgeResource(vmRecord(), running({ providerState: { memory: 2048, vcpus: 2 } }));
    expect(live.drift).toEqual({ status: "drifted", differences: [{ field: "memory", requested: 1024, live: 2048 }] });
    expect(live.mismatch).toBe("vm web: memory is 2048 MiB, the request was 1024 MiB");
  });

  it("a provider that reports no size: drift unknown, not a mismatch", () => {
    const live = judgeResource(vmRecord(), { found: true, state: { name: "abc123-web", status: "running" } });
    expect(live.drift).toMatchObject({ status: "unknown", note: "provider stub reports no memory; provider stub reports no vcpus" });
    expect(live.mismatch).toBeUndefined();
  });

  it("top-level memory/vcpus count as well as providerState's", () => {
    expect(vmDrift(vmRecord(), { memory: 1024, vcpus: 1 }, "p")).toEqual({ status: "drifted", differences: [{ field: "vcpus", requested: 2, live: 1 }] });
  });

  it("a failed lookup is unknown with the reason", () => {
    expect(judgeResource(vmRecord(), { error: "PROVIDER_ERROR: boom" })).toMatchObject({ live: "unknown", error: "vm web: PROVIDER_ERROR: boom" });
  });
});

describe("keys and networks", () => {
  it("are present or missing; an external network says so", () => {
    const network: ResourceRecord = { kind: "network", name: "lan", providerName: "br0", provider: "stub", engine: "e", status: "ready", external: true, updatedAt: now };
    expect(judgeResource(network, { found: true, state: { name: "br0", status: "ready" } })).toMatchObject({ live: "present", external: true, providerStatus: "ready" });
    expect(judgeResource(network, { found: false }).mismatch).toBe("external network lan: the state file records it ready, but provider stub has no br0");
  });
});

describe("the environment's summary", () => {
  it("is in sync only when nothing disagrees and everything was checked", () => {
    const state = sampleState("test-live-1");
    const agree = judgeResource(vmRecord(), running());
    expect(summarizeLive(state, [agree], now)).toEqual({ testID: "test-live-1", status: state.status, checkedAt: now, inSync: true, resources: [agree], mismatches: [], errors: [] });
    const gone = judgeResource(vmRecord(), { found: false });
    const unknown = judgeResource(vmRecord({ name: "db" }), { error: "provider stub could not be started: x" });
    const summary = summarizeLive(state, [agree, gone, unknown], now);
    expect(summary.inSync).toBe(false);
    expect(summary.mismatches).toEqual([gone.mismatch]);
    expect(summary.errors).toEqual(["vm db: provider stub could not be started: x"]);
  });
});
