import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { loadSsh2 } from "../../lib/ssh2.js";
import { invalidSpec } from "./errors.js";
import { throughJump, type JumpHost } from "./ssh-jump.js";

// The probes every provider's readiness checks are made of: a duration from the spec, one SSH command, one TCP
// connect. Each provider wraps them in its own deadline loop, because what a timeout should show differs (a VM's
// console log, a container's logs).

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

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** Reach the guest through this host (its network is not routable from here). */
  via?: JumpHost;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One SSH connection attempt that runs one command. Host keys are not checked: the VM was just made. */
export function sshExec(target: SshTarget, command: string, timeoutMs: number): Promise<ExecResult> {
  if (target.via) return throughJump(target.via, target.host, target.port, timeoutMs, (sock) => execOnce(target, command, timeoutMs, sock));
  return execOnce(target, command, timeoutMs, undefined);
}

async function execOnce(target: SshTarget, command: string, timeoutMs: number, sock: Duplex | undefined): Promise<ExecResult> {
  const { Client } = await loadSsh2();
  return new Promise((resolve, reject) => {
    const client = new Client();
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
      .connect({ host: target.host, port: target.port, username: target.user, privateKey: target.privateKey, readyTimeout: Math.min(timeoutMs, 20_000), ...(sock ? { sock } : {}) });
  });
}

export function tcpOpen(host: string, port: number, timeoutMs: number, via?: JumpHost): Promise<boolean> {
  if (via) return throughJump(via, host, port, timeoutMs, () => Promise.resolve(true)).catch(() => false);
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
