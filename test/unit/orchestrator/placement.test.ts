import { describe, expect, it } from "vitest";
import type { HostResources } from "../../../api/host-pool.js";
import { choosePlacement, environmentNeeds, freeOnHost, READ_VCPUS_PER_CPU, shortfall, sizeInGiB, type HostFacts, type PlacedEnvironment } from "../../../src/orchestrator/placement.js";

const needs = (vcpus: number, memoryMiB: number, diskGiB = 0): HostResources => ({ vcpus, memoryMiB, diskGiB });
const running = (n: number, each: HostResources = needs(1, 128)): PlacedEnvironment[] => Array.from({ length: n }, () => ({ needs: each, creating: false }));
const creating = (n: number, each: HostResources = needs(1, 128)): PlacedEnvironment[] => Array.from({ length: n }, () => ({ needs: each, creating: true }));

function host(uri: string, facts: Partial<HostFacts> = {}): HostFacts {
  return { uri, configured: {}, read: {}, placed: [], maxParallelCreates: 4, ...facts };
}

describe("choosePlacement", () => {
  it("takes the host with the fewest environments, whatever the order", () => {
    const decision = choosePlacement(needs(1, 128), [host("a", { placed: running(2) }), host("b", { placed: running(1) }), host("c", { placed: running(3) })]);
    expect(decision).toMatchObject({ kind: "placed", host: "b" });
    if (decision.kind !== "placed") throw new Error("not placed");
    expect(decision.reason).toContain("fewest environments there (1)");
    expect(decision.passedOver.map((p) => p.host)).toEqual(["a", "c"]);
    expect(decision.passedOver[0]?.why).toContain("has 2 environment(s) to 1 on b");
  });

  it("counts environments still being created like running ones", () => {
    expect(choosePlacement(needs(1, 128), [host("a", { placed: creating(1) }), host("b")])).toMatchObject({ kind: "placed", host: "b" });
  });

  it("breaks a tie on environments by the most room left, then by the pool's order", () => {
    const small = host("small", { configured: { memoryMiB: 1024 } });
    const big = host("big", { configured: { memoryMiB: 8192 } });
    expect(choosePlacement(needs(1, 512), [small, big])).toMatchObject({ host: "big" });
    expect(choosePlacement(needs(1, 512), [host("first"), host("second")])).toMatchObject({ host: "first" });
  });

  it("spreads six environments over two equal hosts three and three when each is recorded as placed", () => {
    const placed: Record<string, PlacedEnvironment[]> = { local: [], remote: [] };
    const hosts = (): HostFacts[] => ["local", "remote"].map((uri) => host(uri, { configured: { vcpus: 8, memoryMiB: 4096 }, placed: placed[uri] ?? [] }));
    const chosen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const decision = choosePlacement(needs(1, 128), hosts());
      if (decision.kind !== "placed") throw new Error(`not placed: ${decision.kind}`);
      chosen.push(decision.host);
      placed[decision.host]?.push(...creating(1));
    }
    expect(chosen.filter((h) => h === "local")).toHaveLength(3);
    expect(chosen.filter((h) => h === "remote")).toHaveLength(3);
  });

  it("passes over a host that lacks any resource and says what it lacks", () => {
    const decision = choosePlacement(needs(4, 2048, 20), [host("tiny", { configured: { vcpus: 2, memoryMiB: 1024, diskGiB: 100 } }), host("roomy", { configured: { vcpus: 8, memoryMiB: 8192 } })]);
    expect(decision).toMatchObject({ kind: "placed", host: "roomy" });
    if (decision.kind !== "placed") throw new Error("not placed");
    expect(decision.passedOver).toEqual([{ host: "tiny", why: "lacks 4 vCPUs (2 free), 2048 MiB memory (1024 free)" }]);
  });

  it("refuses an environment that fits no host, naming what each lacks", () => {
    const decision = choosePlacement(needs(17, 65536), [host("a", { configured: { vcpus: 8 } }), host("b", { read: { vcpus: 4, memoryMiB: 2000 } })]);
    expect(decision).toEqual({
      kind: "refused",
      reason: "no-fit",
      passedOver: [
        { host: "a", why: "lacks 17 vCPUs (8 free)" },
        { host: "b", why: "lacks 17 vCPUs (16 free), 65536 MiB memory (2000 free)" },
      ],
    });
  });

  it("skips unavailable hosts and refuses when none is left, each with its reason", () => {
    const hosts = [host("a", { unavailable: "not reachable: ssh: connect to host a port 22: No route to host" }), host("b", { unavailable: "unhealthy: qemu-img is missing" })];
    expect(choosePlacement(needs(1, 128), hosts)).toEqual({
      kind: "refused",
      reason: "no-host-available",
      passedOver: [
        { host: "a", why: "skipped: not reachable: ssh: connect to host a port 22: No route to host" },
        { host: "b", why: "skipped: unhealthy: qemu-img is missing" },
      ],
    });
  });

  it("places on the one available host and lists the skipped one first in pool order", () => {
    const decision = choosePlacement(needs(1, 128), [host("gone", { unavailable: "not reachable: timeout" }), host("up", { placed: running(5) })]);
    expect(decision).toMatchObject({ kind: "placed", host: "up", passedOver: [{ host: "gone", why: "skipped: not reachable: timeout" }] });
  });

  it("a fitting host at its maxParallelCreates is passed over while another fits", () => {
    const decision = choosePlacement(needs(1, 128), [host("busy", { placed: creating(2), maxParallelCreates: 2 }), host("calm", { placed: running(5) })]);
    expect(decision).toMatchObject({ kind: "placed", host: "calm" });
    if (decision.kind !== "placed") throw new Error("not placed");
    expect(decision.passedOver).toEqual([{ host: "busy", why: "fits, but 2 create(s) are in flight there (maxParallelCreates)" }]);
  });

  it("waits when only hosts at their maxParallelCreates fit", () => {
    const decision = choosePlacement(needs(1, 128), [host("busy", { placed: creating(1), maxParallelCreates: 1 }), host("small", { configured: { memoryMiB: 64 } })]);
    expect(decision).toMatchObject({ kind: "wait" });
    if (decision.kind !== "wait") throw new Error("not waiting");
    expect(decision.why).toContain("busy: 1");
  });

  it("does not count finished creates against maxParallelCreates", () => {
    expect(choosePlacement(needs(1, 128), [host("a", { placed: running(10), maxParallelCreates: 1 })])).toMatchObject({ kind: "placed", host: "a" });
  });
});

describe("freeOnHost", () => {
  it("subtracts every placed environment from configured capacity", () => {
    expect(freeOnHost(host("a", { configured: { vcpus: 8, memoryMiB: 4096, diskGiB: 100 }, placed: [...running(2, needs(2, 1024, 10)), ...creating(1, needs(1, 512, 5))] }))).toEqual({ vcpus: 3, memoryMiB: 1536, diskGiB: 75 });
  });

  it("subtracts only creates in flight from memory and disk read from the host, and everything from its CPUs", () => {
    // Free memory and disk read now already exclude running guests; CPUs are a count of the host's, not a free amount.
    const facts = host("a", { read: { vcpus: 2, memoryMiB: 4000, diskGiB: 50 }, placed: [...running(2, needs(2, 1024, 10)), ...creating(1, needs(1, 512, 5))] });
    expect(freeOnHost(facts)).toEqual({ vcpus: 2 * READ_VCPUS_PER_CPU - 5, memoryMiB: 3488, diskGiB: 45 });
  });

  it("shares a host's CPUs between vCPUs when the count is read, so six 1-vCPU environments fit on two 2-CPU hosts", () => {
    const placed: Record<string, PlacedEnvironment[]> = { a: [], b: [] };
    for (let i = 0; i < 6; i++) {
      const decision = choosePlacement(needs(1, 128), ["a", "b"].map((uri) => host(uri, { read: { vcpus: 2 }, placed: placed[uri] ?? [] })));
      if (decision.kind !== "placed") throw new Error(`environment ${i} not placed: ${JSON.stringify(decision)}`);
      placed[decision.host]?.push(...running(1));
    }
    expect([placed.a?.length, placed.b?.length]).toEqual([3, 3]);
  });

  it("prefers the configured value over the one read, per resource", () => {
    expect(freeOnHost(host("a", { configured: { memoryMiB: 1024 }, read: { vcpus: 2, memoryMiB: 99999 } }))).toEqual({ vcpus: 2 * READ_VCPUS_PER_CPU, memoryMiB: 1024 });
  });

  it("leaves a resource neither configured nor read unlimited", () => {
    expect(freeOnHost(host("a"))).toEqual({});
    expect(shortfall(host("a"), needs(1000, 10 ** 7, 10 ** 5))).toEqual([]);
  });

  it("says a host overcommitted by others has 0 free, never a negative amount", () => {
    expect(shortfall(host("a", { configured: { vcpus: 2 }, placed: running(3) }), needs(1, 0))).toEqual(["1 vCPUs (0 free)"]);
  });
});

describe("environmentNeeds and sizeInGiB", () => {
  it("adds up the VMs", () => {
    expect(environmentNeeds([needs(1, 128, 1), needs(2, 256, 10)])).toEqual(needs(3, 384, 11));
    expect(environmentNeeds([])).toEqual(needs(0, 0, 0));
  });

  it("reads disk sizes as GiB", () => {
    expect(sizeInGiB("10G")).toBe(10);
    expect(sizeInGiB("512M")).toBe(0.5);
    expect(sizeInGiB("1T")).toBe(1024);
    expect(sizeInGiB("2GiB")).toBe(2);
    expect(sizeInGiB("1048576K")).toBe(1);
    expect(sizeInGiB(String(1024 ** 3))).toBe(1);
    expect(sizeInGiB("{{ .Env.SIZE }}")).toBeUndefined();
  });
});
