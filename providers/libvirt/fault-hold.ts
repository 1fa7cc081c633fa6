import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/durable-file.js";
import { retryUntil } from "../../lib/retry.js";
import type { Logger } from "../../lib/log.js";
import { pathExists } from "../kit/index.js";

// For the fault matrix only: TESTENV_VM_LIBVIRT_HOLD_AT=<point> with TESTENV_VM_LIBVIRT_HOLD_DIR=<dir> stops the
// provider at that point of its work, once per dir (a restarted provider goes on), so a test can kill it, kill the
// orchestrator or restart libvirtd exactly there. It writes <dir>/<point>/holding and goes on once that is removed.

export const HOLD_ENV = { point: "TESTENV_VM_LIBVIRT_HOLD_AT", dir: "TESTENV_VM_LIBVIRT_HOLD_DIR" } as const;

/** Where a VM create or delete can be held. */
export type HoldPoint = "vm-create" | "vm-defined" | "vm-started" | "vm-delete";

export type Hold = (point: HoldPoint) => Promise<void>;

export const noHold: Hold = () => Promise.resolve();

export function holdFromEnv(log: Logger, env: NodeJS.ProcessEnv = process.env): Hold {
  const wanted = env[HOLD_ENV.point];
  const dir = env[HOLD_ENV.dir];
  if (!wanted || !dir) return noHold;
  return async (point) => {
    if (point !== wanted) return;
    try {
      await mkdir(join(dir, point)); // once: a second process (the restarted provider) finds it there
    } catch {
      return;
    }
    const marker = join(dir, point, "holding");
    await writeFileAtomic(marker, `${process.pid}\n`); // whole when it appears: the test reads the pid to kill
    log.warn(`holding at ${point} (test fault point) until ${marker} is removed`);
    await retryUntil(async () => ((await pathExists(marker)) ? undefined : true), { timeoutMs: 30 * 60_000, intervalMs: 100 });
  };
}
