import { readFile } from "node:fs/promises";
import pLimit from "p-limit";
// ssh2 is CommonJS; Node ESM sees only some of its names as named exports, so take them from the default.
import type { Client, ClientChannel, SFTPWrapper } from "ssh2";
import { loadSsh2 } from "../../lib/ssh2.js";
import { TestenvError, errorMessage } from "../errors.js";
import { ExecTimeoutError, HostKeyMismatchError, SshConnectionError, type SshEndpoint } from "./errors.js";
import type { KnownHostsStore } from "./known-hosts.js";

// One kept SSH connection to one VM. Commands and SFTP share it; a dropped connection is reopened by the next call.
// This module is the only one that sees ssh2's types; the public declarations never mention them.
// A command is never retried once its channel is open (it may have had side effects); only opening the channel
// on a connection that turned out to be dead is retried, once, on a fresh connection.

export interface SshSessionOptions {
  endpoint: SshEndpoint;
  privateKeyPath: string;
  knownHosts: KnownHostsStore;
  /** Handshake timeout per connection attempt. */
  connectTimeoutMs?: number;
}

export interface RawExecResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal?: string;
  /** Set when maxOutputBytes cut a stream: the command ran on, its further output was dropped. */
  truncated?: OutputTruncation;
}

export interface OutputTruncation {
  stdout: boolean;
  stderr: boolean;
}

/** The same, with the output as bytes (for file contents, which need not be text). */
export interface RawExecBytes {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null;
  signal?: string;
  truncated?: OutputTruncation;
}

export interface RawExecOptions {
  stdin?: string | Buffer;
  timeoutMs?: number;
  /** Aborting kills the remote command (as a timeout does) and rejects with CANCELLED. */
  signal?: AbortSignal;
  /** Keep at most this many bytes of each of stdout and stderr; the rest is read and dropped. */
  maxOutputBytes?: number;
}

/** The guest refused the SFTP subsystem (no sftp-server installed, or none configured): not a connection problem. */
export class SftpUnavailableError extends Error {
  override name = "SftpUnavailableError";
}

// ssh2's words when the subsystem request is refused, or when the subsystem exits before the SFTP handshake
// (OpenSSH with a Subsystem line whose binary is missing exits 127).
const SFTP_REFUSED = /Unable to start subsystem|while establishing SFTP session|unexpected SFTP session termination/i;

/** OpenSSH allows 10 sessions per connection by default (MaxSessions); stay below it. */
const MAX_CHANNELS = 8;

export class SshSession {
  private connection: Promise<Client> | undefined;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private readonly channels = pLimit(MAX_CHANNELS);
  private closed = false;
  private liveClient: Client | undefined;
  /** The connection on which the guest refused SFTP; a new connection asks again. */
  private sftpRefusedOn: Client | undefined;
  private sftpRefusal = "";
  /** How many TCP+SSH handshakes this session made (reconnects included). */
  connectCount = 0;

  constructor(private readonly options: SshSessionOptions) {}

  get endpoint(): SshEndpoint {
    return this.options.endpoint;
  }

  /** Opens the connection now (otherwise the first command does). */
  async connect(): Promise<void> {
    await this.client();
  }

  async exec(commandLine: string, options: RawExecOptions = {}): Promise<RawExecResult> {
    const raw = await this.execBytes(commandLine, options);
    return { ...raw, stdout: raw.stdout.toString("utf8"), stderr: raw.stderr.toString("utf8") };
  }

  async execBytes(commandLine: string, options: RawExecOptions = {}): Promise<RawExecBytes> {
    const started = Date.now();
    return this.channels(async () => {
      if (options.signal?.aborted) throw cancelled(this.options.endpoint, commandLine);
      const opening = this.withLiveClient(
        (client) =>
          new Promise<ClientChannel>((resolve, reject) => {
            client.exec(commandLine, (error, stream) => (error ? reject(error) : resolve(stream)));
          }),
      );
      if (options.timeoutMs === undefined && options.signal === undefined) return collect(await opening, this.options.endpoint, commandLine, options);
      // The timeout covers connecting too: an unreachable VM must not hold the caller for the handshake timeout.
      const timeoutMs = options.timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const stopped = new Promise<never>((_resolve, reject) => {
        if (timeoutMs !== undefined) {
          timer = setTimeout(
            () => reject(new ExecTimeoutError(this.options.endpoint, commandLine, timeoutMs, { stdout: "", stderr: "" })),
            Math.max(0, timeoutMs - (Date.now() - started)),
          );
        }
        onAbort = () => reject(cancelled(this.options.endpoint, commandLine));
        options.signal?.addEventListener("abort", onAbort, { once: true });
      });
      let channel: ClientChannel;
      try {
        channel = await Promise.race([opening, stopped]);
      } catch (error) {
        // A channel that opens after the deadline is closed at once rather than left running unobserved.
        opening.then((late) => late.close(), () => undefined);
        throw error;
      } finally {
        clearTimeout(timer);
        if (onAbort) options.signal?.removeEventListener("abort", onAbort);
      }
      return collect(channel, this.options.endpoint, commandLine, {
        ...options,
        ...(timeoutMs === undefined ? {} : { timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) }),
      });
    });
  }

  /**
   * The SFTP session, opened on first use; throws SftpUnavailableError when the guest has no SFTP server (remembered
   * for this connection, so that every later transfer goes straight to the fallback).
   */
  async sftp(): Promise<SFTPWrapper> {
    if (this.sftpSession) return this.sftpSession;
    if (this.sftpRefusedOn !== undefined && this.sftpRefusedOn === this.liveClient) throw new SftpUnavailableError(this.sftpRefusal);
    const opening = this.withLiveClient(
      (client) =>
        new Promise<SFTPWrapper>((resolve, reject) => {
          client.sftp((error, sftp) => {
            if (!error) return resolve(sftp);
            if (!SFTP_REFUSED.test(error.message) || this.liveClient !== client) return reject(error);
            this.sftpRefusedOn = client;
            this.sftpRefusal = `the guest has no SFTP server (${error.message})`;
            reject(new SftpUnavailableError(this.sftpRefusal, { cause: error }));
          });
        }),
    );
    this.sftpSession = opening;
    opening.then(
      (sftp) => {
        const forget = (): void => {
          if (this.sftpSession === opening) this.sftpSession = undefined;
        };
        sftp.once("close", forget);
        // A failed SFTP session must not take the process down; the next transfer opens a new one.
        sftp.on("error", forget);
      },
      () => this.sftpSession === opening && (this.sftpSession = undefined),
    );
    return opening;
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.sftpSession = undefined;
    if (!connection) return;
    const client = await connection.catch(() => undefined);
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.once("close", () => resolve());
      client.end();
      // A peer that never answers the disconnect must not hold close() forever.
      setTimeout(() => {
        client.destroy();
        resolve();
      }, 2_000).unref();
    });
  }

  private async withLiveClient<T>(open: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.client();
    try {
      return await open(client);
    } catch (error) {
      if (this.closed || !(this.liveClient !== client || looksDisconnected(error))) throw this.wrap(error);
      // The connection died under us: the channel never opened, so nothing ran. Retry once on a fresh connection.
      this.drop(client);
      try {
        return await open(await this.client());
      } catch (retryError) {
        throw this.wrap(retryError);
      }
    }
  }

  private wrap(error: unknown): Error {
    if (error instanceof SshConnectionError || error instanceof HostKeyMismatchError || error instanceof SftpUnavailableError) return error;
    return new SshConnectionError(this.options.endpoint, errorMessage(error), { cause: error });
  }

  private drop(client: Client): void {
    if (this.liveClient !== client) return;
    this.liveClient = undefined;
    this.connection = undefined;
    this.sftpSession = undefined;
    client.destroy();
  }

  private client(): Promise<Client> {
    if (this.closed) {
      return Promise.reject(new SshConnectionError(this.options.endpoint, "the handle was closed", { retryable: false }));
    }
    if (!this.connection) {
      const opening = this.open();
      this.connection = opening;
      opening.catch(() => {
        if (this.connection === opening) this.connection = undefined;
      });
    }
    return this.connection;
  }

  private async open(): Promise<Client> {
    const { endpoint, privateKeyPath, knownHosts } = this.options;
    let privateKey: Buffer;
    try {
      privateKey = await readFile(privateKeyPath);
    } catch (error) {
      throw new SshConnectionError(endpoint, `cannot read private key ${privateKeyPath}: ${errorMessage(error)}`, { cause: error, retryable: false });
    }
    this.connectCount += 1;
    const client = new (await loadSsh2()).Client();
    return new Promise<Client>((resolve, reject) => {
      let hostKeyError: HostKeyMismatchError | undefined;
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        client.destroy();
        reject(hostKeyError ?? this.wrap(error));
      };
      client.once("ready", () => {
        settled = true;
        // Commands are small request/response exchanges: Nagle's algorithm would hold each one back.
        client.setNoDelay(true);
        this.liveClient = client;
        resolve(client);
      });
      // After ready, errors surface through the failing channel and the 'close' below.
      client.on("error", fail);
      client.once("close", () => {
        this.drop(client);
        fail(new Error("connection closed during the SSH handshake"));
      });
      client.connect({
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        privateKey,
        readyTimeout: this.options.connectTimeoutMs ?? 20_000,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          knownHosts.verify(endpoint, key).then(
            () => verify(true),
            (error: unknown) => {
              if (error instanceof HostKeyMismatchError) hostKeyError = error;
              else fail(error);
              verify(false);
            },
          );
        },
      });
    });
  }
}

/** ssh2's words for a connection that is gone (thrown by exec/sftp on a dead socket). */
function looksDisconnected(error: unknown): boolean {
  return /not connected|no response from server|ECONNRESET|EPIPE|socket/i.test(errorMessage(error));
}

function cancelled(endpoint: SshEndpoint, commandLine: string): TestenvError {
  return new TestenvError("CANCELLED", `command on vm "${endpoint.vm}" (${endpoint.host}) was cancelled and killed: ${commandLine}`, {
    details: { vm: endpoint.vm, host: endpoint.host, command: commandLine },
  });
}

/** One output stream, kept up to a cap; what comes after the cap is counted as cut, not stored. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    const room = this.maxBytes - this.kept;
    if (room <= 0) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.kept += part.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function collect(channel: ClientChannel, endpoint: SshEndpoint, commandLine: string, options: RawExecOptions): Promise<RawExecBytes> {
  return new Promise((resolve, reject) => {
    const limit = options.maxOutputBytes ?? Number.POSITIVE_INFINITY;
    const stdout = new CappedOutput(limit);
    const stderr = new CappedOutput(limit);
    let exitCode: number | null = null;
    let signal: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const text = (output: CappedOutput): string => output.bytes().toString("utf8");
    const finish = (): void => {
      if (timer) clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    };
    // Ask the server to kill the command, then drop the channel whatever it does.
    const kill = (): void => {
      finish();
      channel.removeAllListeners("close");
      try {
        channel.signal("KILL");
      } catch {
        // Not every server supports signals; closing the channel below is enough for us.
      }
      channel.close();
    };

    channel.on("data", (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    channel.on("exit", (code: number | null, signalName?: string) => {
      exitCode = code;
      if (signalName !== undefined) signal = signalName;
    });
    channel.on("error", (error: Error) => {
      finish();
      reject(new SshConnectionError(endpoint, `channel failed while running ${commandLine}: ${error.message}`, { cause: error, retryable: false }));
    });
    channel.once("close", () => {
      finish();
      if (exitCode === null && signal === undefined) {
        // No exit status: the connection went away under the command, which may or may not have run.
        reject(new SshConnectionError(endpoint, `connection lost while running ${commandLine}; it may or may not have run`, { retryable: false }));
        return;
      }
      const truncated = stdout.truncated || stderr.truncated ? { truncated: { stdout: stdout.truncated, stderr: stderr.truncated } } : {};
      resolve({ stdout: stdout.bytes(), stderr: stderr.bytes(), exitCode, ...(signal === undefined ? {} : { signal }), ...truncated });
    });
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        kill();
        reject(
          new ExecTimeoutError(endpoint, commandLine, options.timeoutMs ?? 0, {
            stdout: text(stdout),
            stderr: text(stderr),
            truncated: { stdout: stdout.truncated, stderr: stderr.truncated },
          }),
        );
      }, options.timeoutMs);
    }
    if (options.signal) {
      onAbort = () => {
        kill();
        reject(cancelled(endpoint, commandLine));
      };
      options.signal.addEventListener("abort", onAbort, { once: true });
      if (options.signal.aborted) onAbort();
    }
    if (options.stdin !== undefined) channel.end(options.stdin);
    else channel.end();
  });
}
