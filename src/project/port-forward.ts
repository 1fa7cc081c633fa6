import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { openSync, closeSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import type { PortForward } from "../../api/project-env.js";
import { packageRoot } from "../../lib/package.js";
import { readIdentity, stopProcess, type ProcessIdentity } from "../../lib/process-identity.js";
import { retryUntil } from "../../lib/retry.js";
import { TestenvError, type Issue } from "../errors.js";

// PORTS: hostPort on the host reaches guestPort in the instance. The mechanism is a supervised forwarder process
// (forwarder.ts), recorded by pid + start time + argv, started by `up`/`start` once the guest is ready and
// stopped by `stop`/`rm`. It needs no privileges, works the same for libvirt networks and host bridges, forwards TCP
// and UDP, and costs one small Node process per instance.

// From the package root, not this module: the CLI runs this code from a bundle in dist/chunks/.
const FORWARDER = join(packageRoot(), "dist/src/project/forwarder.js");

export interface ForwarderRecord extends ProcessIdentity {
  ports: PortForward[];
  guestIP: string;
}

function bindProblem(port: PortForward): Promise<string | undefined> {
  const why = (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? "is already in use" : `cannot be bound (${error.code ?? error.message})`);
  return new Promise((resolve) => {
    if (port.protocol === "udp") {
      const probe = createSocket("udp4");
      probe.once("error", (error: NodeJS.ErrnoException) => {
        probe.close();
        resolve(why(error));
      });
      probe.bind(port.hostPort, port.hostIP, () => probe.close(() => resolve(undefined)));
      return;
    }
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => resolve(why(error)));
    probe.listen(port.hostPort, port.hostIP, () => probe.close(() => resolve(undefined)));
  });
}

/** A host port already taken, or one that cannot be bound: named before anything is created. */
export async function portIssues(ports: readonly PortForward[]): Promise<Issue[]> {
  const issues: Issue[] = [];
  for (const port of ports) {
    const problem = await bindProblem(port);
    if (problem !== undefined) {
      issues.push({ field: "PORTS", message: `host port ${port.hostIP}:${port.hostPort}/${port.protocol} ${problem}; choose another hostPort or stop what uses it` });
    }
  }
  return issues;
}

/** Starts the forwarder for `ports` to the guest; resolves once every listener is up. */
export async function startForwarder(ports: readonly PortForward[], guestIP: string, workDir: string): Promise<ForwarderRecord> {
  const readyFile = join(workDir, "forwarder.ready");
  await rm(readyFile, { force: true });
  const forwards = ports.map((port) => ({ hostIP: port.hostIP, hostPort: port.hostPort, guestIP, guestPort: port.guestPort, protocol: port.protocol }));
  const log = openSync(join(workDir, "forwarder.log"), "a", 0o600);
  const child = spawn(process.execPath, [FORWARDER, readyFile, JSON.stringify(forwards)], { detached: true, stdio: ["ignore", log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new TestenvError("PROVIDER_ERROR", "the port forwarder did not start");
  const outcome = await retryUntil(async () => {
    const text = await readFile(readyFile, "utf8").catch(() => undefined);
    return text?.trim() || undefined;
  }, { timeoutMs: 10_000, intervalMs: 50 });
  const answer = outcome.ok ? outcome.value : "no answer within 10 s";
  const identity = await readIdentity(pid);
  if (answer !== "ready" || identity === undefined) {
    if (identity) await stopProcess(identity);
    throw new TestenvError("PROVIDER_ERROR", `the port forwarder for ${ports.map((p) => `${p.hostIP}:${p.hostPort}`).join(", ")} failed: ${answer.replace(/^error /, "")}; see ${join(workDir, "forwarder.log")}`);
  }
  return { ...identity, ports: [...ports], guestIP };
}

/** Stops the recorded forwarder if it still runs; never anything else. */
export async function stopForwarder(record: ForwarderRecord | undefined): Promise<void> {
  if (record !== undefined) await stopProcess(record);
}
