import { readFile } from "node:fs/promises";
import { clampMs, retryUntil } from "../../../lib/retry.js";
import { ProviderError, sshExec, tcpOpen, type ExecResult, type JumpHost, type SshTarget } from "../../kit/index.js";

/** Reads the console log where it is: a local file, or a file on a remote libvirt host. */
export type ReadText = (path: string) => Promise<string>;

const readLocal: ReadText = (path) => readFile(path, "utf8");

export { parseDuration, sshExec, tcpOpen, type ExecResult, type SshTarget } from "../../kit/index.js";

// Readiness checks, each with its own deadline. A timeout says where the console log is and what it
// last showed, because that is where the reason usually is.

export const DEFAULT_TIMEOUTS = { ssh: 180_000, tcp: 180_000, cloudInit: 600_000 } as const;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b[()][A-Za-z0-9]|\u001b[=>c]/g;

/** The last lines of a console log, escape sequences removed; "" when there is none. */
export async function consoleTail(path: string, lines = 20, read: ReadText = readLocal): Promise<string> {
  try {
    const text = (await read(path)).replace(ANSI, "").replace(/\r/g, "");
    return text.split("\n").filter((line) => line.trim() !== "").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export async function readinessTimeout(what: string, timeoutMs: number, consoleLog: string, lastError: string | undefined, read: ReadText = readLocal): Promise<ProviderError> {
  const tail = await consoleTail(consoleLog, 20, read);
  const message =
    `${what} not ready after ${Math.round(timeoutMs / 1000)}s` +
    (lastError ? ` (last error: ${lastError})` : "") +
    `; console log: ${consoleLog}` +
    (tail ? `\n--- last console lines ---\n${tail}` : " (empty)");
  return new ProviderError("TIMEOUT", message, { details: { consoleLog } });
}

function lastMessage(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  return error instanceof Error ? error.message : JSON.stringify(error);
}

export async function waitForSsh(target: SshTarget, timeoutMs: number, consoleLog: string, read: ReadText = readLocal): Promise<void> {
  // A refused connection (sshd not up yet) answers at once: retry soon, it is cheap. A guest still booting answers
  // nothing, and a connect left to the kernel's SYN back-off (1, 2, 4, 8 s) would notice sshd seconds late: the port
  // is probed with a short timeout first, and ssh runs only once it accepts.
  const outcome = await retryUntil(async (attempt) => {
    if (!(await tcpOpen(target.host, target.port, target.via ? 5000 : 1000, target.via))) throw new Error(`port ${target.port} does not accept connections yet`);
    const result = await sshExec(target, "echo testenv-ssh-ready", clampMs(attempt.remainingMs(), 5000, 20_000));
    if (result.stdout.includes("testenv-ssh-ready")) return true;
    throw new Error(`ssh command exited ${String(result.code)}: ${result.stderr.trim()}`);
  }, { timeoutMs, intervalMs: 100 });
  if (!outcome.ok) throw await readinessTimeout(`SSH ${target.user}@${target.host}:${target.port}${target.via ? ` (through ${target.via.host})` : ""}`, timeoutMs, consoleLog, lastMessage(outcome.lastError), read);
}

export async function waitForTcp(host: string, port: number, timeoutMs: number, consoleLog: string, options: { via?: JumpHost; read?: ReadText } = {}): Promise<void> {
  const outcome = await retryUntil(async () => ((await tcpOpen(host, port, options.via ? 5000 : 3000, options.via)) ? true : undefined), { timeoutMs, intervalMs: 500 });
  if (!outcome.ok) throw await readinessTimeout(`TCP ${host}:${port}`, timeoutMs, consoleLog, lastMessage(outcome.lastError) ?? "connection refused or timed out", options.read);
}

// cloud-init status --wait: 0 done, 2 done with recoverable errors (cloud-init ≥ 23.4), 1 failed.
const CLOUD_INIT_WAIT =
  "if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1; rc=$?; " +
  "else while [ ! -f /run/cloud-init/result.json ]; do sleep 1; done; rc=0; fi; " +
  "cat /run/cloud-init/result.json 2>/dev/null; exit $rc";

export async function waitForCloudInit(target: SshTarget, timeoutMs: number, consoleLog: string, read: ReadText = readLocal): Promise<void> {
  let failure: ExecResult | undefined;
  const outcome = await retryUntil(
    async (attempt) => {
      const result = await sshExec(target, CLOUD_INIT_WAIT, Math.max(5000, attempt.remainingMs()));
      if (result.code === 0 || result.code === 2) return true;
      if (result.code === 1) {
        failure = result;
        return true;
      }
      throw new Error(`cloud-init status exited ${String(result.code)}`);
    },
    { timeoutMs, intervalMs: 2000 },
  );
  if (failure) {
    throw new ProviderError("PROVIDER_ERROR", `cloud-init finished with errors on ${target.host}: ${failure.stdout.trim() || failure.stderr.trim() || "see /var/log/cloud-init.log in the guest"}; console log: ${consoleLog}`);
  }
  if (!outcome.ok) throw await readinessTimeout(`cloud-init on ${target.host}`, timeoutMs, consoleLog, lastMessage(outcome.lastError), read);
}
