import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** JSON read back from files and tool results; tests assert on its shape field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed JSON keeps assertions readable
export type Json = Record<string, any>;

// Per-test sandbox: its own state dir, Forge tmp dir and stub file store, removed afterwards.

export interface Sandbox extends Disposable {
  root: string;
  stateDir: string;
  tmpDir: string;
  store: string;
  /** Env for the orchestrator process. */
  env: Record<string, string>;
  stateFile(testID: string): string;
  readState(testID: string): Json;
  stateFiles(): string[];
}

export function sandbox(label = "e2e"): Sandbox {
  const root = mkdtempSync(join(tmpdir(), `testenv-vm-${label}-`));
  const stateDir = join(root, "state");
  const tmpDir = join(root, "tmp");
  const store = join(root, "stub-store.json");
  const stateFile = (testID: string): string => join(stateDir, "state", `testenv-${testID}.json`);
  return {
    root,
    stateDir,
    tmpDir,
    store,
    // Each sandbox has its own subnet registry, so parallel test files never see each other's reservations.
    env: { TESTENV_VM_STATE_DIR: stateDir, TESTENV_VM_IMAGE_CACHE_DIR: join(root, "images"), TESTENV_VM_SUBNET_DIR: join(root, "subnets") },
    stateFile,
    readState: (testID) => JSON.parse(readFileSync(stateFile(testID), "utf8")) as Json,
    stateFiles: () => (existsSync(join(stateDir, "state")) ? readdirSync(join(stateDir, "state")).filter((f) => f.endsWith(".json")) : []),
    [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }),
  };
}

let counter = 0;
/** A testID shaped like Forge's (test-<stage>-<YYYYMMDD>-<8 hex>), unique within the run. */
export function testID(stage = "e2e"): string {
  counter += 1;
  const hex = (Date.now() % 0xffffff).toString(16).padStart(6, "0") + counter.toString(16).padStart(2, "0");
  return `test-${stage}-20260101-${hex.slice(-8)}`;
}

/** Whether a process with this PID exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** PIDs of live processes whose environment mentions `marker` (e.g. a stub store path in their provider config). */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8");
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Zombies have exited already; only their parent has not reaped them.
      if (environ.includes(marker) && !/\) Z /.test(stat)) pids.push(Number(entry));
    } catch {
      // The process went away while we looked, or is not ours.
    }
  }
  return pids;
}

/** Waits until no process mentions `marker`; returns the PIDs still alive after `timeoutMs`. */
export async function waitForNoProcesses(marker: string, timeoutMs = 15_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = processesMentioning(marker);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    alive = processesMentioning(marker);
  }
  return alive;
}
