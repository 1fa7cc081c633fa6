import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Plan } from "../../../api/plan.js";
import type { Logger } from "../../../lib/log.js";
import { formatStatus } from "../../../src/cli/commands/status.js";
import { TestenvError } from "../../../src/errors.js";
import { staleReasons } from "../../../src/orchestrator/plan-stale.js";
import { planText } from "../../../src/orchestrator/plan-text.js";
import { sha256Of } from "../../../src/orchestrator/spec-hash.js";
import { summarizeState } from "../../../src/orchestrator/summary.js";
import { endPlacement, hostPlacementLedger, PlacementLedger, PLACEMENT_DIR_ENV } from "../../../src/orchestrator/placement-ledger.js";
import { configForHost, expandPool, needsOf, placeEnvironment, type HostProbe, type PlacementContext } from "../../../src/orchestrator/pool-placement.js";
import { StateStore } from "../../../src/state/store.js";
import { sampleState } from "../../helpers/sample-state.js";
import { spawnTs, waitForExit, waitForOutput } from "../state/children.js";
import { healthReport, healthyProbe, LOCAL, poolSpec, REMOTE } from "./pool-fixtures.js";

function recordingLog(lines: string[]): Logger {
  const log: Logger = {
    debug: () => undefined,
    info: (message) => lines.push(`info ${message}`),
    warn: (message) => lines.push(`warn ${message}`),
    error: (message) => lines.push(`error ${message}`),
    child: () => log,
    withFile: () => log,
  };
  return log;
}

let dir: string;
let ledger: PlacementLedger;
let lines: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pool-"));
  ledger = new PlacementLedger(join(dir, "ledger", "placements.json"));
  lines = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(testID: string, probe: HostProbe = healthyProbe(), extra: Partial<PlacementContext> = {}): PlacementContext {
  return { testID, stateDir: dir, cwd: dir, env: {}, log: recordingLog(lines), ledger, probe, ...extra };
}

async function refusal(promise: Promise<unknown>): Promise<TestenvError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof TestenvError)) throw new Error(`expected a TestenvError, got ${String(error)}`);
  return error;
}

describe("pool config", () => {
  it("gives each host the pool's shared fields with its own uri and ssh, and no hosts", () => {
    expect(configForHost({ dataDir: "/d", hosts: [], ssh: { key: "/old" } }, { uri: REMOTE, ssh: { key: "/k" } })).toEqual({ dataDir: "/d", uri: REMOTE, ssh: { key: "/k" } });
    expect(configForHost({ dataDir: "/d", hosts: [] }, { uri: LOCAL, capacity: { vcpus: 2 }, maxParallelCreates: 1 })).toEqual({ dataDir: "/d", uri: LOCAL });
  });

  it("expands a pool into one provider per host for gc, and leaves other providers alone", () => {
    const [pool] = poolSpec().providers ?? [];
    if (!pool) throw new Error("no provider");
    expect(expandPool(pool).map((p) => p.spec?.uri)).toEqual([LOCAL, REMOTE]);
    const single = { name: "one", engine: "e", spec: { uri: LOCAL } };
    expect(expandPool(single)).toEqual([single]);
  });

  it("adds up only the VMs of the pool's provider", () => {
    const spec = poolSpec(undefined, 3);
    if (spec.providers?.[0]) spec.providers[0].default = true;
    spec.providers?.push({ name: "other", engine: "stub" });
    spec.vms?.push({ name: "elsewhere", provider: "other", spec: { vcpus: 8, memory: 8192 } });
    expect(needsOf(spec, "lab")).toEqual({ vcpus: 3, memoryMiB: 384, diskGiB: 3 });
    expect(needsOf(spec, "other")).toEqual({ vcpus: 8, memoryMiB: 8192, diskGiB: 0 });
  });

  it("places nothing for a spec without a pool", async () => {
    expect(await placeEnvironment({ providers: [{ name: "p", engine: "e", spec: { uri: LOCAL } }] }, context("plain"))).toBeUndefined();
  });

  it("refuses a malformed pool, naming the field", async () => {
    const error = await refusal(placeEnvironment(poolSpec([{ url: LOCAL }]), context("bad")));
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.issues[0]?.field).toBe("providers[0].spec.hosts.0.uri");
    const both = poolSpec();
    if (both.providers?.[0]?.spec) both.providers[0].spec.uri = LOCAL;
    expect((await refusal(placeEnvironment(both, context("both")))).issues[0]).toEqual({ field: "providers[0].spec.uri", message: "name either uri (one host) or hosts (a pool), not both" });
  });
});

describe("placeEnvironment", () => {
  it("starts the provider with the chosen host and records why, in flight until the create ends", async () => {
    const placed = await placeEnvironment(poolSpec(), context("env-1"));
    expect(placed?.providers).toEqual([{ name: "lab", engine: "testenv-vm-provider-libvirt", spec: { dataDir: "/data", uri: LOCAL } }]);
    expect(placed?.placements).toEqual([
      {
        provider: "lab",
        host: LOCAL,
        reason: expect.stringContaining("fewest environments there (0)") as string,
        needs: { vcpus: 1, memoryMiB: 128, diskGiB: 1 },
        passedOver: [{ host: REMOTE, why: `fits, but has 0 environment(s) to 0 on ${LOCAL}` }],
      },
    ]);
    expect(lines).toContain(`info placement: provider lab → ${LOCAL}: ${placed?.placements[0]?.reason ?? ""}`);
    const [entry] = await ledger.read();
    expect(entry).toMatchObject({ testID: "env-1", host: LOCAL, creator: { pid: process.pid } });
  });

  it("spreads six environments placed at once over both hosts, three each", async () => {
    const placed = await Promise.all(Array.from({ length: 6 }, (_, i) => placeEnvironment(poolSpec(), context(`env-${i}`))));
    const hosts = placed.map((p) => p?.placements[0]?.host);
    expect(hosts.filter((h) => h === LOCAL)).toHaveLength(3);
    expect(hosts.filter((h) => h === REMOTE)).toHaveLength(3);
    expect(await ledger.read()).toHaveLength(6);
  });

  it("spreads environments placed by separate processes at once", async () => {
    const children = [0, 1, 2].map((n) => spawnTs("../orchestrator/pool-child.ts", [ledger.path, dir, `p${n}-a`, `p${n}-b`]));
    try {
      const outputs = await Promise.all(children.map((child) => waitForOutput(child, "}\n")));
      await Promise.all(children.map(waitForExit));
      const hosts = outputs.flatMap((out) => Object.values(JSON.parse(out) as Record<string, string>));
      expect(hosts).toHaveLength(6);
      expect(hosts.filter((h) => h === LOCAL)).toHaveLength(3);
      expect(hosts.filter((h) => h === REMOTE)).toHaveLength(3);
    } finally {
      for (const child of children) child.kill("SIGKILL");
    }
  });

  it("refuses an environment too big for every host before recording anything, saying what each lacks", async () => {
    const spec = poolSpec([{ uri: LOCAL, capacity: { memoryMiB: 1024 } }, { uri: REMOTE }], 1);
    if (spec.vms?.[0]) spec.vms[0].spec.memory = 4096;
    const probe = healthyProbe((uri) => ({ capacity: { vcpus: 2, memoryMiB: 8192, freeMemoryMiB: uri === REMOTE ? 2000 : 99999 } }));
    const error = await refusal(placeEnvironment(spec, context("huge", probe)));
    expect(error.code).toBe("PLACEMENT_FAILED");
    expect(error.details.reason).toBe("no-fit");
    expect(error.issues[0]?.field).toBe("providers[0].spec.hosts");
    expect(error.message).toContain("needs 1 vCPUs, 4096 MiB memory, 1.0 GiB disk");
    expect(error.message).toContain(`${LOCAL}: lacks 4096 MiB memory (1024 free)`);
    expect(error.message).toContain(`${REMOTE}: lacks 4096 MiB memory (2000 free)`);
    expect(error.message).toContain("nothing was created");
    expect(await ledger.read()).toEqual([]);
  });

  it("skips an unreachable host with a line in the log, and places on the other", async () => {
    const probe: HostProbe = (_provider, configs) =>
      Promise.resolve(configs.map((config) => (config.uri === REMOTE ? healthReport(config, { healthy: false, daemon: { name: "libvirtd", reachable: false, detail: "ssh: connect to host lab2.example port 22: Connection refused" } }) : healthReport(config))));
    const placed = await placeEnvironment(poolSpec(), context("one-up", probe));
    expect(placed?.placements[0]?.host).toBe(LOCAL);
    expect(placed?.placements[0]?.passedOver).toEqual([{ host: REMOTE, why: "skipped: not reachable: ssh: connect to host lab2.example port 22: Connection refused" }]);
    expect(lines).toContain(`warn placement: provider lab skips host ${REMOTE}: not reachable: ssh: connect to host lab2.example port 22: Connection refused`);
  });

  it("refuses when every host is unavailable, with each host's reason", async () => {
    const probe: HostProbe = (_provider, configs) =>
      Promise.resolve(configs.map((config) => (config.uri === LOCAL ? healthReport(config, { healthy: false, warnings: [{ message: "qemu-img is missing", fix: "install it" }] }) : healthReport(config, {}, { outcome: "timed out", healthy: false, error: "no answer within 20000 ms" }))));
    const error = await refusal(placeEnvironment(poolSpec(), context("none-up", probe)));
    expect(error.code).toBe("PLACEMENT_FAILED");
    expect(error.retryable).toBe(true);
    expect(error.details.reason).toBe("no-host-available");
    expect(error.message).toContain(`${LOCAL}: skipped: unhealthy: qemu-img is missing`);
    expect(error.message).toContain(`${REMOTE}: skipped: did not answer in time: no answer within 20000 ms`);
    expect(lines.filter((line) => line.startsWith("warn placement"))).toHaveLength(2);
  });

  it("waits for a slot on a host at its maxParallelCreates, across environments", async () => {
    const spec = poolSpec([{ uri: LOCAL, maxParallelCreates: 1 }]);
    await placeEnvironment(spec, context("first"));
    let secondDone = false;
    const second = placeEnvironment(spec, context("second")).then((placed) => {
      secondDone = true;
      return placed;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(secondDone).toBe(false);
    expect(lines.some((line) => line.includes("waits for a host: every host that fits is at its maxParallelCreates"))).toBe(true);
    await ledger.settle("first", dir);
    expect((await second)?.placements[0]?.host).toBe(LOCAL);
  });

  it("a plan places as a create would, recording nothing and never waiting", async () => {
    const spec = poolSpec([{ uri: LOCAL, maxParallelCreates: 1 }]);
    await placeEnvironment(spec, context("creating"));
    const preview = await placeEnvironment(spec, context("planned", healthyProbe(), { preview: true }));
    expect(preview?.placements[0]?.host).toBe(LOCAL);
    expect((await ledger.read()).map((e) => e.testID)).toEqual(["creating"]);
  });
});

describe("PlacementLedger", () => {
  it("lives beside the host-wide subnet registry unless TESTENV_VM_PLACEMENT_DIR says where", () => {
    expect(hostPlacementLedger({ [PLACEMENT_DIR_ENV]: "/x/p" })).toBe("/x/p/placements.json");
    expect(hostPlacementLedger({ TESTENV_VM_SUBNET_DIR: "/run/t/subnets" })).toBe("/run/t/placements/placements.json");
  });

  it("stops counting a create in flight whose process is gone, and drops environments whose state is gone", async () => {
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const needs = { vcpus: 1, memoryMiB: 128, diskGiB: 0 };
    await new StateStore(dir).save({ ...sampleState("live", 0), stateDir: dir });
    await new PlacementLedger(ledger.path).update(() => Promise.resolve({ result: undefined, add: { testID: "live", stateDir: dir, provider: "lab", host: LOCAL, needs, since: old, creator: { pid: 2 ** 22 + 7, startTime: "1" } } }));
    await ledger.update(() => Promise.resolve({ result: undefined, add: { testID: "gone", stateDir: dir, provider: "lab", host: REMOTE, needs, since: old } }));
    const seen = await ledger.update((entries) => Promise.resolve({ result: entries }));
    expect(seen).toEqual([{ testID: "live", stateDir: dir, provider: "lab", host: LOCAL, needs, since: old }]);
  });

  it("after a create, keeps a ready environment on its host and forgets a rolled-back one", async () => {
    await placeEnvironment(poolSpec(), context("ready-env"));
    await placeEnvironment(poolSpec(), context("rolled-back"));
    await endPlacement(ledger, { ...sampleState("ready-env", 0), stateDir: dir, status: "ready" });
    await endPlacement(ledger, { ...sampleState("rolled-back", 0), stateDir: dir, status: "failed" });
    const entries = await ledger.read();
    expect(entries.map((e) => [e.testID, e.creator])).toEqual([["ready-env", undefined]]);
    await ledger.release("ready-env", dir);
    expect(await ledger.read()).toEqual([]);
    expect(JSON.parse(await readFile(ledger.path, "utf8"))).toEqual({ entries: [] });
  });
});

describe("placements in plan and status", () => {
  const H = (c: string): string => `sha256:${c.repeat(64)}`;
  const needs = { vcpus: 1, memoryMiB: 128, diskGiB: 1 };
  function plan(host: string): Plan {
    const body: Omit<Plan, "planHash"> = {
      version: 1,
      testID: "t-1",
      stage: "unit",
      prefix: "abc123",
      specHash: H("a"),
      subnets: {},
      providers: [{ name: "lab", engine: "testenv-vm-provider-libvirt", providerName: "libvirt", version: "1" }],
      placements: [{ provider: "lab", host, needs }],
      inputs: {},
      phases: [],
    };
    return { ...body, planHash: sha256Of(body) };
  }

  it("plan text names the host; a plan placed elsewhere now is stale, saying why", () => {
    expect(planText(plan(REMOTE))).toContain(`placed: provider lab on ${REMOTE} (needs 1 vCPUs, 128 MiB, 1.0 GiB)`);
    expect(staleReasons(plan(REMOTE), plan(REMOTE))).toEqual([]);
    expect(staleReasons(plan(REMOTE), plan(LOCAL))).toEqual([expect.stringContaining("the placement on the pool's hosts changed")]);
  });

  it("status shows each placement with its reason, and --json carries them", () => {
    const placement = { provider: "lab", host: REMOTE, reason: "fewest environments there (0) of the 2 host(s) that fit and are free to create", needs, passedOver: [] };
    const summary = summarizeState({ ...sampleState("placed-env", 0), placements: [placement] });
    expect(formatStatus(summary)).toContain(`  placed: provider lab on ${REMOTE}: fewest environments there (0)`);
    expect(summary.placements).toEqual([placement]);
    expect(summarizeState(sampleState("plain", 0)).placements).toBeUndefined();
  });
});
