import { TestenvError } from "../errors.js";

// Errors of the client library. All are TestenvErrors so callers can switch on `code`; the fields a test
// failure report needs (host, command, output) are properties and are also copied into `details`.

/** Where a VM is reached: the VM's logical name and its SSH endpoint. */
export interface SshEndpoint {
  vm: string;
  host: string;
  port: number;
  user: string;
}

const endpointText = (e: SshEndpoint): string => `${e.user}@${e.host}:${e.port} (vm "${e.vm}")`;

/** Output is kept whole on the error; the message carries only a tail so that it stays readable. */
const tail = (text: string, max = 2000): string => (text.length <= max ? text : `…${text.slice(-max)}`);

export class SshConnectionError extends TestenvError {
  override name = "SshConnectionError";
  readonly endpoint: SshEndpoint;

  constructor(endpoint: SshEndpoint, reason: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(
      "SSH_ERROR",
      `cannot connect over SSH to ${endpointText(endpoint)}: ${reason}; check that the VM is running and its SSH server is reachable (vm.waitReady() waits for it)`,
      { cause: options.cause, retryable: options.retryable ?? true, details: { ...endpoint, reason } },
    );
    this.endpoint = endpoint;
  }
}

export class HostKeyMismatchError extends TestenvError {
  override name = "HostKeyMismatchError";
  readonly endpoint: SshEndpoint;
  readonly expectedFingerprint: string;
  readonly actualFingerprint: string;
  readonly recordedFor: string;

  constructor(endpoint: SshEndpoint, expected: { fingerprint: string; vm: string }, actualFingerprint: string, knownHostsFile: string) {
    super(
      "SSH_ERROR",
      `host key of ${endpoint.host}:${endpoint.port} changed: vm "${endpoint.vm}" presented ${actualFingerprint}, ` +
        `but ${expected.fingerprint} was recorded for vm "${expected.vm}" in ${knownHostsFile}; refusing to connect. ` +
        `If the VM was legitimately recreated outside this library, remove that entry from the file`,
      {
        details: {
          ...endpoint,
          expectedFingerprint: expected.fingerprint,
          actualFingerprint,
          recordedFor: expected.vm,
          knownHostsFile,
        },
      },
    );
    this.endpoint = endpoint;
    this.expectedFingerprint = expected.fingerprint;
    this.actualFingerprint = actualFingerprint;
    this.recordedFor = expected.vm;
  }
}

export interface ExecFailure {
  command: string;
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

export class ExecError extends TestenvError {
  override name = "ExecError";
  readonly host: string;
  readonly vm: string;
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;

  constructor(endpoint: SshEndpoint, failure: ExecFailure) {
    const how = failure.signal === undefined ? `exit code ${failure.exitCode}` : `signal ${failure.signal}`;
    const stderr = failure.stderr.trim() === "" ? "(empty)" : tail(failure.stderr.trimEnd());
    // EXEC_FAILED, not SSH_ERROR: the connection worked, the command did not.
    super("EXEC_FAILED", `command failed on vm "${endpoint.vm}" (${endpoint.host}) with ${how}: ${failure.command}\nstderr: ${stderr}`, {
      details: { vm: endpoint.vm, host: endpoint.host, ...failure },
    });
    this.host = endpoint.host;
    this.vm = endpoint.vm;
    this.command = failure.command;
    this.exitCode = failure.exitCode;
    this.signal = failure.signal;
    this.stdout = failure.stdout;
    this.stderr = failure.stderr;
  }
}

export class ExecTimeoutError extends TestenvError {
  override name = "ExecTimeoutError";
  readonly command: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Which of the output streams the caller's maxOutputBytes cut before the timeout. */
  readonly truncated: { stdout: boolean; stderr: boolean };

  constructor(endpoint: SshEndpoint, command: string, timeoutMs: number, output: { stdout: string; stderr: string; truncated?: { stdout: boolean; stderr: boolean } }) {
    super(
      "TIMEOUT",
      `command on vm "${endpoint.vm}" (${endpoint.host}) did not finish within ${timeoutMs} ms: ${command}; raise timeoutMs or check what it waits for`,
      { retryable: false, details: { vm: endpoint.vm, host: endpoint.host, command, timeoutMs, ...output } },
    );
    this.command = command;
    this.stdout = output.stdout;
    this.stderr = output.stderr;
    this.truncated = output.truncated ?? { stdout: false, stderr: false };
  }
}

/** How a transfer went: SFTP, or commands over exec on a guest that has no SFTP server. */
export type FileTransferVia = "sftp" | "exec";

export interface FileTransferFailure {
  /** What was being done: "read", "write", "copy to", "copy from". */
  operation: string;
  /** The remote path, as the VM saw it. */
  path: string;
  via: FileTransferVia;
  cause: unknown;
  /** The guest has no SFTP server and the transfer over exec could not run either (no cat/wc/mkdir on the guest). */
  noTransport?: boolean;
}

export const NO_SFTP_HINT = "the guest has no SFTP server; install openssh-sftp-server or use exec";

/** A transfer that reached the VM and failed there. Never retryable: the same transfer would fail the same way. */
export class FileTransferError extends TestenvError {
  override name = "FileTransferError";
  readonly operation: string;
  readonly path: string;
  readonly via: FileTransferVia;

  constructor(endpoint: SshEndpoint, failure: FileTransferFailure) {
    const reason = cause(failure.cause);
    const where = `${failure.operation} ${failure.path} on vm "${endpoint.vm}" (${endpoint.host})`;
    const message = failure.noTransport
      ? `${where} failed: ${NO_SFTP_HINT} (the transfer over exec failed too: ${reason})`
      : failure.via === "sftp"
        ? `${where} failed over SFTP: ${reason}`
        : `${where} failed over exec (the guest has no SFTP server): ${reason}`;
    super("FILE_TRANSFER_FAILED", message, {
      cause: failure.cause,
      retryable: false,
      details: { vm: endpoint.vm, host: endpoint.host, operation: failure.operation, path: failure.path, via: failure.via, reason },
    });
    this.operation = failure.operation;
    this.path = failure.path;
    this.via = failure.via;
  }
}

const cause = (error: unknown): string => (error instanceof Error ? error.message : String(error));
