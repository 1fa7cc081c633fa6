import { posix } from "node:path";
import type { SFTPWrapper } from "ssh2";
import { quoteShellArg } from "./shell-command.js";
import type { RawExecBytes, RawExecOptions } from "./ssh-session.js";

// The two ways a VM handle moves files. SFTP is the normal one. A guest without an SFTP server (a busybox/dropbear
// image) still runs commands, so files then travel through a command's stdin and stdout: `cat > path` to write,
// `cat path` to read, both checked against the size the guest reports with `wc -c`. Only POSIX sh, cat, wc, mkdir
// and chmod are needed on the guest, all of which busybox has.

/** SFTP has no `~`; a path relative to the login directory is the same thing (and commands run there too). */
export function remotePath(path: string): string {
  if (path === "~") return ".";
  return path.startsWith("~/") ? path.slice(2) : path;
}

export function sftpCall<T>(run: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** Creates a remote directory and its parents over SFTP (which has no `mkdir -p`). */
export async function sftpMkdirs(sftp: SFTPWrapper, dir: string): Promise<void> {
  if (dir === "." || dir === "/" || dir === "") return;
  const exists = (): Promise<boolean> =>
    sftpCall<unknown>((done) => sftp.stat(dir, done)).then(
      () => true,
      () => false,
    );
  if (await exists()) return;
  await sftpMkdirs(sftp, posix.dirname(dir));
  await sftpCall<void>((done) => sftp.mkdir(dir, (e) => done(e))).catch(async (error: unknown) => {
    // Another writer may have created it in between.
    if (!(await exists())) throw error;
  });
}

/** The fallback over exec could not run at all: the guest lacks one of the few commands it needs. */
export class ExecTransferUnavailableError extends Error {
  override name = "ExecTransferUnavailableError";
}

type RunBytes = (commandLine: string, options: RawExecOptions) => Promise<RawExecBytes>;

/** A path as one shell word that no command takes for an option. */
function shellPath(path: string): string {
  return quoteShellArg(path.startsWith("-") ? `./${path}` : path);
}

const text = (bytes: Buffer): string => bytes.toString("utf8").trim();

function failed(what: string, result: RawExecBytes): Error {
  const stderr = text(result.stderr);
  const how = result.signal === undefined ? `exit code ${result.exitCode}` : `signal ${result.signal}`;
  const message = `${what} exited with ${how}${stderr === "" ? "" : `: ${stderr}`}`;
  // 126/127: the shell could not find or run a command, so no file on this guest can move this way.
  return result.exitCode === 126 || result.exitCode === 127 ? new ExecTransferUnavailableError(message) : new Error(message);
}

function reportedSize(output: string, what: string): number {
  const size = /^\s*(\d+)\s*$/.exec(output)?.[1];
  if (size === undefined) throw new Error(`${what}: expected the size from wc -c, got ${JSON.stringify(output.slice(0, 200))}`);
  return Number(size);
}

/** File transfers through commands, for guests that have no SFTP server. */
export class ExecFileTransfer {
  constructor(private readonly run: RunBytes) {}

  /** Reads a whole file: its size goes to stderr, its bytes to stdout, and the two must agree. */
  async read(path: string): Promise<Buffer> {
    const quoted = shellPath(path);
    const result = await this.run(`wc -c < ${quoted} >&2 && cat ${quoted}`, {});
    if (result.exitCode !== 0) throw failed(`cat ${path}`, result);
    const size = reportedSize(text(result.stderr), `cat ${path}`);
    if (result.stdout.length !== size) {
      throw new Error(`read ${result.stdout.length} bytes of ${path}, but the guest reports ${size} (did the file change while it was read?)`);
    }
    return result.stdout;
  }

  /** Writes a whole file (replacing it), creating its parent directories, then applies the mode and checks the size. */
  async write(path: string, data: Buffer, mode?: number): Promise<void> {
    const quoted = shellPath(path);
    const dir = posix.dirname(path);
    const steps = [
      ...(dir === "." || dir === "/" ? [] : [`mkdir -p ${shellPath(dir)}`]),
      `cat > ${quoted}`,
      ...(mode === undefined ? [] : [`chmod ${(mode & 0o7777).toString(8)} ${quoted}`]),
      `wc -c < ${quoted}`,
    ];
    const result = await this.run(steps.join(" && "), { stdin: data });
    if (result.exitCode !== 0) throw failed(`writing ${path}`, result);
    const size = reportedSize(text(result.stdout), `writing ${path}`);
    if (size !== data.length) throw new Error(`wrote ${data.length} bytes to ${path}, but the guest reports ${size}`);
  }
}
