import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { defaultDataDir } from "../../providers/libvirt/config.js";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { projectIdentity } from "../../src/project/identity.js";
import { findLeaks } from "../helpers/leaks.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { startServer, type TestServer } from "../helpers/https-server.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { BIN, type CliResult, defineNatNetwork, projectCli as cli, projectFolder, virsh } from "./project-support.js";

const run = promisify(execFile);

// The project-folder workflow of seed 001 with real libvirt: a folder with nothing but a .env and a provisioning
// script; `up`, `ssh -- …`, `up` again, `stop`, `up`, `rm`, `rm` again — each a fresh `testenv-vm` process, as a
// person at a terminal runs them. The "default" network is one the test defines, as a user's machine has it.

const NETWORK = `tvm-default-${process.pid}`;
// Host ports of the forwards, on the test host namespace's loopback.
const HTTP_PORT = 18_080;
const SSH_PORT = 18_022;
// FIXED_IP: a DHCP host entry on the test's stand-in default network (192.168.251.0/24), kept for this VM.
const FIXED_IP = "192.168.251.77";

/** `testenv-vm images prune --all --cache-dir <dir> --json` in a fresh process (it takes no --dir). */
async function pruneImageCache(cacheDir: string): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, "images", "prune", "--all", "--cache-dir", cacheDir, "--json"], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** The first bytes a TCP server sends (an SSH banner), or the body of an HTTP GET, through a forwarded port. */
function firstBytes(port: number, send?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.setTimeout(10_000, () => socket.destroy(new Error("timed out")));
    socket.on("connect", () => {
      if (send !== undefined) socket.write(send);
    });
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString();
      if (send === undefined) socket.end();
    });
    socket.on("error", reject);
    socket.on("close", () => resolvePromise(data));
  });
}

describeIfTestHost("e2e_libvirt: project folder (up | ssh | stop | rm) on the tiny image", () => {
  let images: TestImages;
  let folder: string;
  let name: string;
  let removeNetwork: (() => void) | undefined;
  // IMAGE is an https URL (served on loopback) so the base lands in a slot of an image cache private to this
  // file, the one `images prune` may delete from: the shared test images are never pruned.
  let imageServer: TestServer;
  let imageCache: string;
  let imageUrl: string;
  let imageSha256: string;
  const savedEnv = { cache: process.env.TESTENV_VM_IMAGE_CACHE_DIR, ca: process.env.NODE_EXTRA_CA_CERTS };

  beforeAll(async () => {
    images = ensureTestImages("tiny");
    const tinyBytes = readFileSync(images.tiny);
    imageSha256 = createHash("sha256").update(tinyBytes).digest("hex");
    imageServer = await startServer();
    imageServer.route("/tiny.qcow2", { body: tinyBytes });
    // The query keeps the URL from ending in .qcow2, which the .env loader takes for a local path.
    imageUrl = `${imageServer.origin}/tiny.qcow2?from=test`;
    // qemu (libvirt-qemu under qemu:///system) must reach the cached base through this dir.
    const cacheRoot = mkdtempSync("/var/tmp/testenv-vm-prune-cache-");
    chmodSync(cacheRoot, 0o755);
    imageCache = join(cacheRoot, "images");
    writeFileSync(join(cacheRoot, "ca.pem"), imageServer.ca);
    process.env.TESTENV_VM_IMAGE_CACHE_DIR = imageCache;
    process.env.NODE_EXTRA_CA_CERTS = join(cacheRoot, "ca.pem");
    removeNetwork = defineNatNetwork(NETWORK, 251);
    folder = projectFolder("project1");
    name = projectIdentity(folder).name;
    writeFileSync(
      join(folder, ".env"),
      [
        "# a project folder: nothing but this file and the provisioning script",
        "INFRA_TYPE=vm",
        "MEMORY=320",
        "CPUS=2",
        "DISK=2",
        `NETWORK=${NETWORK}`,
        `FIXED_IP=${FIXED_IP}`,
        `IMAGE=${imageUrl}`,
        `IMAGE_SHA256=${imageSha256}`,
        "SSH_USER=root",
        "PROVISION_SCRIPT=provision.sh",
        `PORTS=127.0.0.1:${HTTP_PORT}:8080,127.0.0.1:${SSH_PORT}:22`,
        "READY_TIMEOUT=600",
        "STOP_TIMEOUT=60",
        "",
      ].join("\n"),
    );
    // The tiny image's root is an initramfs: what must survive a reboot goes to its persistent boot disk.
    // ... and a small listener, started by provisioning, that PORTS forwards to.
    writeFileSync(
      join(folder, "provision.sh"),
      "#!/bin/sh\nset -e\necho provisioned-$(hostname) > /boot/state/marker\nsync\nbusybox httpd -p 8080 -h /boot/state\necho provision done\n",
      { mode: 0o755 },
    );
  });

  afterAll(async () => {
    if (folder !== undefined && existsSync(join(folder, ".testenv-vm"))) await cli(folder, "rm");
    removeNetwork?.();
    if (folder !== undefined) rmSync(resolve(folder, ".."), { recursive: true, force: true });
    await imageServer?.close();
    if (imageCache !== undefined) rmSync(resolve(imageCache, ".."), { recursive: true, force: true });
    for (const [key, value] of [["TESTENV_VM_IMAGE_CACHE_DIR", savedEnv.cache], ["NODE_EXTRA_CA_CERTS", savedEnv.ca]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it("validate checks the .env without creating anything", async () => {
    const result = await cli(folder, "validate", "--json");
    expect(result.code, result.stderr || result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: true, instance: name });
    expect(existsSync(join(folder, ".testenv-vm"))).toBe(false);
  });

  it("up creates the VM with exactly the asked resources, provisions it once, and prints how to reach it", async () => {
    const result = await cli(folder, "up", "--json");
    expect(result.code, result.stderr || result.stdout).toBe(0);
    const up = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(up).toMatchObject({ instance: name, status: "running", action: "created", provision: { status: "ok", kind: "script" } });
    // FIXED_IP: the guest got exactly that address, through a reservation on the network it did not create.
    expect(up.ip).toBe(FIXED_IP);
    expect(virsh("net-dumpxml", NETWORK)).toMatch(new RegExp(`<host mac='[0-9a-f:]+' name='[^']+' ip='${FIXED_IP.replace(/\./g, "\\.")}'/>`));
    expect(Object.keys(up.steps as object)).toEqual(expect.arrayContaining(["create", "provision"]));
    // The domain carries the folder's readable name; the network was used, not made.
    expect(virsh("list", "--name")).toContain(`${namePrefix(name)}-${name}`);
    expect(virsh("net-list", "--all", "--name")).toContain(NETWORK);
    expect(existsSync(join(folder, ".testenv-vm", ".gitignore"))).toBe(true);

    const inside = await cli(folder, "ssh", "--", "sh", "-c", "'nproc; grep MemTotal /proc/meminfo; cat /sys/block/vda/size; cat /boot/state/marker'");
    expect(inside.code, inside.stderr).toBe(0);
    const [cpus, memTotal, sectors, marker] = inside.stdout.trim().split("\n");
    expect(Number(cpus)).toBe(2);
    const memKiB = Number(/(\d+)/.exec(memTotal ?? "")?.[1]);
    expect(memKiB).toBeLessThanOrEqual(320 * 1024);
    expect(memKiB).toBeGreaterThan(320 * 1024 * 0.7);
    expect(Number(sectors) * 512).toBe(2 * 1024 ** 3);
    expect(marker).toMatch(/^provisioned-/);

    // PORTS: the host port reaches the listener provisioning started, and keeps working after `up` exited.
    expect(up.ports).toEqual([
      { host: `127.0.0.1:${HTTP_PORT}`, guest: 8080, protocol: "tcp", active: true },
      { host: `127.0.0.1:${SSH_PORT}`, guest: 22, protocol: "tcp", active: true },
    ]);
    expect(await firstBytes(HTTP_PORT, "GET /marker HTTP/1.0\r\n\r\n")).toMatch(/provisioned-/);
    expect(await firstBytes(SSH_PORT)).toMatch(/^SSH-2\.0-/);
  });

  it("ssh -- CMD exits with the command's exit code", async () => {
    expect((await cli(folder, "ssh", "--", "exit", "7")).code).toBe(7);
  });

  it("up again changes nothing", async () => {
    const result = await cli(folder, "up", "--json");
    expect(result.code, result.stderr || result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ action: "already-running", status: "running" });
    expect(virsh("list", "--all", "--name").split("\n").filter((d) => d.includes(name))).toHaveLength(1);
  });

  it("a second folder with the same name is another instance; Ctrl+C during its up rolls back, exits 130, and leaks nothing", async () => {
    const other = projectFolder("project1");
    const otherName = projectIdentity(other).name;
    expect(otherName).not.toBe(name);
    expect(otherName.startsWith("project1-")).toBe(true);
    writeFileSync(join(other, ".env"), `INFRA_TYPE=vm\nMEMORY=256\nCPUS=1\nDISK=1\nNETWORK=${NETWORK}\nIMAGE=${images.tiny}\nSSH_USER=root\n`);
    try {
      const child = spawn("node", [BIN, "up", "--dir", other], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TESTENV_VM_LOG: "warn" } });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
      // Interrupt once the VM is being created (its record is in the state), as a person pressing Ctrl+C would.
      const stateFile = join(other, ".testenv-vm", "state", `testenv-${otherName}.json`);
      for (let attempt = 0; attempt < 600; attempt++) {
        if (existsSync(stateFile) && readFileSync(stateFile, "utf8").includes(`"kind": "vm"`)) break;
        await sleep(100);
      }
      child.kill("SIGINT");
      expect(await exited, stderr).toBe(130);
      expect(stderr).toContain("interrupted");
      const prefix = namePrefix(otherName);
      expect(virsh("list", "--all", "--name")).not.toContain(prefix);
      // The first folder's instance was never touched.
      expect((await cli(folder, "status", "--json")).stdout).toContain('"status": "running"');
      // What the rolled-back create kept is its logs and state; rm takes those too.
      const removed = await cli(other, "rm");
      expect(removed.code, removed.stderr).toBe(0);
      expect(findLeaks({ prefix, artifactDir: join(other, ".testenv-vm", "run", otherName), keyDirs: [], dataDir: defaultDataDir(prefix) })).toEqual([]);
      expect(existsSync(join(other, ".testenv-vm"))).toBe(false);
    } finally {
      rmSync(resolve(other, ".."), { recursive: true, force: true });
    }
  });

  it("two more folders named project1, up at the same time: each its own running instance and domain; rm of both leaves nothing", async () => {
    const others = [projectFolder("project1"), projectFolder("project1")];
    try {
      for (const other of others) writeFileSync(join(other, ".env"), `INFRA_TYPE=vm\nMEMORY=256\nCPUS=1\nDISK=1\nNETWORK=${NETWORK}\nIMAGE=${images.tiny}\nSSH_USER=root\nREADY_TIMEOUT=600\n`);
      const names = others.map((other) => projectIdentity(other).name);
      expect(new Set([name, ...names]).size).toBe(3);
      const ups = await Promise.all(others.map((other) => cli(other, "up", "--json")));
      for (const up of ups) expect(up.code, up.stderr).toBe(0);
      const ips = ups.map((up) => (JSON.parse(up.stdout) as { ip: string }).ip);
      expect(new Set([FIXED_IP, ...ips]).size).toBe(3);
      for (const [index, other] of others.entries()) {
        expect(JSON.parse((await cli(other, "status", "--json")).stdout)).toMatchObject({ instance: names[index], status: "running" });
        expect((await cli(other, "ssh", "--", "echo", "from", names[index] ?? "")).stdout.trim()).toBe(`from ${names[index]}`);
      }
      expect(virsh("list", "--name").split("\n").filter((domain) => domain.includes("project1-"))).toHaveLength(3);
      const removed = await Promise.all(others.map((other) => cli(other, "rm")));
      for (const rm of removed) expect(rm.code, rm.stderr).toBe(0);
      for (const [index, other] of others.entries()) {
        const prefix = namePrefix(names[index] ?? "");
        expect(findLeaks({ prefix, artifactDir: join(other, ".testenv-vm", "run", names[index] ?? ""), keyDirs: [], dataDir: defaultDataDir(prefix) })).toEqual([]);
      }
      // The first folder's instance ran through all of it.
      expect((await cli(folder, "status", "--json")).stdout).toContain('"status": "running"');
    } finally {
      for (const other of others) {
        if (existsSync(join(other, ".testenv-vm"))) await cli(other, "rm");
        rmSync(resolve(other, ".."), { recursive: true, force: true });
      }
    }
  });

  it("stop shuts the guest down gracefully and keeps its disk; status reads it live", async () => {
    const stopped = await cli(folder, "stop", "--json");
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ status: "stopped", stopMethod: "graceful" });
    expect(virsh("domstate", `${namePrefix(name)}-${name}`)).toBe("shut off");
    // The forwards went with it.
    await expect(firstBytes(SSH_PORT)).rejects.toThrow(/ECONNREFUSED/);
    const status = await cli(folder, "status", "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ instance: name, status: "stopped", provision: { status: "ok" } });
    // ssh to a stopped instance says so, rather than leaving ssh's own error.
    const ssh = await cli(folder, "ssh", "--", "true");
    expect(ssh.code, ssh.stderr).toBe(1);
    expect(ssh.stderr).toContain(`instance ${name} is stopped; run testenv-vm up first`);
  });

  it("images prune --all keeps the base image of the stopped VM, and says which disk uses it", async () => {
    const pruned = await pruneImageCache(imageCache);
    expect(pruned.code, pruned.stderr).toBe(0);
    const { removed, kept } = JSON.parse(pruned.stdout) as { removed: unknown[]; kept: Array<{ path: string; usedBy: Array<{ overlayPath: string; usedBy: string; state: string }> }> };
    expect(removed).toEqual([]);
    expect(kept).toHaveLength(1);
    expect(kept[0]!.usedBy).toEqual([expect.objectContaining({ usedBy: `libvirt VM ${namePrefix(name)}-${name}`, state: "in use" })]);
    expect(existsSync(kept[0]!.path)).toBe(true);
  });

  it("up starts it again, without provisioning again, and the data is still there", async () => {
    const result = await cli(folder, "up", "--json");
    expect(result.code, result.stderr || result.stdout).toBe(0);
    const up = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(up).toMatchObject({ action: "started", status: "running" });
    expect(Object.keys(up.steps as object)).not.toContain("provision");
    const marker = await cli(folder, "ssh", "--", "cat", "/boot/state/marker");
    expect(marker.stdout.trim()).toMatch(/^provisioned-/);
    // The forwards are back.
    expect(await firstBytes(SSH_PORT)).toMatch(/^SSH-2\.0-/);
  });

  it("start after stop does the same as up: running again, SSH answers, the forwards are back", async () => {
    expect((await cli(folder, "stop")).code).toBe(0);
    const started = await cli(folder, "start", "--json");
    expect(started.code, started.stdout).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ instance: name, status: "running" });
    expect(await firstBytes(SSH_PORT)).toMatch(/^SSH-2\.0-/);
  });

  it("metrics has a line per verb", async () => {
    const result = await cli(folder, "metrics", "--json");
    const verbs = (JSON.parse(result.stdout) as { verb: string }[]).map((row) => row.verb);
    expect(verbs).toEqual(expect.arrayContaining(["up", "stop", "start"]));
  });

  it("rm removes everything the instance made and nothing else; rm again says so and exits 0", async () => {
    const prefix = namePrefix(name);
    const removed = await cli(folder, "rm", "--json");
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ instance: name, removed: true });
    expect(existsSync(join(folder, ".testenv-vm"))).toBe(false);
    await expect(firstBytes(SSH_PORT)).rejects.toThrow(/ECONNREFUSED/);
    const leaks = findLeaks({ prefix, artifactDir: join(folder, ".testenv-vm", "run", name), keyDirs: [], dataDir: defaultDataDir(prefix) });
    expect(leaks).toEqual([]);
    // The network it used is still there, with the fixed address's reservation gone again.
    expect(virsh("net-list", "--name")).toContain(NETWORK);
    expect(virsh("net-dumpxml", NETWORK)).not.toContain(FIXED_IP);
    const again = await cli(folder, "rm");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("does not exist; nothing to remove");
  });

  it("once the VM is removed, images prune --all removes its base image", async () => {
    const pruned = await pruneImageCache(imageCache);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ removed: [{ sha256: imageSha256 }], kept: [] });
    expect(readdirSync(join(imageCache, "users"))).toEqual([]);
  });
});
