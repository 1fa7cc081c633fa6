import { spawn } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../lib/package.js";
import { readIdentity, type ProcessIdentity } from "../../lib/process-identity.js";
import type { ProviderConfig } from "../../api/spec.js";
import { errorMessage } from "../errors.js";
import { StateStore } from "../state/index.js";
import type { DeleteResult } from "./delete.js";
import { deleteEnvironment } from "./delete.js";
import type { EngineDeps } from "./deps.js";
import { collectGarbage, type GcReport } from "./gc.js";

// The reaper (as testcontainers' Ryuk): a small detached process that watches the process that owns an
// environment (a test runner, a shell) and, once that dies without cleaning up, deletes the environment and
// removes whatever gc still finds of it. A normal teardown stops the reaper (stopReaper) before it has work.

export interface ReaperTarget {
  testID: string;
  /** Where the environment's state is (or will be). */
  stateDir: string;
}

export interface StartedReaper {
  pid: number;
  /** The watched process: the reaper acts once this pid is gone or is another process. */
  watching: ProcessIdentity;
}

const POLL_MS = 1_000;

/** `node <package>/dist/src/bin.js reap ...`: the package's own CLI, from an argv array, detached and unref'd. */
export async function startReaper(deps: Pick<EngineDeps, "rootDir" | "env">, target: ReaperTarget, watchPid: number): Promise<StartedReaper> {
  const watching = await readIdentity(watchPid);
  if (watching === undefined) throw new Error(`reaper: process ${watchPid} to watch is not running`);
  const bin = join(packageRoot(), "dist", "src", "bin.js");
  const child = spawn(process.execPath, [bin, "reap", "--watch-pid", String(watchPid), "--watch-start", watching.startTime, "--id", target.testID, "--state-dir", target.stateDir, "--quiet"], {
    cwd: deps.rootDir,
    env: { ...deps.env, TESTENV_VM_LOG: deps.env.TESTENV_VM_LOG ?? "warn" },
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  if (child.pid === undefined) throw new Error("reaper: the watcher process did not start");
  return { pid: child.pid, watching };
}

/** Stops a reaper this process started (its environment was deleted normally). */
export function stopReaper(reaper: StartedReaper): void {
  try {
    process.kill(reaper.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

export interface ReapResult {
  deleted?: DeleteResult;
  deleteError?: string;
  gc: GcReport;
}

/** In the reaper process: waits for the watched process to die, then deletes the environment and gc's the rest. */
export async function watchAndReap(deps: EngineDeps, target: ReaperTarget, watching: Pick<ProcessIdentity, "pid" | "startTime">, pollMs = POLL_MS): Promise<ReapResult> {
  while (await stillThere(watching)) await new Promise((resolve) => setTimeout(resolve, pollMs));
  deps.log.warn(`reaper: process ${watching.pid} is gone; deleting environment ${target.testID}`);
  const result: Partial<ReapResult> = {};
  // The providers gc must ask are recorded in the state that delete is about to remove.
  const providers = await recordedProviders(target);
  try {
    result.deleted = await deleteEnvironment(deps, { testID: target.testID }, { stateDir: target.stateDir, force: true });
  } catch (error) {
    result.deleteError = errorMessage(error);
    deps.log.error(`reaper: delete of ${target.testID} failed: ${result.deleteError}`);
  }
  // What the state did not list (a create killed between a provider's answer and the save) is found by owner.
  const gc = await collectGarbage(deps, { apply: true, olderThanMs: 0, testID: target.testID, stateDir: target.stateDir, ...(providers ? { providers } : {}) });
  return { ...result, gc };
}

async function recordedProviders(target: ReaperTarget): Promise<ProviderConfig[] | undefined> {
  try {
    return (await new StateStore(target.stateDir).load(target.testID))?.providers;
  } catch {
    return undefined;
  }
}

async function stillThere(watching: Pick<ProcessIdentity, "pid" | "startTime">): Promise<boolean> {
  const live = await readIdentity(watching.pid);
  return live !== undefined && live.startTime === watching.startTime;
}

