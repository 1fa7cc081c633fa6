import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestEnvArtifact } from "../../api/forge.js";
import type { EnvironmentState } from "../../api/state.js";
import {
  ExecError,
  ExecTimeoutError,
  FileTransferError,
  HostKeyMismatchError,
  SshConnectionError,
  openEnvironment,
  type Environment,
  type VMSpec,
} from "../../src/client/index.js";
import { readStubStore } from "../helpers/stub-store.js";
import { generateHostKey, startSshServer, type LoopbackSshServer } from "./client-ssh-server.js";
import { loopbackPlace } from "./loopback-env.js";

// The client library against the stub provider, whose VMs all point at a real SSH server on loopback.

const place = loopbackPlace("client-e2e");
const { root, stateDir, tmpDir, home, storePath, testID, orchestrator, state } = place;
const fakeBin = join(root, "bin");
const authorized: string[] = [];
let server: LoopbackSshServer;
let artifact: TestEnvArtifact;
let env: Environment;

const storedVms = (): string[] => Object.keys(readStubStore(storePath)?.vms ?? {}).sort();

const runtimeSpec = (hostname: string): VMSpec => ({
  memory: 256,
  vcpus: 1,
  networks: ["net"],
  disk: { size: "1G" },
  cloudInit: {
    hostname,
    users: [{ name: "tester", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }],
    writeFiles: [{ path: "/etc/motd", content: "gateway {{ .Networks.net.IP }}" }],
  },
});

beforeAll(async () => {
  mkdirSync(fakeBin, { recursive: true });
  // The SSH server runs commands as the test's user; this sudo stands in for `sudo -n` with a NOPASSWD rule.
  writeFileSync(join(fakeBin, "sudo"), `#!/bin/sh\n[ "$1" = "-n" ] || exit 99\nshift\nexec env SUDO_RAN=yes "$@"\n`);
  chmodSync(join(fakeBin, "sudo"), 0o755);
  ({ server, artifact, env } = await place.start(["web"], {
    server: { authorizedKeys: () => authorized, env: { PATH: `${fakeBin}:${process.env.PATH ?? ""}` } },
    // Only the environment's own key may log in: proves the client picked the right private key.
    afterCreate: () => authorized.push((state().resources.keys["vm-ssh"]?.state as { publicKey: string }).publicKey),
  }));
});

afterAll(() => place.close());

describe("opening an environment", () => {
  it("from the artifact, the testID, or Forge's variables, all reach the same VM", async () => {
    expect(env.testID).toBe(testID);
    expect(env.prefix).toBe(artifact.env.TESTENV_VM_NAME_PREFIX);
    expect(env.vms()).toEqual(["web"]);
    const web = env.vm("web");
    expect({ host: web.host, port: web.port, user: web.user }).toEqual({ host: "127.0.0.1", port: server.port, user: "tester" });
    expect(web.privateKeyPath).toBe((state().resources.keys["vm-ssh"]?.state as { privateKeyPath: string }).privateKeyPath);

    await using byId = await openEnvironment({ testID, stateDir });
    expect((await byId.vm("web").exec("echo by-id")).stdout).toBe("by-id\n");

    // What a Forge test runner sets: artifact env, FORGE_TESTENV_TMPDIR, FORGE_ARTIFACT_*, FORGE_METADATA_*.
    const forgeEnv: NodeJS.ProcessEnv = { ...artifact.env, FORGE_TESTENV_TMPDIR: tmpDir };
    for (const [key, value] of Object.entries(artifact.files)) forgeEnv[`FORGE_ARTIFACT_${key.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`] = resolve(tmpDir, value);
    for (const [key, value] of Object.entries(artifact.metadata)) forgeEnv[`FORGE_METADATA_${key.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`] = value;
    forgeEnv.FORGE_METADATA_TESTENV_VM_TESTID = testID;
    await using fromForge = await openEnvironment({ fromEnv: forgeEnv }, { rootDir: "/nonexistent-cwd-must-not-matter" });
    expect((await fromForge.vm("web").exec(["echo", "from forge"])).stdout).toBe("from forge\n");
  });
});

describe("exec", () => {
  it("returns stdout, stderr and the exit code without throwing by default", async () => {
    const result = await env.vm("web").exec("echo out; echo err >&2; exit 3");
    expect(result).toMatchObject({ stdout: "out\n", stderr: "err\n", exitCode: 3 });
  });

  it("passes every array element as exactly one argument", async () => {
    const args = ["it's", "$HOME", "`id`", "a b", "new\nline", "日本語 🚀", "", "; rm -rf /", "\\"];
    const result = await env.vm("web").exec(["printf", "%s\\0", ...args]);
    expect(result.stdout.split("\0").slice(0, -1)).toEqual(args);
  });

  it("applies env, cwd and stdin", async () => {
    mkdirSync(join(home, "work dir"), { recursive: true });
    const result = await env.vm("web").exec('printf "%s|%s|" "$GREETING" "$(pwd)"; cat', {
      env: { GREETING: "hello 'world' $(nope)" },
      cwd: join(home, "work dir"),
      stdin: "from stdin",
    });
    expect(result.stdout).toBe(`hello 'world' $(nope)|${join(home, "work dir")}|from stdin`);
  });

  it("with sudo, sends `sudo -n` and the command runs through it", async () => {
    const result = await env.vm("web").exec(["sh", "-c", 'echo "$SUDO_RAN:$TOKEN"'], { sudo: true, env: { TOKEN: "t 1" } });
    expect(result.stdout).toBe("yes:t 1\n");
    expect(server.commands.at(-1)).toBe(result.command);
    expect(result.command.startsWith("sudo -n env TOKEN='t 1' sh -c ")).toBe(true);
  });

  it("with check, throws ExecError carrying host, command, exit code and output", async () => {
    const error = await env
      .vm("web")
      .exec(["sh", "-c", "echo partial; echo boom >&2; exit 42"], { check: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecError);
    const failure = error as ExecError;
    expect(failure).toMatchObject({ code: "EXEC_FAILED", host: "127.0.0.1", vm: "web", exitCode: 42, stdout: "partial\n", stderr: "boom\n" });
    expect(failure.command).toContain("exit 42");
    expect(failure.message).toContain("exit code 42");
    expect(failure.message).toContain("boom");
  });

  it("times out a command that hangs", async () => {
    const error = await env.vm("web").exec("sleep 30", { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecTimeoutError);
    expect((error as ExecTimeoutError).code).toBe("TIMEOUT");
  });

  it("rejects invalid env names before sending anything", async () => {
    const before = server.commands.length;
    await expect(env.vm("web").exec("true", { env: { "BAD-NAME": "x" } })).rejects.toThrow(/BAD-NAME/);
    expect(server.commands.length).toBe(before);
  });

  it("keeps one connection for many commands, and reconnects after a drop", async () => {
    await using own = await openEnvironment({ testID, stateDir });
    const vm = own.vm("web");
    const before = server.connections;
    await Promise.all(Array.from({ length: 20 }, (_, i) => vm.exec(["echo", String(i)])));
    for (let i = 0; i < 5; i++) await vm.exec("true");
    expect(vm.connectionCount).toBe(1);
    expect(server.connections - before).toBe(1);
    server.dropConnections();
    await new Promise((r) => setTimeout(r, 100));
    expect((await vm.exec("echo again")).stdout).toBe("again\n");
    expect(vm.connectionCount).toBe(2);
  });

  it("a connection lost under a running command is an SshConnectionError, not a result", async () => {
    await using own = await openEnvironment({ testID, stateDir });
    const vm = own.vm("web");
    await vm.exec("true");
    const running = vm.exec("sleep 5; echo done").catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    server.dropConnections();
    const error = await running;
    expect(error).toBeInstanceOf(SshConnectionError);
    expect((error as SshConnectionError).message).toMatch(/may or may not have run/);
    expect((await vm.exec("echo back")).stdout).toBe("back\n");
  });

  it("waitReady returns once SSH works (no cloud-init on this host)", async () => {
    await env.vm("web").waitReady({ timeoutMs: 10_000 });
  });
});

describe("waitReady", () => {
  it("waits for cloud-init where it is installed and has not finished, then times out naming the stage", async () => {
    const bin = join(root, "cloud-init-bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "cloud-init"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(bin, "cloud-init"), 0o755);
    await using booting = await startSshServer({ home, env: { PATH: `${bin}:${process.env.PATH ?? ""}` } });
    const vm = env.vm("web", { port: booting.port });
    const error = await vm.waitReady({ timeoutMs: 1_500, cloudInit: true }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/not ready within 1500 ms \(waiting for cloud-init\): cloud-init has not finished yet/);
    await vm.waitReady({ timeoutMs: 5_000, cloudInit: false });
    await vm.close();
  });

  it("times out while SSH is unreachable", async () => {
    const closed = await startSshServer({ home });
    const port = closed.port;
    await closed.close();
    const error = await env.vm("web", { port }).waitReady({ timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/not ready within 1000 ms \(waiting for ssh\)/);
  });
});

describe("files over SFTP", () => {
  it("writeFile/readFile with mode, creating parent directories", async () => {
    const remote = join(home, "deep", "dir", "script.sh");
    await env.vm("web").writeFile(remote, "#!/bin/sh\necho hi\n", { mode: 0o750 });
    expect(readFileSync(remote, "utf8")).toBe("#!/bin/sh\necho hi\n");
    expect(statSync(remote).mode & 0o777).toBe(0o750);
    expect(await env.vm("web").readFile(remote, "utf8")).toBe("#!/bin/sh\necho hi\n");
    expect((await env.vm("web").exec([remote])).stdout).toBe("hi\n");
  });

  it("copyTo and copyFrom round-trip a binary file, relative paths land in the login directory", async () => {
    const local = join(root, "blob.bin");
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(local, data, { mode: 0o640 });
    await env.vm("web").copyTo(local, "~/uploads/blob.bin");
    expect(readFileSync(join(home, "uploads", "blob.bin")).equals(data)).toBe(true);
    expect(statSync(join(home, "uploads", "blob.bin")).mode & 0o777).toBe(0o640);
    const back = join(root, "downloaded", "blob.bin");
    await env.vm("web").copyFrom("uploads/blob.bin", back);
    expect(readFileSync(back).equals(data)).toBe(true);
  });

  it("a missing remote file is a FileTransferError naming the path", async () => {
    await expect(env.vm("web").readFile("/nonexistent/file")).rejects.toThrow(/read \/nonexistent\/file on vm "web".*SFTP/);
    const error = await env.vm("web").readFile("/nonexistent/file").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileTransferError);
    expect(error).toMatchObject({ code: "FILE_TRANSFER_FAILED", retryable: false, path: "/nonexistent/file", via: "sftp" });
  });
});

describe("files on a guest without an SFTP server", () => {
  it.each(["refuse", "exit"] as const)("go over exec when the server answers the SFTP request with %s, mode applied", async (sftp) => {
    await using guest = await startSshServer({ home, sftp });
    const vm = env.vm("web", { port: guest.port });
    const remote = join(home, `no-sftp-${sftp}`, "sub", "blob.bin");
    const data = randomBytes(1024 * 1024 + 3);
    await vm.writeFile(remote, data, { mode: 0o750 });
    expect(readFileSync(remote).equals(data)).toBe(true);
    expect(statSync(remote).mode & 0o777).toBe(0o750);
    expect((await vm.readFile(remote)).equals(data)).toBe(true);
    await vm.writeFile(`~/no-sftp-${sftp}/text.txt`, "häll\u00f6\n");
    expect(await vm.readFile(`no-sftp-${sftp}/text.txt`, "utf8")).toBe("häll\u00f6\n");

    const local = join(root, `no-sftp-${sftp}.bin`);
    writeFileSync(local, data, { mode: 0o604 });
    await vm.copyTo(local, `-dash-${sftp}.bin`);
    expect(readFileSync(join(home, `-dash-${sftp}.bin`)).equals(data)).toBe(true);
    expect(statSync(join(home, `-dash-${sftp}.bin`)).mode & 0o777).toBe(0o604);
    const back = join(root, `no-sftp-${sftp}`, "back.bin");
    await vm.copyFrom(`-dash-${sftp}.bin`, back);
    expect(readFileSync(back).equals(data)).toBe(true);
    expect(guest.commands.some((command) => command.startsWith("wc -c < "))).toBe(true);
    await vm.close();
  });

  it("a missing file is a non-retryable FileTransferError naming the path", async () => {
    await using guest = await startSshServer({ home, sftp: "refuse" });
    const vm = env.vm("web", { port: guest.port });
    const error = await vm.readFile("/nonexistent/file").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileTransferError);
    expect(error).toMatchObject({ code: "FILE_TRANSFER_FAILED", retryable: false, path: "/nonexistent/file", via: "exec" });
    expect((error as Error).message).toMatch(/read \/nonexistent\/file on vm "web" .*failed over exec \(the guest has no SFTP server\): .*No such file/);
    await vm.close();
  });

  it("when exec cannot carry the file either, the error names the path and says to install an SFTP server", async () => {
    // A guest whose shell has none of cat, wc, mkdir.
    const bare = join(root, "bare-bin");
    mkdirSync(bare, { recursive: true });
    if (!existsSync(join(bare, "sh"))) symlinkSync("/bin/sh", join(bare, "sh"));
    await using guest = await startSshServer({ home, sftp: "refuse", env: { PATH: bare } });
    const vm = env.vm("web", { port: guest.port });
    mkdirSync(join(home, "some"), { recursive: true });
    writeFileSync(join(home, "some", "file"), "present, but no command can read it");
    // One at a time: both started at once, the second could fail while the first is still awaited, unhandled.
    for (const attempt of [() => vm.writeFile(join(home, "never", "written"), "x"), () => vm.readFile("~/some/file")]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FileTransferError);
      expect(error).toMatchObject({ code: "FILE_TRANSFER_FAILED", retryable: false });
      expect((error as Error).message).toContain("the guest has no SFTP server; install openssh-sftp-server or use exec");
    }
    const error = await vm.readFile("~/some/file").catch((e: unknown) => e);
    expect((error as FileTransferError).path).toBe("some/file");
    expect((error as Error).message).toMatch(/^read some\/file on vm "web"/);
    expect(existsSync(join(home, "never"))).toBe(false);
    await vm.close();
  });
});

describe("host keys", () => {
  it("are trusted on first use and a new key at the same address is refused", async () => {
    const keyA = generateHostKey();
    const first = await startSshServer({ home, hostKey: keyA });
    const port = first.port;
    const recorded = env.vm("web", { port });
    expect((await recorded.exec("echo first")).stdout).toBe("first\n");
    await recorded.close();
    await first.close();

    await using impostor = await startSshServer({ home, port, hostKey: generateHostKey() });
    const error = await env
      .vm("web", { port })
      .exec("echo should-not-run")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    const mismatch = error as HostKeyMismatchError;
    expect(mismatch.code).toBe("SSH_ERROR");
    expect(mismatch.message).toContain(`127.0.0.1:${port}`);
    expect(mismatch.expectedFingerprint).not.toBe(mismatch.actualFingerprint);
    expect(mismatch.message).toContain(mismatch.expectedFingerprint);
    expect(mismatch.message).toContain(mismatch.actualFingerprint);
    expect(impostor.commands).toEqual([]);
    const file = JSON.parse(readFileSync(env.knownHostsPath, "utf8")) as { hosts: Record<string, { vm: string }> };
    expect(file.hosts[`127.0.0.1:${port}`]?.vm).toBe("web");
  });
});

describe("runtime VMs", () => {
  it("createVM renders templates, prefixes the name, records it in the state, and deleteVM removes it", async () => {
    const vm = await env.createVM("worker", runtimeSpec("worker-host"));
    const record = state().resources.vms.worker!;
    const keyState = state().resources.keys["vm-ssh"]?.state as { publicKey: string };
    expect(record).toMatchObject({ runtime: true, status: "ready", providerName: `${env.prefix}-worker` });
    const request = record.request as { spec: { cloudInit: { users: Array<{ sshAuthorizedKeys: string[] }>; writeFiles: Array<{ content: string }> } } };
    expect(request.spec.cloudInit.users[0]?.sshAuthorizedKeys).toEqual([keyState.publicKey]);
    expect(request.spec.cloudInit.writeFiles[0]?.content).toMatch(/^gateway \d+\.\d+\.\d+\.\d+$/);
    expect(storedVms()).toContain(`${env.prefix}-worker`);
    expect(vm.providerName).toBe(`${env.prefix}-worker`);
    expect((await vm.exec(["echo", "runtime"])).stdout).toBe("runtime\n");
    expect(env.vms().sort()).toEqual(["web", "worker"]);

    await env.deleteVM("worker");
    expect(state().resources.vms.worker?.status).toBe("destroyed");
    expect(storedVms()).not.toContain(`${env.prefix}-worker`);
  });

  it("`await using` deletes a runtime VM at the end of the scope", async () => {
    {
      await using scoped = await env.createVM("scoped", runtimeSpec("scoped"));
      expect(storedVms()).toContain(`${env.prefix}-scoped`);
      expect((await scoped.exec("echo in-scope")).stdout).toBe("in-scope\n");
    }
    expect(storedVms()).not.toContain(`${env.prefix}-scoped`);
  });

  it("an invalid runtime spec is refused before any provider call, naming the field", async () => {
    const before = storedVms();
    await expect(env.createVM("bad", { ...runtimeSpec("bad"), networks: ["no-such-net"] })).rejects.toThrow(/no-such-net/);
    expect(storedVms()).toEqual(before);
  });

  it("concurrent createVM calls are all recorded", async () => {
    const names = ["c1", "c2", "c3", "c4", "c5"];
    const vms = await Promise.all(names.map((name) => env.createVM(name, runtimeSpec(name))));
    const recorded = state().resources.vms;
    for (const name of names) expect(recorded[name]).toMatchObject({ status: "ready", runtime: true });
    expect(storedVms()).toEqual(expect.arrayContaining(names.map((n) => `${env.prefix}-${n}`)));
    expect(new Set(state().executionPlan.phases.flatMap((p) => p.resources.map((r) => r.name))).size).toBeGreaterThanOrEqual(names.length + 3);
    await Promise.all(vms.map((vm) => vm.delete()));
    for (const name of names) expect(state().resources.vms[name]?.status).toBe("destroyed");
  });

  it("deleteVM refuses a VM from the spec", async () => {
    await expect(env.deleteVM("web")).rejects.toThrow(/comes from the spec/);
  });
});

describe("a test process that dies", () => {
  // Its own environment, whose stub takes a while to create VMs, so a process can also be killed half-way.
  const crashID = `client-crash-${randomBytes(4).toString("hex")}`;
  const crashStore = join(root, "crash-store.json");
  const crashState = (): EnvironmentState => JSON.parse(readFileSync(join(stateDir, "state", `testenv-${crashID}.json`), "utf8")) as EnvironmentState;
  const crashVms = (): string[] => Object.keys(readStubStore(crashStore)?.vms ?? {}).sort();

  /** Starts a process that creates a runtime VM in the crash environment; resolves when `ready()` says so. */
  async function creator(name: string, ready: (stdout: string) => boolean): Promise<void> {
    const script = join(root, `${name}.mjs`);
    const clientUrl = pathToFileURL(resolve(import.meta.dirname, "../../dist/src/client/index.js")).href;
    writeFileSync(
      script,
      `import { openEnvironment } from ${JSON.stringify(clientUrl)};\n` +
        `const env = await openEnvironment({ testID: ${JSON.stringify(crashID)}, stateDir: ${JSON.stringify(stateDir)} });\n` +
        `process.stdout.write("opened\\n");\n` +
        `await env.createVM(${JSON.stringify(name)}, ${JSON.stringify(runtimeSpec(name))});\n` +
        `process.stdout.write("created\\n");\nsetInterval(() => {}, 1000);\n`,
    );
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise((r) => child.once("exit", r));
    await new Promise<void>((resolveReady, reject) => {
      const poll = setInterval(() => ready(stdout) && (clearInterval(poll), resolveReady()), 50);
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.once("exit", (code) => (clearInterval(poll), reject(new Error(`creator exited ${code}: ${stderr}`))));
    });
    child.kill("SIGKILL");
    await exited;
  }

  it("deleting the environment removes runtime VMs whose creator was SIGKILLed, after and during createVM", async () => {
    await orchestrator.create({
      testID: crashID,
      stage: "e2e",
      tmpDir,
      rootDir: root,
      metadata: {},
      env: {},
      spec: {
        providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store: crashStore, delayMs: { vm_create: 1500 } } }],
        keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
        networks: [{ name: "net", kind: "bridge", spec: { cidr: "192.168.100.1/24" } }],
      },
    });
    const prefix = crashState().prefix;

    await creator("orphan", (out) => out.includes("created"));
    expect(crashState().resources.vms.orphan).toMatchObject({ status: "ready", runtime: true });
    expect(crashVms()).toEqual([`${prefix}-orphan`]);

    await creator("midway", (out) => out.includes("opened") && crashState().resources.vms.midway?.status === "creating");
    expect(crashState().resources.vms.midway).toMatchObject({ status: "creating", runtime: true });

    await orchestrator.delete({ testID: crashID }, { stateDir });
    expect(crashVms()).toEqual([]);
    expect(readStubStore(crashStore)?.networks).toEqual({});
    expect(existsSync(join(stateDir, "state", `testenv-${crashID}.json`))).toBe(false);
  });
});
