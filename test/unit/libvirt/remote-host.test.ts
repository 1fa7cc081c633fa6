import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readIdentity } from "../../../lib/process-identity.js";
import type { RunOptions, RunResult } from "../../../lib/run.js";
import { knownKeys } from "../../../providers/kit/index.js";
import { remoteEndpoint, remoteLibvirtSocket, resolveConfig } from "../../../providers/libvirt/config.js";
import { unixSocketUri } from "../../../providers/libvirt/connection.js";
import { LocalHost, type LibvirtHost } from "../../../providers/libvirt/host.js";
import { RemoteImageCache } from "../../../providers/libvirt/image-cache.js";
import { readIdentityOn, stopProcessOn } from "../../../providers/libvirt/host-process.js";
import { ProviderConfigError } from "../../../providers/kit/context.js";
import { parseFindListing } from "../../../providers/libvirt/ssh-host.js";

describe("libvirt remote host: config", () => {
  it("takes user, host and port from qemu+ssh and the key and known_hosts from ssh", () => {
    expect(remoteEndpoint("qemu+ssh://admin@host.example:2222/system", { key: "/k", knownHosts: "/kh" })).toEqual({ user: "admin", host: "host.example", port: 2222, key: "/k", knownHosts: "/kh" });
    expect(remoteEndpoint("qemu+ssh://198.18.13.2/system", undefined)).toMatchObject({ user: "root", host: "198.18.13.2", port: 22 });
    expect(remoteEndpoint("qemu:///system", undefined)).toBeUndefined();
    expect(() => remoteEndpoint("qemu:///system", { key: "/k" })).toThrow(ProviderConfigError);
  });

  it("forwards the system daemon's socket, or the one the uri names", () => {
    expect(remoteLibvirtSocket("qemu+ssh://root@198.18.13.2/system")).toBe("/run/libvirt/libvirt-sock");
    expect(remoteLibvirtSocket("qemu+ssh://root@h/system?socket=/run/libvirt/virtqemud-sock")).toBe("/run/libvirt/virtqemud-sock");
    expect(() => remoteLibvirtSocket("qemu+ssh://root@h/session")).toThrow(ProviderConfigError);
    // The forwarded socket's folder may hold any character; the ones that end a query value are escaped.
    expect(unixSocketUri("/tmp/a b&c/libvirt.sock")).toBe("qemu+unix:///system?socket=/tmp/a%20b%26c/libvirt.sock");
  });

  it("a local uri resolves as before: no remote, nothing forwarded", () => {
    const config = resolveConfig({ prefix: "abc123", config: { uri: "qemu:///system" } } as never, {});
    expect(config.remote).toBeUndefined();
    expect(config.remoteSocket).toBeUndefined();
    const remote = resolveConfig({ prefix: "abc123", config: { uri: "qemu+ssh://root@h/system", ssh: { key: "/k" } } } as never, {});
    expect(remote.remote?.host).toBe("h");
    expect(remote.remoteSocket).toBe("/run/libvirt/libvirt-sock");
  });
});

describe("libvirt remote host: known_hosts for the jump host", () => {
  const blob = Buffer.from("key-blob-1");
  const other = Buffer.from("key-blob-2");
  it("finds plain, bracketed and hashed entries, and skips revoked ones", () => {
    const salt = Buffer.from("0123456789abcdefghij");
    const hashed = `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update("10.0.0.9").digest("base64")}`;
    const text = [
      `# comment`,
      `198.18.13.2 ssh-ed25519 ${blob.toString("base64")}`,
      `[h]:2222 ssh-ed25519 ${other.toString("base64")}`,
      `${hashed} ssh-ed25519 ${other.toString("base64")}`,
      `@revoked 198.18.13.2 ssh-ed25519 ${other.toString("base64")}`,
    ].join("\n");
    expect(knownKeys(text, "198.18.13.2", 22)).toEqual([blob]);
    expect(knownKeys(text, "h", 2222)).toEqual([other]);
    expect(knownKeys(text, "h", 22)).toEqual([]);
    expect(knownKeys(text, "10.0.0.9", 22)).toEqual([other]);
  });
});

/** A host that is this machine's file system under a root folder, counting what was run and uploaded. */
class FakeRemote implements LibvirtHost {
  readonly name = "root@fake";
  readonly remote = true;
  readonly uploads: string[] = [];
  private readonly local = new LocalHost();
  corrupt = false;
  run(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult> {
    if (command === "sha256sum" && this.corrupt) return Promise.resolve({ stdout: `${"0".repeat(64)}  ${args.at(-1) ?? ""}\n`, stderr: "" });
    return this.local.run(command, args, options);
  }
  exists = (path: string) => this.local.exists(path);
  readText = (path: string) => this.local.readText(path);
  tailText = (path: string, bytes: number) => this.local.tailText(path, bytes);
  makeDir = (path: string) => this.local.makeDir(path);
  list = (path: string) => this.local.list(path);
  remove = (path: string, options?: { recursive?: boolean }) => this.local.remove(path, options);
  produce = (path: string, build: (localPath: string) => Promise<void>) => build(path);
  async upload(localPath: string, path: string): Promise<void> {
    this.uploads.push(path);
    await this.local.run("cp", [localPath, path]);
  }
  close = () => Promise.resolve();
}

describe("libvirt remote host: the base image cache", () => {
  const dir = mkdtempSync(join(tmpdir(), "testenv-vm-image-cache-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const image = join(dir, "base.qcow2");
  writeFileSync(image, "not really a disk image");
  const digest = createHash("sha256").update("not really a disk image").digest("hex");

  it("uploads once by digest, however many VMs ask at once, and later placements upload nothing", async () => {
    const host = new FakeRemote();
    const cache = new RemoteImageCache(host, join(dir, "cache"));
    const placed = await Promise.all([cache.place(image), cache.place(image), cache.place(image)]);
    expect(new Set(placed)).toEqual(new Set([join(dir, "cache", `sha256-${digest}.qcow2`)]));
    expect(host.uploads).toHaveLength(1);
    expect(await new RemoteImageCache(host, join(dir, "cache")).place(image)).toBe(placed[0]);
    expect(host.uploads).toHaveLength(1);
  });

  it("refuses a copy whose digest does not match, and leaves no partial file", async () => {
    const host = new FakeRemote();
    host.corrupt = true;
    const cache = new RemoteImageCache(host, join(dir, "cache2"));
    await expect(cache.place(image)).rejects.toThrow(/arrived damaged on root@fake/);
    expect((await host.run("ls", ["-A", join(dir, "cache2")])).stdout).toBe("");
  });

  it("names a missing local base image as a spec error", async () => {
    await expect(new RemoteImageCache(new FakeRemote(), dir).place(join(dir, "nope.qcow2"))).rejects.toThrow(/spec.disk.baseImage/);
  });
});

describe("libvirt remote host: processes started there (dnsmasq) are known by pid, start time and argv", () => {
  it("reads the same identity as lib/process-identity and stops exactly that process", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    const pid = child.pid ?? 0;
    const host = new FakeRemote();
    const identity = await readIdentityOn(host, pid);
    expect(identity).toEqual(await readIdentity(pid));
    expect(identity?.cmdline).toEqual(["sleep", "30"]);
    // Another start time is another process: left alone.
    expect(await stopProcessOn(host, { ...identity!, startTime: "1" })).toBe(false);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    expect(await stopProcessOn(host, identity!)).toBe(true);
    await exited;
    expect(await readIdentityOn(host, pid)).toBeUndefined();
  });
});

describe("libvirt host: listing a folder (gc looks into a remote host's data dir with it)", () => {
  it("reads find's NUL-ended records: type, time and a name that may hold spaces and newlines", () => {
    const listing = "d 1767225600.5000000000 ab12cd-vm\0f 1767225601.0000000000 web.console\0f 1767225602 a b\nc\0l 1767225603.1 link\0";
    expect(parseFindListing(listing)).toEqual([
      { name: "a b\nc", type: "file", madeAt: "2026-01-01T00:00:02.000Z" },
      { name: "ab12cd-vm", type: "dir", madeAt: "2026-01-01T00:00:00.500Z" },
      { name: "link", type: "other", madeAt: "2026-01-01T00:00:03.100Z" },
      { name: "web.console", type: "file", madeAt: "2026-01-01T00:00:01.000Z" },
    ]);
    expect(parseFindListing("")).toEqual([]);
  });

  it("locally: folders, files, and a symlink as other (never followed); a missing folder is empty", async () => {
    const dir = mkdtempSync(join(tmpdir(), "testenv-vm-host-list-"));
    try {
      mkdirSync(join(dir, "vm one"));
      writeFileSync(join(dir, "x.console"), "log");
      symlinkSync("/etc", join(dir, "escape"));
      const host = new LocalHost();
      const listed = await host.list(dir);
      expect(listed.map(({ name, type }) => [name, type])).toEqual([
        ["escape", "other"],
        ["vm one", "dir"],
        ["x.console", "file"],
      ]);
      for (const entry of listed) expect(entry.madeAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(await host.list(join(dir, "missing"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
