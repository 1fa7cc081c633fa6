import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, posix } from "node:path";
import type { SFTPWrapper } from "ssh2";
import type { VMState } from "../../api/provider.js";
import { clampMs, retryUntil } from "../../lib/retry.js";
import { TestenvError, errorMessage } from "../errors.js";
import { ExecError, FileTransferError, HostKeyMismatchError, SshConnectionError, type SshEndpoint } from "./errors.js";
import { ExecFileTransfer, ExecTransferUnavailableError, remotePath, sftpCall, sftpMkdirs } from "./file-transfer.js";
import type { KnownHostsStore } from "./known-hosts.js";
import { buildRemoteCommand } from "./shell-command.js";
import { SftpUnavailableError, SshSession } from "./ssh-session.js";
import type { VmTarget } from "./vm-target.js";

/** How long start() and a restore wait for the VM's SSH to answer this handle once the provider says it is ready. */
const SETTLE_TIMEOUT_MS = 60_000;

export interface ExecOptions {
  /** Environment variables for the command; names must be valid shell names. */
  env?: Record<string, string>;
  /** Run as root through `sudo -n`. */
  sudo?: boolean;
  /** Directory to run in (on the VM). */
  cwd?: string;
  /** Kill the command and throw ExecTimeoutError after this long. */
  timeoutMs?: number;
  /** Fed to the command's standard input, then closed. */
  stdin?: string | Buffer;
  /** Throw ExecError when the exit code is not 0 (default false: the result carries the exit code). */
  check?: boolean;
  /** Aborting kills the command and rejects with a CANCELLED TestenvError. */
  signal?: AbortSignal;
  /** Keep at most this many bytes of each of stdout and stderr; `truncated` says which was cut. */
  maxOutputBytes?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the command was killed by a signal. */
  exitCode: number | null;
  signal?: string;
  /** The exact line sent to the VM. */
  command: string;
  /** Present when maxOutputBytes cut stdout or stderr. */
  truncated?: { stdout: boolean; stderr: boolean };
}

export interface WaitReadyOptions {
  /** Give up after this long (default 3 minutes). */
  timeoutMs?: number;
  /** Also wait for cloud-init to finish (default: when the VM was given a cloud-init config). */
  cloudInit?: boolean;
}

export interface VmStopOptions {
  /** Seconds the guest gets to shut down after the ACPI request before it is forced off (default 60, at most 3600). */
  timeoutSeconds?: number;
  /** Power off at once, without asking the guest. */
  force?: boolean;
}

/** @internal How a handle powers its VM on and off: the environment, through the orchestrator. */
export interface VmPower {
  stop(name: string, options: VmStopOptions): Promise<VMState>;
  /** Starts the VM and waits for its readiness; answers its state and where it is reached now (its address may be new). */
  start(name: string): Promise<{ state: VMState; target: VmTarget }>;
}

export interface WriteFileOptions {
  /** File mode, e.g. 0o755 (applied after writing, so the umask does not interfere). */
  mode?: number;
}

// Done when cloud-init reported a result, or when there is no cloud-init at all; exit 3 means "not yet".
const CLOUD_INIT_DONE =
  "if [ -e /run/cloud-init/result.json ] || [ -e /var/lib/cloud/instance/boot-finished ]; then exit 0; " +
  "elif command -v cloud-init >/dev/null 2>&1; then exit 3; else exit 0; fi";

/** While a VM boots, SSH refuses, drops and rejects keys; a changed host key or a missing key file will not get better. */
function worthRetrying(error: unknown): boolean {
  if (error instanceof HostKeyMismatchError) return false;
  if (error instanceof SshConnectionError) {
    const reason = error.details.reason;
    return !(typeof reason === "string" && reason.startsWith("cannot read private key"));
  }
  return !(error instanceof TestenvError) || error.code === "SSH_ERROR" || error.code === "TIMEOUT";
}

/** One transfer, written both ways: over SFTP, and over exec for a guest without an SFTP server. */
interface Transfer<T> {
  sftp(sftp: SFTPWrapper): Promise<T>;
  exec(files: ExecFileTransfer): Promise<T>;
}

/**
 * One VM of an environment. Keeps one SSH connection open for all its commands and transfers, reopens it when it
 * drops, and closes it on close() / `await using`. stop() and start() power the VM through the orchestrator.
 */
export class VmHandle implements AsyncDisposable {
  // Private, not protected: a protected member's type would be part of the public declarations, and with it ssh2's.
  // Replaced (not reused) after stop and start: a closed session refuses every later call by design.
  private session: SshSession;
  private readonly execFiles: ExecFileTransfer;
  /** Handshakes of the sessions replaced so far, so that connectionCount keeps counting across stop/start. */
  private retiredConnections = 0;

  constructor(
    protected target: VmTarget,
    private readonly knownHosts: KnownHostsStore,
    private readonly power?: VmPower,
  ) {
    this.session = this.newSession();
    this.execFiles = new ExecFileTransfer((line, options) => this.session.execBytes(line, options));
  }

  private newSession(): SshSession {
    return new SshSession({ endpoint: this.endpoint, privateKeyPath: this.target.privateKeyPath, knownHosts: this.knownHosts });
  }

  /** Closes the kept connection; the next command opens a new one (to the current target). */
  private async replaceSession(): Promise<void> {
    const old = this.session;
    this.retiredConnections += old.connectCount;
    this.session = this.newSession();
    await old.close();
  }

  private requirePower(operation: string): VmPower {
    if (this.power) return this.power;
    throw new TestenvError("STATE_NOT_FOUND", `${operation} of vm "${this.name}" goes through its environment's state file; get the handle from env.vm() of an environment opened with its state`);
  }

  /**
   * Shuts the VM down: gracefully, forced off after `timeoutSeconds` (or at once with `force`). Its disk is kept.
   * The kept SSH connection is closed; the answer's `stopMethod` says graceful, forced or already-stopped.
   */
  async stop(options: VmStopOptions = {}): Promise<VMState> {
    const state = await this.requirePower("stop").stop(this.name, options);
    await this.replaceSession();
    return state;
  }

  /**
   * Starts the stopped VM with its disk as it was and waits for its readiness checks again; a running VM is left
   * as it is. The next command connects anew, to the address the VM has now.
   */
  async start(): Promise<VMState> {
    const { state, target } = await this.requirePower("start").start(this.name);
    this.target = target;
    await this.replaceSession();
    await this.settle();
    return state;
  }

  /**
   * `true` over this handle's own new connection, retried while SSH refuses or drops: a guest's SSH server may
   * restart right after the provider's readiness check passed (the tiny image's dropbear does), and the caller's
   * first command must not be the one lost to it.
   */
  private async settle(): Promise<void> {
    await this.waitReady({ cloudInit: false, timeoutMs: SETTLE_TIMEOUT_MS });
  }

  /**
   * @internal After its environment was restored to a snapshot: the kept connection belongs to a guest state that
   * no longer exists, so it is dropped; the next command connects anew to `target`.
   */
  async reconnect(target: VmTarget): Promise<void> {
    this.target = target;
    await this.replaceSession();
    await this.settle();
  }

  get name(): string {
    return this.target.name;
  }
  /** Name the provider knows the VM by (prefixed). */
  get providerName(): string | undefined {
    return this.target.providerName;
  }
  get host(): string {
    return this.target.host;
  }
  get port(): number {
    return this.target.port;
  }
  get user(): string {
    return this.target.user;
  }
  get privateKeyPath(): string {
    return this.target.privateKeyPath;
  }
  get endpoint(): SshEndpoint {
    return { vm: this.target.name, host: this.target.host, port: this.target.port, user: this.target.user };
  }

  /**
   * Runs a command. A string is shell source run as written; an array is argv, each element quoted so it arrives as
   * exactly one argument. Resolves with the exit code unless `check` is set.
   */
  async exec(command: string | readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const line = buildRemoteCommand(command, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.sudo ? { sudo: true } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    const raw = await this.session.exec(line, {
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.maxOutputBytes !== undefined ? { maxOutputBytes: options.maxOutputBytes } : {}),
    });
    const result: ExecResult = { ...raw, command: line };
    if (options.check && raw.exitCode !== 0) throw new ExecError(this.endpoint, { ...raw, command: line });
    return result;
  }

  /** Copies a local file to the VM, creating the remote parent directories; keeps the local file's mode. */
  async copyTo(localPath: string, remote: string): Promise<void> {
    const target = remotePath(remote);
    const local = await stat(localPath).catch((error: unknown) => {
      throw new TestenvError("INPUT_INVALID", `cannot copy ${localPath} to vm "${this.name}": ${errorMessage(error)}`, { cause: error });
    });
    if (!local.isFile()) {
      throw new TestenvError("INPUT_INVALID", `cannot copy ${localPath} to vm "${this.name}": only regular files are copied, this is not one`);
    }
    const mode = local.mode & 0o7777;
    await this.transfer("copy to", target, {
      sftp: async (sftp) => {
        await sftpMkdirs(sftp, posix.dirname(target));
        await sftpCall<void>((done) => sftp.fastPut(localPath, target, { mode }, (e) => done(e)));
        await sftpCall<void>((done) => sftp.chmod(target, mode, (e) => done(e)));
      },
      exec: async (files) => files.write(target, await readFile(localPath), mode),
    });
  }

  /** Copies a file from the VM to a local path, creating local parent directories. */
  async copyFrom(remote: string, localPath: string): Promise<void> {
    const source = remotePath(remote);
    await mkdir(dirname(localPath), { recursive: true });
    await this.transfer("copy from", source, {
      sftp: (sftp) => sftpCall<void>((done) => sftp.fastGet(source, localPath, (e) => done(e))),
      exec: async (files) => writeFile(localPath, await files.read(source)),
    });
  }

  readFile(remote: string): Promise<Buffer>;
  readFile(remote: string, encoding: BufferEncoding): Promise<string>;
  async readFile(remote: string, encoding?: BufferEncoding): Promise<Buffer | string> {
    const path = remotePath(remote);
    const data = await this.transfer("read", path, {
      sftp: (sftp) => sftpCall<Buffer>((done) => sftp.readFile(path, done)),
      exec: (files) => files.read(path),
    });
    return encoding === undefined ? data : data.toString(encoding);
  }

  /** Writes a file on the VM (replacing it), creating the parent directories. */
  async writeFile(remote: string, data: string | Uint8Array, options: WriteFileOptions = {}): Promise<void> {
    const path = remotePath(remote);
    const bytes = Buffer.from(data);
    await this.transfer("write", path, {
      sftp: async (sftp) => {
        await sftpMkdirs(sftp, posix.dirname(path));
        await sftpCall<void>((done) => sftp.writeFile(path, bytes, (e) => done(e)));
        if (options.mode !== undefined) {
          const mode = options.mode;
          await sftpCall<void>((done) => sftp.chmod(path, mode, (e) => done(e)));
        }
      },
      exec: (files) => files.write(path, bytes, options.mode),
    });
  }

  /**
   * Waits until a command runs over SSH (connection refused, timeouts and not-yet-installed keys are retried), then,
   * when asked, until cloud-init has finished. A changed host key is never retried.
   */
  async waitReady(options: WaitReadyOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 180_000;
    const waitCloudInit = options.cloudInit ?? this.target.cloudInit;
    let stage: "ssh" | "cloud-init" = "ssh";
    const outcome = await retryUntil(
      async (attempt) => {
        const commandTimeoutMs = clampMs(attempt.remainingMs(), 1_000, 30_000);
        if (stage === "ssh") {
          await this.exec("true", { timeoutMs: commandTimeoutMs });
          if (!waitCloudInit) return true;
          stage = "cloud-init";
        }
        const result = await this.exec(CLOUD_INIT_DONE, { timeoutMs: commandTimeoutMs });
        if (result.exitCode === 0) return true;
        throw new Error(result.exitCode === 3 ? "cloud-init has not finished yet" : `cloud-init check exited ${result.exitCode}`);
      },
      { timeoutMs, intervalMs: 200, backoff: 2, maxIntervalMs: 2_000, retryable: worthRetrying },
    );
    if (outcome.ok) return;
    const lastError = outcome.lastError;
    throw new TestenvError(
      "TIMEOUT",
      `vm "${this.name}" (${this.host}:${this.port}) was not ready within ${timeoutMs} ms (waiting for ${stage}): ${errorMessage(lastError)}`,
      { cause: lastError, retryable: true, details: { ...this.endpoint, stage, timeoutMs } },
    );
  }

  /** How many SSH handshakes this handle made so far (1 unless the connection dropped). */
  get connectionCount(): number {
    return this.retiredConnections + this.session.connectCount;
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Runs a transfer over SFTP, or over exec when the guest has no SFTP server. Failures on the VM are
   * FileTransferErrors naming the path; a connection that cannot be opened stays an SshConnectionError.
   */
  private async transfer<T>(operation: string, path: string, ways: Transfer<T>): Promise<T> {
    let sftp: SFTPWrapper | undefined;
    try {
      sftp = await this.session.sftp();
    } catch (error) {
      if (!(error instanceof SftpUnavailableError)) throw error;
    }
    if (sftp) {
      try {
        return await ways.sftp(sftp);
      } catch (error) {
        throw new FileTransferError(this.endpoint, { operation, path, via: "sftp", cause: error });
      }
    }
    try {
      return await ways.exec(this.execFiles);
    } catch (error) {
      if (error instanceof SshConnectionError || error instanceof HostKeyMismatchError) throw error;
      throw new FileTransferError(this.endpoint, {
        operation,
        path,
        via: "exec",
        cause: error,
        noTransport: error instanceof ExecTransferUnavailableError,
      });
    }
  }
}
