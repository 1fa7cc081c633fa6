import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import ssh2 from "ssh2";
import { clampMs, retryUntil } from "../../../lib/retry.js";
import { ProviderError, invalidSpec } from "../../kit/index.js";

// Readiness checks, each with its own deadline. A timeout says where the console log is and what it
// last showed, because that is where the reason usually is.

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(value: string | undefined, fallbackMs: number, field: string): number {
  if (value === undefined || value.trim() === "") return fallbackMs;
  let total = 0;
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let consumed = "";
  for (const match of value.trim().matchAll(pattern)) {
    total += Number(match[1]) * (DURATION_UNITS[match[2] ?? "s"] ?? 1000);
    consumed += match[0];
  }
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  if (consumed !== value.trim() || total <= 0) throw invalidSpec(`${field}: "${value}" is not a duration such as 90s, 3m or 1h`);
  return total;
}

export const DEFAULT_TIMEOUTS = { ssh: 180_000, tcp: 180_000, cloudInit: 600_000 } as const;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b[()][A-Za-z0-9]|\u001b[=>c]/g;

/** The last lines of a console log, escape sequences removed; "" when there is none. */
export async function consoleTail(path: string, lines = 20): Promise<string> {
  try {
    const text = (await readFile(path, "utf8")).replace(ANSI, "").replace(/\r/g, "");
    return text.split("\n").filter((line) => line.trim() !== "").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export async function readinessTimeout(what: string, timeoutMs: number, consoleLog: string, lastError: string | undefined): Promise<ProviderError> {
  const tail = await consoleTail(consoleLog);
  const message =
    `${what} not ready after ${Math.round(timeoutMs / 1000)}s` +
    (lastError ? ` (last error: ${lastError})` : "") +
    `; console log: ${consoleLog}` +
    (tail ? `\n--- last console lines ---\n${tail}` : " (empty)");
  return new ProviderError("TIMEOUT", message, { details: { consoleLog } });
}

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKey: string;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One SSH connection attempt that runs one command. Host keys are not checked: the VM was just made. */
export function sshExec(target: SshTarget, command: string, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    const finish = (error: Error | undefined, result?: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      if (error) reject(error);
      else if (result) resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`command did not finish within ${Math.round(timeoutMs / 1000)}s`)), timeoutMs);
    client
      .on("ready", () => {
        client.exec(command, (error, stream) => {
          if (error) return finish(error);
          let stdout = "";
          let stderr = "";
          stream.on("data", (data: Buffer) => (stdout += data.toString()));
          stream.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
          stream.on("close", (code: number | null) => finish(undefined, { code, stdout, stderr }));
        });
      })
      .on("error", (error) => finish(error))
      .connect({ host: target.host, port: target.port, username: target.user, privateKey: target.privateKey, readyTimeout: Math.min(timeoutMs, 20_000) });
  });
}

function lastMessage(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  return error instanceof Error ? error.message : JSON.stringify(error);
}

export async function waitForSsh(target: SshTarget, timeoutMs: number, consoleLog: string): Promise<void> {
  // A refused connection (sshd not up yet) answers at once: retry soon, it is cheap. A guest still booting answers
  // nothing, and a connect left to the kernel's SYN back-off (1, 2, 4, 8 s) would notice sshd seconds late: the port
  // is probed with a short timeout first, and ssh runs only once it accepts.
  const outcome = await retryUntil(async (attempt) => {
    if (!(await tcpOpen(target.host, target.port, 1000))) throw new Error(`port ${target.port} does not accept connections yet`);
    const result = await sshExec(target, "echo testenv-ssh-ready", clampMs(attempt.remainingMs(), 5000, 20_000));
    if (result.stdout.includes("testenv-ssh-ready")) return true;
    throw new Error(`ssh command exited ${String(result.code)}: ${result.stderr.trim()}`);
  }, { timeoutMs, intervalMs: 250 });
  if (!outcome.ok) throw await readinessTimeout(`SSH ${target.user}@${target.host}:${target.port}`, timeoutMs, consoleLog, lastMessage(outcome.lastError));
}

export function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function waitForTcp(host: string, port: number, timeoutMs: number, consoleLog: string): Promise<void> {
  const outcome = await retryUntil(async () => ((await tcpOpen(host, port, 3000)) ? true : undefined), { timeoutMs, intervalMs: 500 });
  if (!outcome.ok) throw await readinessTimeout(`TCP ${host}:${port}`, timeoutMs, consoleLog, lastMessage(outcome.lastError) ?? "connection refused or timed out");
}

// cloud-init status --wait: 0 done, 2 done with recoverable errors (cloud-init ≥ 23.4), 1 failed.
const CLOUD_INIT_WAIT =
  "if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1; rc=$?; " +
  "else while [ ! -f /run/cloud-init/result.json ]; do sleep 1; done; rc=0; fi; " +
  "cat /run/cloud-init/result.json 2>/dev/null; exit $rc";

export async function waitForCloudInit(target: SshTarget, timeoutMs: number, consoleLog: string): Promise<void> {
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
  if (!outcome.ok) throw await readinessTimeout(`cloud-init on ${target.host}`, timeoutMs, consoleLog, lastMessage(outcome.lastError));
}
