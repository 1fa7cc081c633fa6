import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retryUntil } from "../../lib/retry.js";
import { ProviderError, tcpOpen, throughJump, type JumpHost } from "../../providers/kit/index.js";
import { RemoteImageCache } from "../../providers/libvirt/image-cache.js";
import { SshHost, type SshEndpoint } from "../../providers/libvirt/ssh-host.js";

// The remote libvirt host's seam against a real OpenSSH sshd on 127.0.0.1 (no libvirt needed): argv quoted for the
// remote shell, uploads, file reads, the strict host key check, the master connection ended on close, and the
// jump to a TCP service behind the host.

const SSHD = "/usr/sbin/sshd";
const usable = existsSync(SSHD) && process.getuid?.() === 0;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe.skipIf(!usable)("libvirt remote host seam over a real sshd (127.0.0.1)", () => {
  const dir = mkdtempSync(join(tmpdir(), "testenv-vm-sshhost-"));
  let sshd: ChildProcess | undefined;
  let endpoint: SshEndpoint;
  let echo: Server | undefined;

  beforeAll(async () => {
    const port = await freePort();
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
    writeFileSync(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${readFileSync(join(dir, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ")}\n`);
    writeFileSync(
      join(dir, "sshd_config"),
      [`ListenAddress 127.0.0.1:${port}`, `HostKey ${join(dir, "host_key")}`, `AuthorizedKeysFile ${join(dir, "authorized_keys")}`, `PidFile none`, "PermitRootLogin prohibit-password", "PasswordAuthentication no", "UsePAM no", "StrictModes no", "AllowTcpForwarding yes", "Subsystem sftp internal-sftp", ""].join("\n"),
    );
    execFileSync("mkdir", ["-p", "/run/sshd"]);
    sshd = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    const up = await retryUntil(async () => ((await tcpOpen("127.0.0.1", port, 500)) ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    expect(up.ok, "sshd listens").toBe(true);
    endpoint = { user: "root", host: "127.0.0.1", port, key: join(dir, "client_key"), knownHosts: join(dir, "known_hosts") };
  });

  afterAll(() => {
    sshd?.kill("SIGTERM");
    echo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs argv word by word (nothing is interpolated by the remote shell) and reads, writes and removes files", async () => {
    const host = new SshHost(endpoint);
    let controlDirectory: string | undefined;
    try {
      expect(host.name).toBe(`root@127.0.0.1:${endpoint.port}`);
      const out = await host.run("printf", ["%s|", "a b", "it's", "$HOME", "`id`", ";", "*"]);
      expect(out.stdout).toBe("a b|it's|$HOME|`id`|;|*|");
      const folder = join(dir, "remote files", "x");
      await host.makeDir(folder);
      const local = join(dir, "local file");
      writeFileSync(local, "line 1\nline 2\n");
      await host.upload(local, join(folder, "up loaded"));
      expect(await host.exists(join(folder, "up loaded"))).toBe(true);
      expect(await host.readText(join(folder, "up loaded"))).toBe("line 1\nline 2\n");
      expect(await host.tailText(join(folder, "up loaded"), 7)).toBe("line 2\n");
      expect(await host.tailText(join(folder, "missing"), 7)).toBe("");
      await host.produce(join(folder, "made"), (path) => Promise.resolve(writeFileSync(path, "built here")));
      expect(await host.readText(join(folder, "made"))).toBe("built here");
      await host.remove(join(dir, "remote files"), { recursive: true });
      expect(await host.exists(folder)).toBe(false);
      // A command's own failure is its exit code, not a connection problem.
      await expect(host.run("false", [])).rejects.not.toBeInstanceOf(ProviderError);
      controlDirectory = await host.controlDirectory;
    } finally {
      await host.close();
    }
    // close() ended the master connection and removed its socket folder (other processes' folders are theirs).
    expect(controlDirectory).toMatch(/testenv-vm-ssh-/);
    expect(existsSync(controlDirectory ?? "")).toBe(false);
  });

  it("lists a folder there as find sees it: names with spaces and newlines, a symlink as other; a missing folder is empty", async () => {
    const host = new SshHost(endpoint);
    try {
      const folder = join(dir, "data dir", "vms");
      mkdirSync(join(folder, "vm one"), { recursive: true });
      writeFileSync(join(folder, "odd\nname; $(id)"), "x");
      symlinkSync("/etc", join(folder, "escape"));
      const listed = await host.list(folder);
      expect(listed.map(({ name, type }) => [name, type])).toEqual([
        ["escape", "other"],
        ["odd\nname; $(id)", "file"],
        ["vm one", "dir"],
      ]);
      for (const entry of listed) expect(Math.abs(Date.parse(entry.madeAt ?? "") - Date.now())).toBeLessThan(600_000);
      expect(await host.list(join(dir, "no such folder"))).toEqual([]);
      await expect(host.list("-delete")).rejects.toThrow(/not an absolute path/);
      expect(existsSync(folder)).toBe(true);
    } finally {
      await host.close();
    }
  });

  it("refuses a host whose key is not in known_hosts, as a retryable connection failure", async () => {
    const wrong = join(dir, "wrong_known_hosts");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "other_key")]);
    writeFileSync(wrong, `[127.0.0.1]:${endpoint.port} ${readFileSync(join(dir, "other_key.pub"), "utf8").split(" ").slice(0, 2).join(" ")}\n`);
    const host = new SshHost({ ...endpoint, knownHosts: wrong });
    try {
      const error = await host.run("true", []).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).message).toMatch(/not reachable over SSH/);
      expect((error as ProviderError).retryable).toBe(true);
    } finally {
      await host.close();
    }
  });

  it("uploads a base image once by digest into the host's cache", async () => {
    const host = new SshHost(endpoint);
    try {
      const image = join(dir, "base.img");
      writeFileSync(image, Buffer.alloc(256 * 1024, 7));
      const cache = new RemoteImageCache(host, join(dir, "image cache"));
      const [first, second] = await Promise.all([cache.place(image), cache.place(image)]);
      expect(first).toBe(second);
      expect(first).toMatch(/sha256-[0-9a-f]{64}\.img$/);
      expect(readdirSync(join(dir, "image cache"))).toEqual([first?.split("/").at(-1)]);
    } finally {
      await host.close();
    }
  });

  it("reaches a TCP service behind the host through it (jump host), and checks the jump host's key", async () => {
    // The forwarder may reset a connection once the test has its greeting; that is not the test's failure.
    echo = createServer((socket) => socket.on("error", () => undefined).end("hello from behind\n"));
    const port = await new Promise<number>((resolve) => echo!.listen(0, "127.0.0.1", () => resolve((echo!.address() as { port: number }).port)));
    const jump: JumpHost = { host: "127.0.0.1", port: endpoint.port, user: "root", privateKey: readFileSync(join(dir, "client_key"), "utf8"), knownHosts: readFileSync(join(dir, "known_hosts"), "utf8") };
    const greeting = await throughJump(jump, "127.0.0.1", port, 10_000, (stream) => new Promise<string>((resolve) => {
      let text = "";
      stream.on("data", (data: Buffer) => (text += data.toString()));
      stream.on("end", () => resolve(text));
    }));
    expect(greeting).toBe("hello from behind\n");
    expect(await tcpOpen("127.0.0.1", port, 5000, jump)).toBe(true);
    const closed = await freePort();
    expect(await tcpOpen("127.0.0.1", closed, 5000, jump)).toBe(false);
    await expect(throughJump({ ...jump, knownHosts: "" }, "127.0.0.1", port, 5000, () => Promise.resolve(true))).rejects.toThrow(/jump host/);
  });

  it("forwards the host's libvirt socket over the master connection, and sets it up again after the master ended", async () => {
    // A stand-in for libvirtd's socket on the host: the connection forwards to it and nothing else.
    const remoteSocket = join(dir, "libvirt-sock");
    const daemon = createServer((socket) => socket.on("error", () => undefined).end("libvirtd here\n")).listen(remoteSocket);
    const host = new SshHost(endpoint, remoteSocket);
    const socketOf = (uri: string): string => decodeURI(new URL(uri).searchParams.get("socket") ?? "");
    const greet = (uri: string) =>
      new Promise<string>((resolve, reject) => {
        const path = socketOf(uri);
        let text = "";
        createConnection(path).on("data", (data: Buffer) => (text += data.toString())).on("end", () => resolve(text)).on("error", reject);
      });
    try {
      const connection = host.libvirtConnection(`qemu+ssh://root@127.0.0.1:${endpoint.port}/system`);
      expect(connection.uri).toBe(`qemu+ssh://root@127.0.0.1:${endpoint.port}/system`);
      const uri = await connection.open();
      expect(uri).toMatch(/^qemu\+unix:\/\/\/system\?socket=\/.+\/libvirt\.sock$/);
      expect(await greet(uri)).toBe("libvirtd here\n");
      // The master goes (ControlPersist ran out, or the network dropped it): reopen starts a new one.
      const folder = join(socketOf(uri), "..");
      const control = readdirSync(folder).find((name) => name !== "libvirt.sock");
      expect(control).toBeDefined();
      execFileSync("ssh", ["-o", `ControlPath=${join(folder, control!)}`, "-O", "exit", "-p", String(endpoint.port), "root@127.0.0.1"], { stdio: "ignore" });
      await expect(greet(uri)).rejects.toThrow();
      expect(await connection.reopen()).toBe(uri);
      expect(await greet(uri)).toBe("libvirtd here\n");
    } finally {
      await host.close();
      daemon.close();
    }
  });

  it("names the unreachable host in the error's details (delete --force forgets what it holds)", async () => {
    const host = new SshHost({ ...endpoint, port: await freePort() }, join(dir, "libvirt-sock"));
    try {
      const error = await host.libvirtConnection("qemu+ssh://x/system").open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).details).toEqual({ unreachableHost: host.name });
      expect((error as ProviderError).retryable).toBe(true);
    } finally {
      await host.close();
    }
  });
});
