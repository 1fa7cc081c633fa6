import { spawn, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { retryUntil } from "../../lib/retry.js";
import { runCli } from "../helpers/cli.js";
import { ORCHESTRATOR_BIN } from "../helpers/mcp.js";
import { designExample } from "../helpers/specs.js";
import { storedResources } from "../helpers/stub-store.js";
import { processesMentioning, sandbox, testID, waitForNoProcesses, type Sandbox } from "./env.js";

// The fault matrix on the stub: a 3-phase create ([vm-ssh, bridge] → [libvirt-net, dnsmasq] → [test-vm]) is hit
// at every phase boundary and in the middle of every phase by each fault; then `delete` from a fresh process must
// leave zero resources in the stub store, zero files and no state file. Every stub operation takes STEP_MS, so the
// store's count says where the create is.

const STEP_MS = 800;

interface Point {
  name: string;
  /** Resources in the store when the phase starts. */
  storeCount: number;
  /** 0: at the boundary; otherwise this far into the phase. */
  afterMs: number;
}

const POINTS: Point[] = [1, 2, 3].flatMap((phase) => {
  const storeCount = [0, 2, 4][phase - 1] ?? 0;
  return [
    { name: `phase ${phase} start`, storeCount, afterMs: 0 },
    { name: `mid phase ${phase}`, storeCount, afterMs: STEP_MS / 2 },
  ];
});

type Fault = "kill orchestrator" | "kill provider" | "state dir read-only" | "disk full";
const FAULTS: Fault[] = ["kill orchestrator", "kill provider", "state dir read-only", "disk full"];

const mount = (args: string[]): void => void execFileSync("mount", args, { stdio: ["ignore", "ignore", "pipe"] });
const umount = (path: string): void => {
  try {
    execFileSync("umount", [path], { stdio: "ignore" });
  } catch {
    // not mounted (the fault never got that far)
  }
};

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  return (await retryUntil(() => Promise.resolve(check() ? true : undefined), { timeoutMs, intervalMs: 25 })).ok;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function startCreate(box: Sandbox, id: string): ChildProcess {
  const specFile = join(box.root, "spec.yaml");
  writeFileSync(specFile, JSON.stringify(designExample(box.store, { delayMs: { key_create: STEP_MS, network_create: STEP_MS, vm_create: STEP_MS } })));
  return spawn(process.execPath, [ORCHESTRATOR_BIN, "create", "--spec", specFile, "--id", id, "--tmp-dir", box.tmpDir, "--quiet"], {
    cwd: box.root,
    env: { PATH: process.env.PATH ?? "", HOME: box.root, TESTENV_VM_LOG: "error", ...box.env },
    stdio: "ignore",
  });
}

function injure(fault: Fault, box: Sandbox, create: ChildProcess): void {
  if (fault === "kill orchestrator") create.kill("SIGKILL");
  else if (fault === "kill provider") for (const pid of processesMentioning(box.store)) process.kill(pid, "SIGKILL");
  else if (fault === "state dir read-only") {
    mount(["--bind", "-o", "ro", box.stateDir, box.stateDir]);
  } else {
    // The state dir is a 512 KiB tmpfs from the start; now it fills up.
    try {
      writeFileSync(join(box.stateDir, "filler"), Buffer.alloc(1024 * 1024));
    } catch {
      // ENOSPC: full, as intended
    }
  }
}

function heal(fault: Fault, box: Sandbox): void {
  if (fault === "state dir read-only") umount(box.stateDir);
  if (fault === "disk full") rmSync(join(box.stateDir, "filler"), { force: true });
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** One cell of the matrix; returns what is wrong (empty: nothing left, delete honest). */
async function runCase(point: Point, fault: Fault): Promise<string[]> {
  using box = sandbox("matrix");
  const id = testID("matrix");
  mkdirSync(box.stateDir, { recursive: true });
  if (fault === "disk full") mount(["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", box.stateDir]);
  try {
    return await injureAndDelete(box, id, point, fault);
  } finally {
    if (fault === "disk full") umount(box.stateDir);
  }
}

async function injureAndDelete(box: Sandbox, id: string, point: Point, fault: Fault): Promise<string[]> {
  const problems: string[] = [];
  const create = startCreate(box, id);
  try {
    const reached = await until(() => existsSync(box.stateFile(id)) && storedResources(box.store).length >= point.storeCount, 30_000);
    if (!reached) problems.push(`never reached ${point.name} (store: ${storedResources(box.store).join(", ")})`);
    if (point.afterMs > 0) await new Promise((resolve) => setTimeout(resolve, point.afterMs));
    injure(fault, box, create);
    if (!(await exited(create, 60_000))) {
      problems.push("create did not end within 60 s of the fault");
      create.kill("SIGKILL");
    }
  } finally {
    heal(fault, box);
  }
  const deleted = await runCli(box.root, ["delete", "--id", id, "--json"], box.env);
  if (deleted.code !== 0) problems.push(`delete exited ${deleted.code}: ${deleted.stdout.slice(0, 300)}`);
  const left = storedResources(box.store);
  if (left.length > 0) problems.push(`stub store keeps ${left.join(", ")}`);
  if (existsSync(box.stateFile(id))) problems.push(`state file kept (status ${String(box.readState(id).status)})`);
  const files = [...filesUnder(join(box.tmpDir, id)), ...filesUnder(join(box.stateDir, "state"))];
  if (files.length > 0) problems.push(`files left: ${files.join(", ")}`);
  const alive = await waitForNoProcesses(box.store, 10_000);
  if (alive.length > 0) problems.push(`provider processes left: ${alive.join(", ")}`);
  return problems.map((p) => `${fault} at ${point.name}: ${p}`);
}

/** Runs the cells a few at a time (each spawns an orchestrator and a provider). */
async function runMatrix(limit: number): Promise<string[]> {
  const cells = POINTS.flatMap((point) => FAULTS.map((fault) => ({ point, fault })));
  const problems: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let cell = cells[next++]; cell !== undefined; cell = cells[next++]) problems.push(...(await runCase(cell.point, cell.fault)));
    }),
  );
  return problems;
}

const SIZE = POINTS.length * FAULTS.length;

describe("fault matrix on the stub", () => {
  it(`${SIZE} cells (${POINTS.length} points × ${FAULTS.length} faults): delete from a fresh process leaves 0 resources, 0 files, no state`, { timeout: 180_000 }, async () => {
    const started = Date.now();
    const problems = await runMatrix(6);
    process.stderr.write(`fault matrix: ${SIZE} cells, ${problems.length} problem(s), ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    expect(problems).toEqual([]);
  });
});
