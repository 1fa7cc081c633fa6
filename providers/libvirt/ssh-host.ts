import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandError, run, type RunOptions, type RunResult } from "../../lib/run.js";
import { ProviderError } from "../kit/index.js";
import { unixSocketUri, type LibvirtConnection } from "./connection.js";
import { shellQuote } from "./shell-quote.js";
import { byName, type HostDirEntry, type LibvirtHost } from "./host.js";

// A remote libvirt host reached with OpenSSH. ssh takes one command line, so each argv is quoted word by word
// for the remote shell: nothing is ever interpolated unquoted. One master connection per provider process
// (ControlMaster) makes each later command cost a channel, not a handshake. The master is started on its own,
// with no command, so no long-lived process carries an environment's names in its argv; it ends with close(), or
// by itself a minute after the last use when this process could not say so. The same master forwards the host's
// libvirt socket to a socket in this process's own 0700 folder, so libvirt (virsh and the N-API binding) talks to
// the remote daemon over the one SSH connection whose host key was checked.

export interface SshEndpoint {
  user: string;
  host: string;
  port: number;
  /** Private key file; undefined leaves it to ssh's own configuration. */
  key: string | undefined;
  /** known_hosts file to check the host key against (strictly); undefined uses ssh's own. */
  knownHosts: string | undefined;
}

/** ssh exits 255 when the connection itself failed (a remote command's own exit code is passed through). */
const SSH_CONNECTION_FAILED = 255;

export class SshHost implements LibvirtHost {
  readonly remote = true;
  readonly name: string;
  private controlDir: Promise<string> | undefined;
  /** Resolves to the reason the master connection could not start, or undefined when it runs. */
  private master: Promise<ProviderError | undefined> | undefined;
  private restarting: Promise<void> | undefined;

  /** libvirtSocket: the daemon's socket on the host, forwarded by the master connection (none: no forward). */
  constructor(
    readonly endpoint: SshEndpoint,
    private readonly libvirtSocket?: string,
  ) {
    this.name = `${endpoint.user}@${endpoint.host}${endpoint.port === 22 ? "" : `:${endpoint.port}`}`;
  }

  /** Where this connection's control socket lives once it has connected; close() removes it. */
  get controlDirectory(): Promise<string> | undefined {
    return this.controlDir;
  }

  private async options(): Promise<string[]> {
    this.controlDir ??= mkdtemp(join(tmpdir(), "testenv-vm-ssh-"));
    const { key, knownHosts } = this.endpoint;
    return [
      "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=15",
      "-o", "ServerAliveInterval=10",
      "-o", `ControlPath=${join(await this.controlDir, "%C")}`,
      ...(key ? ["-o", "IdentitiesOnly=yes", "-i", key] : []),
      ...(knownHosts ? ["-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes"] : []),
    ];
  }

  private failure(what: string, error: unknown): ProviderError {
    const unreachable = error instanceof CommandError && error.exitCode === SSH_CONNECTION_FAILED;
    const detail = error instanceof CommandError ? error.stderr.trim() || error.message : error instanceof Error ? error.message : String(error);
    return new ProviderError("PROVIDER_ERROR", `${what} on ${this.name}: ${unreachable ? `the host is not reachable over SSH (${detail})` : detail}`, {
      retryable: unreachable,
      // The engine's delete --force forgets what an unreachable host holds, naming it: this says which host.
      ...(unreachable ? { details: { unreachableHost: this.name } } : {}),
      cause: error,
    });
  }

  private target(): string[] {
    return ["-p", String(this.endpoint.port), "-l", this.endpoint.user, this.endpoint.host];
  }

  private async forwardedSocket(): Promise<string> {
    this.controlDir ??= mkdtemp(join(tmpdir(), "testenv-vm-ssh-"));
    return join(await this.controlDir, "libvirt.sock");
  }

  private async forwardOptions(): Promise<string[]> {
    if (this.libvirtSocket === undefined) return [];
    return ["-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes", "-L", `${await this.forwardedSocket()}:${this.libvirtSocket}`];
  }

  /** Starts the master connection once; when it cannot start, each command connects on its own (and says why). */
  private connected(): Promise<ProviderError | undefined> {
    this.master ??= (async () => {
      const options = [...(await this.options()), ...(await this.forwardOptions())];
      return run("ssh", [...options, "-o", "ControlMaster=yes", "-o", "ControlPersist=60", "-N", "-f", ...this.target()], { timeoutMs: 30_000 }).then(
        () => undefined,
        (error: unknown) => this.failure("connecting", error),
      );
    })();
    return this.master;
  }

  /** The master still answers on its control socket. */
  private async masterAlive(): Promise<boolean> {
    try {
      await run("ssh", [...(await this.options()), "-O", "check", ...this.target()], { timeoutMs: 10_000 });
      return true;
    } catch {
      return false;
    }
  }

  /** A new master (with its forward) when the last one ended; one restart for any number of callers at once. */
  private restart(): Promise<void> {
    this.restarting ??= (async () => {
      if (await this.masterAlive()) return;
      this.master = undefined;
      await this.connected();
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  /** libvirt on this host, through the forwarded socket; `uri` is the configured one, shown in messages. */
  libvirtConnection(uri: string): LibvirtConnection {
    const open = async (): Promise<string> => {
      if (this.libvirtSocket === undefined) throw new ProviderError("PROVIDER_ERROR", `no libvirt socket is forwarded from ${this.name}`);
      const failed = await this.connected();
      if (failed) {
        this.master = undefined; // the next use tries again: the host may be back
        throw failed;
      }
      return unixSocketUri(await this.forwardedSocket());
    };
    return {
      uri,
      open,
      reopen: async () => {
        await this.restart();
        return open();
      },
    };
  }

  /** Options of a command: through the master when it runs, else a connection of its own. */
  private async clientOptions(): Promise<string[]> {
    await this.connected();
    return [...(await this.options()), "-o", "ControlMaster=no"];
  }

  async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const line = [command, ...args].map(shellQuote).join(" ");
    try {
      return await run("ssh", [...(await this.clientOptions()), "-p", String(this.endpoint.port), "-l", this.endpoint.user, this.endpoint.host, "--", line], options);
    } catch (error) {
      if (error instanceof CommandError && error.exitCode === SSH_CONNECTION_FAILED) throw this.failure(`running ${command}`, error);
      throw error;
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.run("test", ["-e", path], { timeoutMs: 30_000 });
      return true;
    } catch (error) {
      if (error instanceof CommandError) return false;
      throw error;
    }
  }

  async readText(path: string): Promise<string> {
    try {
      return (await this.run("cat", ["--", path], { timeoutMs: 60_000 })).stdout;
    } catch (error) {
      throw error instanceof ProviderError ? error : this.failure(`reading ${path}`, error);
    }
  }

  async tailText(path: string, bytes: number): Promise<string> {
    try {
      return (await this.run("tail", ["-c", String(bytes), "--", path], { timeoutMs: 30_000 })).stdout;
    } catch {
      return "";
    }
  }

  async list(path: string): Promise<HostDirEntry[]> {
    // find takes a word starting with '-' as an expression: only an absolute path is a folder to it.
    if (!path.startsWith("/")) throw new ProviderError("PROVIDER_ERROR", `listing ${JSON.stringify(path)} on ${this.name}: not an absolute path`);
    try {
      const { stdout } = await this.run("find", [path, "-mindepth", "1", "-maxdepth", "1", "-printf", FIND_LISTING], { timeoutMs: 60_000 });
      return parseFindListing(stdout);
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      // find fails on a folder that is not there: that is an empty listing, any other failure is one.
      if (!(await this.exists(path))) return [];
      throw this.failure(`listing ${path}`, error);
    }
  }

  async makeDir(path: string, mode = 0o755): Promise<void> {
    try {
      await this.run("mkdir", ["-p", "-m", mode.toString(8), "--", path], { timeoutMs: 30_000 });
    } catch (error) {
      throw error instanceof ProviderError ? error : this.failure(`creating ${path}`, error);
    }
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    try {
      await this.run("rm", [options.recursive === true ? "-rf" : "-f", "--", path], { timeoutMs: 60_000 });
    } catch (error) {
      throw error instanceof ProviderError ? error : this.failure(`removing ${path}`, error);
    }
  }

  async produce(path: string, build: (localPath: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "testenv-vm-upload-"));
    try {
      const local = join(dir, "file");
      await build(local);
      await this.upload(local, path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async upload(localPath: string, path: string): Promise<void> {
    // scp speaks SFTP here: the remote path is taken as it is, never through a shell.
    try {
      await run("scp", ["-q", ...(await this.clientOptions()), "-P", String(this.endpoint.port), "--", localPath, `${this.endpoint.user}@${sftpHost(this.endpoint.host)}:${path}`], { timeoutMs: 30 * 60_000 });
    } catch (error) {
      throw this.failure(`uploading ${localPath} to ${path}`, error);
    }
  }

  async close(): Promise<void> {
    const dir = await this.controlDir;
    if (dir === undefined) return;
    // Ends the master connection this process started (if any), then its socket folder.
    if (this.master) await run("ssh", [...(await this.options()), "-O", "exit", ...this.target()], { timeoutMs: 10_000 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Type letter, last change (seconds since the epoch) and name of each entry, each ended by a NUL (names may hold newlines). */
const FIND_LISTING = "%y %T@ %f\\0";

/** What `find -printf FIND_LISTING` printed, as entries. */
export function parseFindListing(stdout: string): HostDirEntry[] {
  const entries: HostDirEntry[] = [];
  for (const record of stdout.split("\0")) {
    const match = /^(\S) (\d+(?:\.\d+)?) ([\s\S]+)$/.exec(record);
    if (match === null) continue;
    const [, letter, seconds, name] = match;
    if (letter === undefined || seconds === undefined || name === undefined) continue;
    const type = letter === "d" ? "dir" : letter === "f" ? "file" : "other";
    entries.push({ name, type, madeAt: new Date(Number(seconds) * 1000).toISOString() });
  }
  return entries.sort(byName);
}

/** An IPv6 literal needs brackets in scp's user@host:path. */
function sftpHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
