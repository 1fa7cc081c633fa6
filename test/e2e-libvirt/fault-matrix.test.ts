import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { Spec } from "../../api/spec.js";
import { HOLD_ENV, type HoldPoint } from "../../providers/libvirt/fault-hold.js";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import type { TestImages } from "../helpers/images.js";
import { waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { alive, gcOverMcp, libvirtProviderOf, tinyImageSuite, until } from "./crash-support.js";
import { connectOrchestrator, createArgs, createOverMcp, deleteOverMcp, fourResourceSpec, leakScope, stateFile, textOf, type Workspace } from "./support.js";

// The libvirt fault matrix: the provider is held at a point of a VM's create or delete (providers/libvirt/fault-hold.ts),
// then the orchestrator or the provider is SIGKILLed there; and libvirtd is restarted in the middle of a create.
// Each cell ends with a delete from a fresh process, then gc: it finds nothing of the environment, and the host
// holds nothing carrying its prefix.

const POINTS: ReadonlyArray<{ point: HoldPoint; where: string }> = [
  { point: "vm-create", where: "after the networks exist" },
  { point: "vm-defined", where: "between define and start of the domain" },
  { point: "vm-started", where: "during readiness (domain started, SSH not up yet)" },
  { point: "vm-delete", where: "during delete (domain stopped, still defined, files there)" },
];
const VICTIMS = ["orchestrator", "provider"] as const;
type Victim = (typeof VICTIMS)[number];
type Orchestrator = Awaited<ReturnType<typeof connectOrchestrator>>;
const CELLS = POINTS.length * VICTIMS.length + 2;

const LONG = 900_000;
const TESTHOST_DIR = process.env.TESTENV_VM_TESTHOST_DIR ?? "/run/testenv-vm-testhost";

const holdEnv = (ws: Workspace, point: HoldPoint, dir: string): Record<string, string> => ({ ...ws.env, [HOLD_ENV.point]: point, [HOLD_ENV.dir]: dir });
const holdMarker = (dir: string, point: HoldPoint): string => join(dir, point, "holding");

/** A VM without a NIC or readiness: its create ends once the domain runs (the delete cells need one made). */
function quickSpec(images: TestImages): Spec {
  const spec = fourResourceSpec({ baseImage: images.tiny });
  const vms = (spec.vms ?? []).map((vm) => ({ ...vm, spec: { memory: vm.spec.memory, vcpus: vm.spec.vcpus, disk: vm.spec.disk } }));
  return { ...spec, vms };
}

/** SIGKILLs the victim while the provider holds; the caller's call then ends one way or the other. */
async function killAtHold(victim: Victim, orchestratorPid: number, marker: string): Promise<number | undefined> {
  await until(`the provider to hold at ${marker}`, () => existsSync(marker), 300_000);
  const provider = Number(readFileSync(marker, "utf8").trim());
  expect(provider).toBeGreaterThan(1); // never kill(0): that is this process group
  expect(libvirtProviderOf(orchestratorPid)).toBe(provider);
  process.kill(victim === "orchestrator" ? orchestratorPid : provider, "SIGKILL");
  return victim === "orchestrator" ? provider : undefined;
}

/** After the cell: a delete from a fresh process ends the environment, gc finds nothing of it, zero leaks. */
async function expectCleanAfterDeleteAndGc(ws: Workspace): Promise<void> {
  if (existsSync(stateFile(ws))) {
    const deleted = await deleteOverMcp(ws);
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
  }
  expect(existsSync(stateFile(ws))).toBe(false);
  const report = await gcOverMcp(ws, {});
  expect(report.providers).toMatchObject([{ name: "libvirt", answer: "ok" }]);
  expect(report.objects, "gc finds nothing of the environment after its delete").toEqual([]);
  expect(await waitForNoLeaks(leakScope(ws, namePrefix(ws.testID)))).toEqual([]);
}

const libvirtdPid = (): number => Number(readFileSync(join(TESTHOST_DIR, "libvirtd.pid"), "utf8").trim());

/**
 * libvirtd of the test host, restarted with the same argv in the same mount namespace (the test host may give it a
 * private /dev/kvm there): a process kept in that namespace holds it while libvirtd is down.
 */
async function restartLibvirtd(): Promise<void> {
  const pid = libvirtdPid();
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  if (argv.length === 0) throw new Error(`libvirtd ${pid} has no command line`);
  const keeper = spawn("nsenter", ["-t", String(pid), "-m", "--", "sleep", "600"], { stdio: "ignore" });
  try {
    const namespace = readlinkSync(`/proc/${pid}/ns/mnt`);
    await until("a process in libvirtd's mount namespace", () => keeper.pid !== undefined && nsOf(keeper.pid) === namespace, 10_000);
    process.kill(pid, "SIGTERM");
    await until(`libvirtd ${pid} to exit`, () => !alive(pid), 60_000);
    execFileSync("nsenter", ["-t", String(keeper.pid), "-m", "--", ...argv], { stdio: "ignore", timeout: 60_000 });
    await until("libvirtd to answer again", libvirtAnswers, 60_000);
  } finally {
    // The test host is shared: whatever went wrong above, libvirtd must run again when this returns.
    if (!libvirtAnswers() && !libvirtdAlive()) spawnSync(argv[0] ?? "libvirtd", argv.slice(1), { stdio: "ignore", timeout: 60_000 });
    keeper.kill("SIGKILL");
  }
}

function libvirtdAlive(): boolean {
  try {
    return alive(libvirtdPid());
  } catch {
    return false; // no pid file
  }
}

function libvirtAnswers(): boolean {
  return spawnSync("virsh", ["-q", "-c", "qemu:///system", "version"], { stdio: "ignore", timeout: 10_000 }).status === 0;
}

function nsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

function libvirtdRestartable(): boolean {
  return libvirtdAlive() && spawnSync("nsenter", ["--version"], { stdio: "ignore" }).status === 0;
}

/** The call's end in words, or "no answer" after `ms` (the caller then cleans up and fails). */
function endOf(call: Promise<CallToolResult>, ms = LONG): Promise<string> {
  const answered = call.then(
    (result) => (result.isError === true ? `failed: ${textOf(result)}` : "succeeded"),
    () => "connection lost",
  );
  return Promise.race([answered, new Promise<string>((resolve) => setTimeout(() => resolve(`no answer within ${ms / 1000} s`), ms).unref())]);
}

/** A create held between define and start of the domain while libvirtd restarts, then let go: how it ended, and by whom. */
async function createAcrossRestart(orchestrator: Orchestrator, ws: Workspace, holdDir: string, images: TestImages): Promise<{ ended: string; provider: number }> {
  const outcome = endOf(orchestrator.call("create", createArgs(ws, fourResourceSpec({ baseImage: images.tiny })), { timeoutMs: LONG }), 300_000);
  const marker = holdMarker(holdDir, "vm-defined");
  await until("the provider to hold after define", () => existsSync(marker), 300_000);
  const provider = Number(readFileSync(marker, "utf8").trim());
  expect(provider).toBeGreaterThan(1);
  await restartLibvirtd();
  rmSync(marker);
  return { ended: await outcome, provider };
}

const durations: Record<string, number> = {};

describeIfTestHost(`e2e_libvirt: fault matrix, ${CELLS} cells (${POINTS.length} points × SIGKILL of ${VICTIMS.join(" / ")}, and two libvirtd restarts mid-create): delete, then gc, leave zero leaks`, () => {
  const suite = tinyImageSuite();

  for (const { point, where } of POINTS) {
    for (const victim of VICTIMS) {
      it(`${victim} SIGKILLed ${where}`, { timeout: LONG }, async () => {
        const started = Date.now();
        const ws = suite.workspace(`fm-${point}-${victim}`);
        const holdDir = join(ws.root, "hold");
        mkdirSync(holdDir);
        if (point === "vm-delete") {
          const created = await createOverMcp(ws, quickSpec(suite.images()));
          expect(created.isError, textOf(created)).toBeFalsy();
        }
        const orchestrator = await connectOrchestrator({ env: holdEnv(ws, point, holdDir) });
        const call =
          point === "vm-delete"
            ? orchestrator.call("delete", { testID: ws.testID, metadata: {} }, { timeoutMs: LONG })
            : orchestrator.call("create", createArgs(ws, fourResourceSpec({ baseImage: suite.images().tiny })), { timeoutMs: LONG });
        const outcome = endOf(call);
        const orphan = await killAtHold(victim, orchestrator.pid, holdMarker(holdDir, point));
        const ended = await outcome;
        if (victim === "orchestrator") expect(ended).toBe("connection lost");
        else if (point !== "vm-delete") expect(ended).toMatch(/^failed: .*PROVIDER_ERROR/s);
        await orchestrator.close();
        // The provider the killed orchestrator left sees its stdin close and exits; the next process must not race it.
        if (orphan !== undefined) await until(`orphaned provider ${orphan} to exit`, () => !alive(orphan), 120_000);
        await expectCleanAfterDeleteAndGc(ws);
        durations[`${point}/${victim}`] = Date.now() - started;
      });
    }
  }

  it.skipIf(!libvirtdRestartable())("libvirtd restarted between define and start of the domain: the create ends, then delete and gc leave zero leaks", { timeout: LONG }, async () => {
    const started = Date.now();
    const ws = suite.workspace("fm-libvirtd");
    const holdDir = join(ws.root, "hold");
    mkdirSync(holdDir);
    const orchestrator = await connectOrchestrator({ env: holdEnv(ws, "vm-defined", holdDir) });
    const { ended, provider } = await createAcrossRestart(orchestrator, ws, holdDir, suite.images());
    console.log(`libvirtd restart mid-create: the create ${ended.split("\n")[0] ?? ""}`);
    if (ended.startsWith("no answer")) {
      // A provider stuck on the dead connection: ended here so the cleanup below still runs (the cell then fails).
      process.kill(orchestrator.pid, "SIGKILL");
      if (alive(provider)) process.kill(provider, "SIGKILL");
      await until(`provider ${provider} to exit`, () => !alive(provider), 120_000);
    }
    await orchestrator.close();
    await expectCleanAfterDeleteAndGc(ws);
    // Either the provider's connection survived the restart and the VM came up, or the create failed and rolled back.
    expect(ended).toMatch(/^(succeeded|failed: )/);
    durations["libvirtd-restart"] = Date.now() - started;
  });

  it.skipIf(!libvirtdRestartable())("libvirtd restarted mid-create under a provider that stays up: the same provider process completes the create, then deletes it", { timeout: LONG }, async () => {
    const started = Date.now();
    const ws = suite.workspace("fm-reconnect");
    const holdDir = join(ws.root, "hold");
    mkdirSync(holdDir);
    // One MCP server for create and delete: its provider pool keeps the one libvirt provider process between them.
    const orchestrator = await connectOrchestrator({ env: holdEnv(ws, "vm-defined", holdDir) });
    try {
      const { ended, provider } = await createAcrossRestart(orchestrator, ws, holdDir, suite.images());
      console.log(`libvirtd restart under a provider that stays up: the create ${ended.split("\n")[0] ?? ""}`);
      expect(ended, "the provider reconnects and starts the defined domain").toBe("succeeded");
      expect(libvirtProviderOf(orchestrator.pid), "the same provider process served the create").toBe(provider);
      const deleted = await orchestrator.call("delete", { testID: ws.testID, metadata: {} }, { timeoutMs: LONG });
      expect(deleted.isError, textOf(deleted)).toBeFalsy();
      expect(libvirtProviderOf(orchestrator.pid), "and the delete").toBe(provider);
    } finally {
      await orchestrator.close();
    }
    await expectCleanAfterDeleteAndGc(ws);
    durations["libvirtd-reconnect"] = Date.now() - started;
  });

  it("reports the cell durations", () => {
    const total = Object.values(durations).reduce((sum, ms) => sum + ms, 0);
    console.log(`libvirt fault matrix: ${Object.keys(durations).length} of ${CELLS} cells ran in ${Math.round(total / 1000)} s: ${JSON.stringify(Object.fromEntries(Object.entries(durations).map(([cell, ms]) => [cell, Math.round(ms / 1000)])))}`);
    expect(Object.keys(durations).length).toBeGreaterThan(0);
  });
});
