import { createSocket } from "node:dgram";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

// The project-folder verbs as a person runs them, without libvirt: init, validate, bad .env files (exit 3, every
// problem named, nothing created), rm and metrics on a folder that has nothing yet. The VM lifecycle itself
// (up, ssh, stop, start, rm) runs against real libvirt in test/e2e-libvirt/project-folder.test.ts.

const BIN = resolve("dist/src/bin.js");
const run = promisify(execFile);

async function cli(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("node", [BIN, ...args], { cwd, env: { ...process.env, TESTENV_VM_LOG: "warn" } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

describe("project folder verbs (no VM)", () => {
  let root: string;
  let folder: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "testenv-vm-project-"));
    folder = join(root, "my project");
    mkdirSync(folder);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("init writes a commented .env that validate accepts; init again refuses without --force", async () => {
    const init = await cli(folder, "init");
    expect(init.code, init.stderr).toBe(0);
    expect(readFileSync(join(folder, ".env"), "utf8")).toContain("INFRA_TYPE=vm");
    const valid = await cli(folder, "validate", "--json");
    expect(valid.code, valid.stderr).toBe(0);
    expect(JSON.parse(valid.stdout)).toMatchObject({ valid: true, instance: expect.stringMatching(/^my-project-[0-9a-f]{6}$/) as unknown });
    expect((await cli(folder, "init")).code).toBe(1);
    expect((await cli(folder, "init", "--force")).code).toBe(0);
    expect(existsSync(join(folder, ".testenv-vm"))).toBe(false);
  });

  it("a bad .env: up and validate name every key and line, exit 3, and create nothing", async () => {
    writeFileSync(join(folder, ".env"), "INFRA_TYPE=vmm\nMEMORY=-1\nCPU=2\nDISK=10\nPORTS=8080\n");
    for (const verb of ["validate", "up"]) {
      const result = await cli(folder, verb);
      expect(result.code, `${verb}: ${result.stderr}`).toBe(3);
      for (const expected of ["INFRA_TYPE (line 1:1): must be vm or container", "MEMORY (line 2:1)", "CPU (line 3:1): is not a testenv-vm setting; did you mean `CPUS`?", "CPUS: is required", "PORTS (line 5:1)"]) {
        expect(result.stderr).toContain(expected);
      }
      expect(existsSync(join(folder, ".testenv-vm"))).toBe(false);
    }
    const json = await cli(folder, "up", "--json");
    expect(json.code).toBe(3);
    const parsed = JSON.parse(json.stdout) as { error: { code: string; issues: { field: string }[] } };
    expect(parsed.error.code).toBe("SPEC_INVALID");
    expect(parsed.error.issues.map((i) => i.field)).toEqual(expect.arrayContaining(["INFRA_TYPE", "MEMORY", "CPU", "CPUS", "PORTS"]));
  });

  it("files the .env names must exist", async () => {
    writeFileSync(join(folder, ".env"), "INFRA_TYPE=vm\nMEMORY=512\nCPUS=1\nDISK=5\nPROVISION_SCRIPT=setup.sh\nIMAGE=./disk.qcow2\n");
    const result = await cli(folder, "validate");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("PROVISION_SCRIPT");
    expect(result.stderr).toContain("setup.sh does not exist");
    expect(result.stderr).toContain("IMAGE");
  });

  it("a folder without .env: a clear error naming init", async () => {
    const result = await cli(folder, "up");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(".env does not exist (nor does forge.yaml): run testenv-vm init");
  });

  it("rm on nothing says so and exits 0; metrics has nothing yet; status says absent", async () => {
    writeFileSync(join(folder, ".env"), "INFRA_TYPE=vm\nMEMORY=512\nCPUS=1\nDISK=5\n");
    const removed = await cli(folder, "rm");
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain("does not exist; nothing to remove");
    expect((await cli(folder, "metrics")).stdout).toContain("no metrics yet");
    const status = await cli(folder, "status", "--json");
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: "absent" });
    expect(existsSync(join(folder, ".testenv-vm"))).toBe(false);
  });

  it("more memory or disk than the host has: named, exit 3, nothing created", async () => {
    writeFileSync(join(folder, ".env"), "INFRA_TYPE=vm\nMEMORY=1048000\nCPUS=1\nDISK=65000\n");
    const result = await cli(folder, "up");
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/MEMORY: asks for 1048000 MiB, but the host has \d+ MiB available/);
    expect(result.stderr).toMatch(/DISK: asks for 65000 GiB, but \S+ has [\d.]+ GiB free/);
    expect(existsSync(join(folder, ".testenv-vm", "state"))).toBe(false);
  });

  it("host ports in PORTS that are already in use, TCP and UDP: each named, exit 3, nothing created", async () => {
    const busy = createServer();
    await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
    const port = (busy.address() as AddressInfo).port;
    const busyUdp = createSocket("udp4");
    await new Promise<void>((done) => busyUdp.bind(0, "127.0.0.1", done));
    const udpPort = busyUdp.address().port;
    try {
      writeFileSync(join(folder, ".env"), `INFRA_TYPE=vm\nMEMORY=512\nCPUS=1\nDISK=1\nPORTS=127.0.0.1:${port}:22,${udpPort}:53/udp\n`);
      const result = await cli(folder, "up");
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain(`host port 127.0.0.1:${port}/tcp is already in use; choose another hostPort or stop what uses it`);
      expect(result.stderr).toContain(`host port 127.0.0.1:${udpPort}/udp is already in use`);
      expect(existsSync(join(folder, ".testenv-vm", "state"))).toBe(false);
    } finally {
      busy.close();
      busyUdp.close();
    }
  });

  it("--dir points at another folder", async () => {
    writeFileSync(join(folder, ".env"), "INFRA_TYPE=vm\nMEMORY=512\nCPUS=1\nDISK=5\n");
    const result = await cli(root, "validate", "--dir", folder, "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: true });
  });
});
