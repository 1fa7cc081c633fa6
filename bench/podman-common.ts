// Shared by the podman benchmarks: a timer, SSH readiness as a person would wait for it, and running the benchmark
// inside a network namespace of its own (the containers are reachable only from in there).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { retryUntil } from "../lib/retry.js";
import { sshExec } from "../providers/kit/index.js";
import { NETNS, NSENTER, createNetns, deleteNetns } from "../test/podman/support.js";

export async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function sshReady(host: string, privateKey: string): Promise<void> {
  const outcome = await retryUntil(async () => ((await sshExec({ host, port: 22, user: "root", privateKey }, "true", 5000)).code === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100, backoff: 1.5, maxIntervalMs: 1000 });
  if (!outcome.ok) throw new Error(`ssh to ${host} never answered`);
}

/** Runs `main` inside a fresh namespace: the outer process makes it, re-runs the script in it, and removes it. */
export async function inOwnNetns(scriptUrl: string, main: () => Promise<void>): Promise<void> {
  if (process.env.TESTENV_VM_PODMAN_NETNS !== undefined) return main();
  createNetns();
  try {
    execFileSync(NSENTER[0], [NSENTER[1], process.execPath, fileURLToPath(scriptUrl), ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, TESTENV_VM_PODMAN_NETNS: NETNS } });
  } finally {
    deleteNetns();
  }
}
