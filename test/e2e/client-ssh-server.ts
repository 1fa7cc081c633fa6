import { spawn } from "node:child_process";
import { closeSync, fstatSync, fchmodSync, mkdirSync, openSync, readSync, readdirSync, chmodSync, rmSync, statSync, writeSync, lstatSync, type Stats } from "node:fs";
import type { AddressInfo } from "node:net";
import { isAbsolute, resolve } from "node:path";
import ssh2, { type Attributes, type Connection, type ParsedKey, type SFTPWrapper } from "ssh2";

// A real SSH server on 127.0.0.1 for the client library's tests and benchmark: public-key auth with signature
// checks, exec through `sh -c` (real exit codes, stdout, stderr, stdin, signals) and an SFTP subsystem on the
// local filesystem (relative paths resolve against `home`, which is also the commands' working directory).

// ssh2 is CommonJS and Node cannot see Server/utils as named ESM exports.
const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

export interface LoopbackSshServerOptions {
  /** Login directory: cwd of commands and base of relative SFTP paths. */
  home: string;
  /** Host key (OpenSSH/PEM private key); default: a fresh ed25519 key. */
  hostKey?: string;
  /** Port to listen on (0: any free port). Reusing a port lets a test present a new host key at the same address. */
  port?: number;
  /** Public keys ("ssh-ed25519 AAAA…") allowed to log in; read on every attempt. Default: any key that signs. */
  authorizedKeys?: () => string[];
  /** Extra environment for commands (e.g. PATH with a fake sudo). */
  env?: Record<string, string>;
  /**
   * The SFTP subsystem: "serve" (default); "refuse" the request, as dropbear without sftp-server does; or accept it
   * and "exit" 127 at once, as OpenSSH does when its Subsystem binary is missing.
   */
  sftp?: "serve" | "refuse" | "exit";
}

export interface LoopbackSshServer extends AsyncDisposable {
  host: string;
  port: number;
  hostKey: string;
  /** Every command line received, in order. */
  commands: string[];
  /** Connections accepted so far. */
  connections: number;
  /** Drops every open connection (the server keeps listening). */
  dropConnections(): void;
  close(): Promise<void>;
}

export function generateHostKey(): string {
  // ssh2 now and then writes an ed25519 key its own parser refuses (see providers/kit/keys.ts): make another.
  for (let attempt = 0; attempt < 10; attempt++) {
    const key = utils.generateKeyPairSync("ed25519").private;
    if (!(utils.parseKey(key) instanceof Error)) return key;
  }
  throw new Error("ssh2 generated ten unparseable ed25519 host keys");
}

function keyMatches(allowed: string[], key: { algo: string; data: Buffer }): boolean {
  return allowed.some((line) => {
    const parsed = utils.parseKey(line);
    if (parsed instanceof Error) return false;
    const one: ParsedKey | undefined = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
    return one !== undefined && one.getPublicSSH().equals(key.data);
  });
}

export async function startSshServer(options: LoopbackSshServerOptions): Promise<LoopbackSshServer> {
  const hostKey = options.hostKey ?? generateHostKey();
  const commands: string[] = [];
  const open = new Set<Connection>();
  let connections = 0;

  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    connections += 1;
    open.add(client);
    (client as unknown as { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
    client.on("close", () => open.delete(client));
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => {
      if (ctx.method !== "publickey") return ctx.reject(["publickey"]);
      if (options.authorizedKeys && !keyMatches(options.authorizedKeys(), ctx.key)) return ctx.reject(["publickey"]);
      if (ctx.signature === undefined || ctx.blob === undefined) return ctx.accept();
      const parsed = utils.parseKey(ctx.key.data);
      const key: ParsedKey | Error | undefined = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
      if (!key || key instanceof Error || key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(["publickey"]);
      return ctx.accept();
    });
    client.on("ready", () => {
      client.on("session", (acceptSession) => {
        const session = acceptSession();
        session.on("exec", (accept, _reject, info) => {
          commands.push(info.command);
          const channel = accept();
          const child = spawn("sh", ["-c", info.command], {
            cwd: options.home,
            env: { ...process.env, HOME: options.home, ...options.env },
            stdio: ["pipe", "pipe", "pipe"],
          });
          session.on("signal", (acceptSignal, _rejectSignal, signal) => {
            acceptSignal?.();
            child.kill(`SIG${signal.name}` as NodeJS.Signals);
          });
          channel.on("data", (chunk: Buffer) => child.stdin.write(chunk));
          channel.on("end", () => child.stdin.end());
          channel.on("close", () => child.exitCode === null && child.kill("SIGKILL"));
          child.stdin.on("error", () => undefined);
          child.stdout.on("data", (chunk: Buffer) => channel.write(chunk));
          child.stderr.on("data", (chunk: Buffer) => channel.stderr.write(chunk));
          child.on("close", (code, signal) => {
            if (signal !== null) channel.exit(signal.replace(/^SIG/, ""), false, "");
            else channel.exit(code ?? 0);
            channel.end();
          });
        });
        const sftpMode = options.sftp ?? "serve";
        if (sftpMode === "serve") session.on("sftp", (accept) => serveSftp(accept(), options.home));
        else if (sftpMode === "refuse") session.on("sftp", (_accept, reject) => reject());
        else {
          session.on("subsystem", (accept) => {
            const channel = accept();
            channel.exit(127);
            channel.end();
          });
        }
      });
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;

  const close = async (): Promise<void> => {
    for (const client of open) client.end();
    await new Promise<void>((done) => server.close(() => done()));
  };
  return {
    host: "127.0.0.1",
    port,
    hostKey,
    commands,
    get connections() {
      return connections;
    },
    dropConnections: () => {
      for (const client of open) (client as unknown as { _sock: { destroy(): void } })._sock.destroy();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function attrsOf(stats: Stats): Attributes {
  return {
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    atime: Math.floor(stats.atimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

function statusOf(error: unknown): number {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return STATUS_CODE.NO_SUCH_FILE;
  if (code === "EACCES" || code === "EPERM") return STATUS_CODE.PERMISSION_DENIED;
  return STATUS_CODE.FAILURE;
}

function serveSftp(sftp: SFTPWrapper, home: string): void {
  const files = new Map<number, number>();
  const dirs = new Map<number, { path: string; done: boolean }>();
  let nextHandle = 1;
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(home, p));
  const handleOf = (buffer: Buffer): number => (buffer.length === 4 ? buffer.readUInt32BE(0) : -1);
  const newHandle = (): Buffer => {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(nextHandle++, 0);
    return buffer;
  };
  const guard = (reqId: number, run: () => void): void => {
    try {
      run();
    } catch (error) {
      sftp.status(reqId, statusOf(error), (error as Error).message);
    }
  };

  sftp.on("OPEN", (reqId, filename, flags, attrs) =>
    guard(reqId, () => {
      let mode = "r";
      if (flags & OPEN_MODE.WRITE) mode = flags & OPEN_MODE.APPEND ? "a" : flags & OPEN_MODE.TRUNC || flags & OPEN_MODE.CREAT ? "w" : "r+";
      if (flags & OPEN_MODE.READ && flags & OPEN_MODE.WRITE) mode = flags & OPEN_MODE.CREAT ? "w+" : "r+";
      if (flags & OPEN_MODE.EXCL) mode = mode.replace("w", "wx");
      const fd = openSync(path(filename), mode, attrs.mode ?? 0o644);
      const handle = newHandle();
      files.set(handle.readUInt32BE(0), fd);
      sftp.handle(reqId, handle);
    }),
  );
  sftp.on("READ", (reqId, handle, offset, length) =>
    guard(reqId, () => {
      const fd = files.get(handleOf(handle));
      if (fd === undefined) return sftp.status(reqId, STATUS_CODE.FAILURE, "bad handle");
      const buffer = Buffer.alloc(length);
      const read = readSync(fd, buffer, 0, length, offset);
      if (read === 0) return sftp.status(reqId, STATUS_CODE.EOF);
      sftp.data(reqId, buffer.subarray(0, read));
    }),
  );
  sftp.on("WRITE", (reqId, handle, offset, data) =>
    guard(reqId, () => {
      const fd = files.get(handleOf(handle));
      if (fd === undefined) return sftp.status(reqId, STATUS_CODE.FAILURE, "bad handle");
      writeSync(fd, data, 0, data.length, offset);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on("FSTAT", (reqId, handle) =>
    guard(reqId, () => {
      const fd = files.get(handleOf(handle));
      if (fd === undefined) return sftp.status(reqId, STATUS_CODE.FAILURE, "bad handle");
      sftp.attrs(reqId, attrsOf(fstatSync(fd)));
    }),
  );
  sftp.on("FSETSTAT", (reqId, handle, attrs) =>
    guard(reqId, () => {
      const fd = files.get(handleOf(handle));
      if (fd === undefined) return sftp.status(reqId, STATUS_CODE.FAILURE, "bad handle");
      if (attrs.mode !== undefined) fchmodSync(fd, attrs.mode & 0o7777);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on("SETSTAT", (reqId, p, attrs) =>
    guard(reqId, () => {
      if (attrs.mode !== undefined) chmodSync(path(p), attrs.mode & 0o7777);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on("CLOSE", (reqId, handle) =>
    guard(reqId, () => {
      const id = handleOf(handle);
      const fd = files.get(id);
      if (fd !== undefined) closeSync(fd);
      files.delete(id);
      dirs.delete(id);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on("STAT", (reqId, p) => guard(reqId, () => sftp.attrs(reqId, attrsOf(statSync(path(p))))));
  sftp.on("LSTAT", (reqId, p) => guard(reqId, () => sftp.attrs(reqId, attrsOf(lstatSync(path(p))))));
  sftp.on("MKDIR", (reqId, p, attrs) =>
    guard(reqId, () => {
      mkdirSync(path(p), { mode: attrs.mode ?? 0o755 });
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on("REMOVE", (reqId, p) =>
    guard(reqId, () => {
      rmSync(path(p));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on("REALPATH", (reqId, p) => guard(reqId, () => sftp.name(reqId, [{ filename: path(p), longname: path(p), attrs: {} as Attributes }])));
  sftp.on("OPENDIR", (reqId, p) =>
    guard(reqId, () => {
      statSync(path(p));
      const handle = newHandle();
      dirs.set(handle.readUInt32BE(0), { path: path(p), done: false });
      sftp.handle(reqId, handle);
    }),
  );
  sftp.on("READDIR", (reqId, handle) =>
    guard(reqId, () => {
      const dir = dirs.get(handleOf(handle));
      if (!dir || dir.done) return sftp.status(reqId, STATUS_CODE.EOF);
      dir.done = true;
      const names = readdirSync(dir.path).map((name) => ({ filename: name, longname: name, attrs: attrsOf(lstatSync(resolve(dir.path, name))) }));
      sftp.name(reqId, names);
    }),
  );
}
