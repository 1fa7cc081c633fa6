import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PROVIDER_TOOLS, type KeyState, type NetworkState, type VMState } from "../../api/provider.js";
import { TestenvError } from "../../src/errors.js";
import { MAX_PROVIDER_RESTARTS, ProviderClient, type ProviderClientOptions } from "../../src/provider/client.js";
import { ProviderManager } from "../../src/provider/manager.js";
import { processAlive } from "./env.js";

// The real stub bin (dist/) over real stdio, through ProviderClient, as the orchestrator runs it.

const run = promisify(execFile);
const STUB_BIN = resolve("dist/providers/stub/bin.js");
const FIXTURE = resolve("test/fixtures/providers/original-style.mjs");

let dir: string;
const clients: ProviderClient[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "provider-process-"));
});
afterEach(async () => {
  const started = clients.splice(0);
  await Promise.all(started.map((c) => c.close()));
  // If close() is broken, do not leave the provider behind for the next test run.
  for (const pid of started.map((c) => c.pid)) if (pid !== undefined && processAlive(pid)) process.kill(pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: Partial<ProviderClientOptions> = {}): Promise<ProviderClient> {
  const client = await ProviderClient.start({ name: "stub", engine: "testenv-vm-provider-stub", cwd: dir, closeGraceMs: 500, ...options });
  clients.push(client);
  return client;
}

const vmRequest = (name: string, networks: string[]) => ({
  name,
  spec: { memory: 256, vcpus: 1, networks, disk: { size: "1G" }, boot: { order: ["hd"] } },
});

describe("stub provider process", () => {
  it("answers the original 13 tools through ProviderClient", async () => {
    const logFile = join(dir, "artifacts", "providers", "stub.log");
    const stub = await start({
      logFile,
      env: { TESTENV_VM_NAME_PREFIX: "tvm-e2e", TESTENV_VM_ARTIFACT_DIR: join(dir, "artifacts"), TESTENV_VM_LOG: "debug" },
    });
    const exits: Array<[number | null, string | null]> = [];
    stub.onExit((code, signal) => exits.push([code, signal]));
    expect(stub.pid).toBeGreaterThan(0);
    expect(stub.capabilities.providerName).toBe("stub");
    expect(stub.supports("network", "create", { networkKind: "dnsmasq" })).toBe(true);
    expect(stub.supports("key", "create", { keyType: "dsa" })).toBe(false);

    const seen = new Set<string>();
    const call = async (tool: (typeof PROVIDER_TOOLS)[number], args: unknown) => {
      seen.add(tool);
      const result = await stub.call(tool, args);
      expect(result, `${tool}: ${JSON.stringify(result.error)}`).toMatchObject({ success: true });
      return result.resource;
    };
    expect(await call("provider_capabilities", undefined)).toMatchObject({ providerName: "stub" });
    const key = (await call("key_create", { name: "tvm-e2e-key", spec: { type: "ed25519" } })) as KeyState;
    expect(key.privateKeyPath).toBe(join(dir, "artifacts", "keys", "tvm-e2e-key"));
    expect(await call("key_get", { name: "tvm-e2e-key" })).toEqual(key);
    expect(await call("key_list", {})).toEqual([key]);
    const net = (await call("network_create", { name: "tvm-e2e-net", kind: "bridge", spec: { cidr: "10.10.0.1/24" } })) as NetworkState;
    expect(net.ip).toBe("10.10.0.1");
    expect(await call("network_get", { name: "tvm-e2e-net" })).toEqual(net);
    expect(await call("network_list", { filter: {} })).toEqual([net]);
    const vm = (await call("vm_create", vmRequest("tvm-e2e-vm", ["tvm-e2e-net"]))) as VMState;
    expect(vm.ip).toMatch(/^10\.10\.0\.\d+$/);
    expect(vm.ip).not.toBe("10.10.0.1");
    expect(await call("vm_get", { name: "tvm-e2e-vm" })).toEqual(vm);
    expect(await call("vm_list", {})).toEqual([vm]);
    expect(await call("vm_delete", { name: "tvm-e2e-vm" })).toBeUndefined();
    expect(await call("network_delete", { name: "tvm-e2e-net", force: false })).toBeUndefined();
    expect(await call("key_delete", { name: "tvm-e2e-key" })).toBeUndefined();
    expect(seen.size).toBe(13);

    await stub.close();
    // stdin EOF is enough for a well-behaved provider; its stderr landed in the log file.
    expect(exits).toEqual([[0, null]]);
    expect(readFileSync(logFile, "utf8")).toContain("[provider:stub] serving MCP on stdio");
  });

  it("writes real key files when writeKeyFiles is set", async () => {
    const stub = await start({ config: { writeKeyFiles: true } });
    const key = (await stub.call("key_create", { name: "real", spec: { type: "ed25519", outputDir: join(dir, "keys") } })).resource as KeyState;
    expect(readFileSync(key.privateKeyPath, "utf8")).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(readFileSync(key.publicKeyPath, "utf8")).toBe(`${key.publicKey}\n`);
    expect((await stub.call("key_delete", { name: "real" })).success).toBe(true);
    expect(existsSync(key.privateKeyPath)).toBe(false);
  });

  it("returns results larger than the original's 64 KiB line limit intact", async () => {
    const stub = await start();
    const comment = "c".repeat(500);
    for (let i = 0; i < 150; i++) expect((await stub.call("key_create", { name: `key-${i}`, spec: { type: "rsa", comment } })).success).toBe(true);
    const listed = (await stub.call("key_list", {})).resource as KeyState[];
    expect(JSON.stringify(listed).length).toBeGreaterThan(64 * 1024);
    expect(listed).toHaveLength(150);
  });

  it("starts a go:// engine through the go toolchain on PATH", async () => {
    // A stand-in `go` that runs the stub for `go run <module>@<version> --mcp`, recording its argv.
    const binDir = join(dir, "fake-go");
    mkdirSync(binDir);
    writeFileSync(
      join(binDir, "go"),
      `#!/bin/sh\necho "$@" > "${join(dir, "go-argv")}"\nshift 2\nexec "${process.execPath}" "${STUB_BIN}" "$@"\n`,
      { mode: 0o755 },
    );
    const stub = await start({ name: "go", engine: "go://github.com/acme/tool/cmd/provider@v1.2.3", parentEnv: { PATH: binDir } });
    expect(stub.capabilities.providerName).toBe("stub");
    expect(readFileSync(join(dir, "go-argv"), "utf8")).toBe("run github.com/acme/tool/cmd/provider@v1.2.3 --mcp\n");
  });

  it("keeps error codes across the wire", async () => {
    const stub = await start();
    expect((await stub.call("vm_get", { name: "ghost" })).error).toEqual({ code: "NOT_FOUND", message: 'vm "ghost" not found', retryable: false });
    await stub.call("network_create", { name: "n", kind: "nat", spec: {} });
    expect((await stub.call("network_create", { name: "n", kind: "nat", spec: {} })).error?.code).toBe("ALREADY_EXISTS");
    await stub.call("vm_create", vmRequest("v", ["n"]));
    expect((await stub.call("network_delete", { name: "n" })).error).toMatchObject({ code: "RESOURCE_BUSY", retryable: true });
    expect((await stub.call("vm_create", vmRequest("w", ["missing"]))).error?.code).toBe("NOT_FOUND");
  });

  it("answers bad arguments with INVALID_SPEC naming the field", async () => {
    const stub = await start();
    const result = await stub.call("vm_create", { name: "v", spec: { memory: 256, vcpus: 0, disk: { size: "1G" }, boot: {} } });
    expect(result.error?.code).toBe("INVALID_SPEC");
    expect(result.error?.message).toContain("spec.vcpus");
    const typo = await stub.call("key_get", { nam: "typo" });
    expect(typo.error?.code).toBe("INVALID_SPEC");
    expect(typo.error?.message).toContain("name:");
    expect(typo.error?.message).toContain('"nam"');
  });

  it("multiplexes concurrent calls over one process", async () => {
    const stub = await start();
    await stub.call("network_create", { name: "n", kind: "bridge", spec: { cidr: "10.30.0.0/24" } });
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => stub.call("vm_create", vmRequest(`vm-${i}`, ["n"]))));
    const vms = results.map((r) => r.resource as VMState);
    expect(vms.map((v) => v.name)).toEqual(Array.from({ length: 25 }, (_, i) => `vm-${i}`));
    expect(new Set(vms.map((v) => v.ip)).size).toBe(25);
  });

  it("shares a file store between two processes", async () => {
    const config = { store: join(dir, "stub-store.json") };
    const creator = await start({ config });
    const deleter = await start({ config });
    expect(creator.pid).not.toBe(deleter.pid);
    await creator.call("network_create", { name: "shared", kind: "bridge", spec: { cidr: "10.20.0.0/24" } });
    const created = await creator.call("vm_create", vmRequest("shared-vm", ["shared"]));
    expect((await deleter.call("vm_get", { name: "shared-vm" })).resource).toEqual(created.resource);
    expect((await deleter.call("network_delete", { name: "shared" })).error?.code).toBe("RESOURCE_BUSY");
    expect((await deleter.call("vm_delete", { name: "shared-vm" })).success).toBe(true);
    expect((await creator.call("vm_get", { name: "shared-vm" })).error?.code).toBe("NOT_FOUND");
    const stored = JSON.parse(readFileSync(config.store, "utf8")) as { vms: object; networks: object };
    expect(Object.keys(stored.vms)).toEqual([]);
    expect(Object.keys(stored.networks)).toEqual(["shared"]);
  });

  it("turns a slow call into TIMEOUT naming tool, provider and timeout", async () => {
    const stub = await start({ name: "slowpoke", config: { delayMs: { vm_list: 60_000 } } });
    const result = await stub.call("vm_list", {}, { timeoutMs: 300 });
    expect(result.success).toBe(false);
    expect(result.error).toMatchObject({ code: "TIMEOUT", retryable: true });
    expect(result.error?.message).toContain('provider "slowpoke" did not answer vm_list within 300 ms');
    // The process is still usable afterwards.
    expect((await stub.call("key_list", {})).success).toBe(true);
  });

  it("reports a crash mid-call as PROVIDER_ERROR with exit code and stderr tail, then restarts for later calls", async () => {
    const stub = await start({ name: "crashy", config: { store: join(dir, "store.json"), exitOn: { tool: "vm_create", name: "doomed", code: 3 } } });
    const firstPid = stub.pid;
    const exits: Array<[number | null, string | null]> = [];
    stub.onExit((code, signal) => exits.push([code, signal]));
    expect((await stub.call("network_create", { name: "tvm-x-net", kind: "bridge", spec: {} })).success).toBe(true);
    const result = await stub.call("vm_create", vmRequest("tvm-x-doomed", []));
    expect(result.success).toBe(false);
    expect(result.error?.code).toBe("PROVIDER_ERROR");
    expect(result.error?.message).toContain('provider "crashy" (testenv-vm-provider-stub) exited with code 3 during vm_create');
    expect(result.error?.message).toContain("exiting with code 3: exitOn vm_create");
    expect(exits).toEqual([[3, null]]);
    // Rollback must still reach the provider: the next call runs in a fresh process that sees the same store.
    expect((await stub.call("network_delete", { name: "tvm-x-net" })).success).toBe(true);
    expect(stub.pid).not.toBe(firstPid);
  });

  it("gives up restarting a provider that keeps crashing", async () => {
    const stub = await start({ name: "flaky", config: { exitOn: { tool: "vm_list", code: 4 } } });
    const pids = new Set<number>();
    for (let attempt = 0; attempt <= MAX_PROVIDER_RESTARTS; attempt++) {
      expect((await stub.call("vm_list", {})).error?.message).toContain("exited with code 4 during vm_list");
      pids.add(stub.pid!);
    }
    expect(pids.size).toBe(MAX_PROVIDER_RESTARTS + 1);
    const refused = await stub.call("key_list", {});
    expect(refused.error?.code).toBe("PROVIDER_ERROR");
    expect(refused.error?.message).toContain(`exited with code 4 and could not be restarted (${MAX_PROVIDER_RESTARTS} restarts); key_list was not sent`);
  });

  it("prints its version, and refuses to run without --mcp", async () => {
    const { stdout } = await run(process.execPath, [STUB_BIN, "--version"]);
    expect(stdout).toMatch(/^testenv-vm-provider-stub \d+\.\d+\.\d+/);
    const failure = await run(process.execPath, [STUB_BIN]).catch((error: unknown) => error as { code: number; stderr: string });
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toBe("This binary must be run with --mcp flag\nUsage: testenv-vm-provider-stub --mcp\n");
  });

  it("lists all 15 tools with input schemas to the official MCP SDK client", async () => {
    const client = new Client({ name: "sdk-test", version: "1" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [STUB_BIN, "--mcp"], stderr: "pipe" }));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...PROVIDER_TOOLS].sort());
      const vmCreate = tools.find((t) => t.name === "vm_create");
      expect(vmCreate?.inputSchema.required).toEqual(expect.arrayContaining(["name", "spec"]));
      expect(Object.keys(vmCreate?.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(["name", "spec", "providerSpec"]));
      const result = await client.callTool({ name: "key_get", arguments: { name: "none" } });
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toMatchObject({ success: false, error: { code: "NOT_FOUND" } });
    } finally {
      await client.close();
    }
  });

  it("fails start-up with a message naming a bad config field", async () => {
    const error = await start({ name: "misconfigured", config: { sshEndpoint: { host: "127.0.0.1", port: "22" } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestenvError);
    expect((error as TestenvError).code).toBe("PROVIDER_SPAWN_FAILED");
    expect((error as TestenvError).message).toContain('failed to start provider "misconfigured"');
    expect((error as TestenvError).message).toContain("exited with code 1");
    expect((error as TestenvError).message).toContain("providers[misconfigured].spec.sshEndpoint.port");
  });
});

describe("vm power, list filter and delete force over stdio", () => {
  it("stops and starts a stub VM through the official MCP SDK client", async () => {
    const client = new Client({ name: "sdk-power", version: "1" });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [STUB_BIN, "--mcp"], stderr: "pipe", env: { PATH: process.env.PATH ?? "", TESTENV_VM_PROVIDER_CONFIG: JSON.stringify({ ignoreShutdown: ["deaf"] }) } }));
    const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })).structuredContent as { success: boolean; resource?: unknown; error?: { code: string; message: string } };
    const vmOf = async (name: string, args: Record<string, unknown>) => {
      const result = await call(name, args);
      expect(result, `${name}: ${JSON.stringify(result.error)}`).toMatchObject({ success: true });
      return result.resource as VMState;
    };
    try {
      const { tools } = await client.listTools();
      const stopTool = tools.find((t) => t.name === "vm_stop");
      expect(stopTool?.annotations).toMatchObject({ destructiveHint: false, idempotentHint: true, readOnlyHint: false });
      expect(Object.keys(stopTool?.inputSchema.properties ?? {})).toEqual(["name", "timeoutSeconds", "force"]);
      expect(Object.keys(tools.find((t) => t.name === "vm_start")?.inputSchema.properties ?? {})).toEqual(["name", "waitReady"]);

      await vmOf("vm_create", vmRequest("web", []));
      await vmOf("vm_create", vmRequest("deaf", []));
      expect(await vmOf("vm_stop", { name: "web" })).toMatchObject({ name: "web", status: "stopped", stopMethod: "graceful" });
      expect((await vmOf("vm_stop", { name: "web" })).stopMethod).toBe("already-stopped");
      expect((await vmOf("vm_get", { name: "web" })).status).toBe("stopped");
      expect((await vmOf("vm_stop", { name: "deaf", timeoutSeconds: 5 })).stopMethod).toBe("forced");

      const stoppedNames = (await call("vm_list", { filter: { status: "stopped" } })).resource as VMState[];
      expect(stoppedNames.map((v) => v.name)).toEqual(["deaf", "web"]);

      const started = await vmOf("vm_start", { name: "web" });
      expect(started.status).toBe("running");
      expect(started.stopMethod).toBeUndefined();
      expect(((await call("vm_list", { filter: { status: "running" } })).resource as VMState[]).map((v) => v.name)).toEqual(["web"]);
      expect((await vmOf("vm_stop", { name: "web", force: true })).stopMethod).toBe("forced");

      const bad = await call("vm_stop", { name: "web", timeoutSeconds: 0 });
      expect(bad.error?.code).toBe("INVALID_SPEC");
      expect(bad.error?.message).toContain("timeoutSeconds");
      expect((await call("vm_start", { name: "ghost" })).error?.code).toBe("NOT_FOUND");
    } finally {
      await client.close();
    }
  });

  it("declares start/stop in capabilities and deletes what a VM uses only with force", async () => {
    const stub = await start();
    expect(stub.supports("vm", "start")).toBe(true);
    expect(stub.supports("vm", "stop")).toBe(true);
    expect(stub.supports("network", "stop")).toBe(false);
    const key = (await stub.call("key_create", { name: "k", spec: { type: "ed25519" } })).resource as KeyState;
    await stub.call("network_create", { name: "n", kind: "bridge", spec: { cidr: "10.50.0.0/24" } });
    const vm = vmRequest("v", ["n"]);
    const created = await stub.call("vm_create", { ...vm, spec: { ...vm.spec, cloudInit: { users: [{ name: "root", sshAuthorizedKeys: [key.publicKey] }] } } });
    expect(created.success).toBe(true);
    expect((await stub.call("vm_stop", { name: "v" })).resource).toMatchObject({ status: "stopped", stopMethod: "graceful" });
    expect((await stub.call("network_delete", { name: "n" })).error?.code).toBe("RESOURCE_BUSY");
    expect((await stub.call("key_delete", { name: "k" })).error?.code).toBe("RESOURCE_BUSY");
    expect(await stub.call("network_delete", { name: "n", force: true })).toEqual({ success: true });
    expect(await stub.call("key_delete", { name: "k", force: true })).toEqual({ success: true });
    expect(((await stub.call("network_list", { filter: { name: "n" } })).resource as unknown[]).length).toBe(0);
  });

  it("answers NOT_IMPLEMENTED from a kit provider without start/stop", async () => {
    const kit = pathToFileURL(resolve("dist/providers/kit/index.js")).href;
    const engine = join(dir, "no-power-provider.mjs");
    writeFileSync(
      engine,
      [
        "#!/usr/bin/env node",
        `import { runProviderMain } from ${JSON.stringify(kit)};`,
        "const vm = (name) => ({ name, status: 'running' });",
        "await runProviderMain({ binary: 'no-power', name: 'no-power', version: '0.0.0', create: () => ({",
        "  capabilities: () => ({ providerName: 'no-power', version: '0.0.0', resources: [{ kind: 'vm', operations: ['create', 'get', 'list', 'delete'] }] }),",
        "  vms: { create: async (r) => vm(r.name), get: async (n) => vm(n), list: async () => [vm('a')], delete: async () => {} },",
        "}) });",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const provider = await start({ name: "no-power", engine });
    expect(provider.supports("vm", "stop")).toBe(false);
    expect((await provider.call("vm_stop", { name: "a" })).error).toEqual({ code: "NOT_IMPLEMENTED", message: 'operation "stop" not implemented for resource "vm"', retryable: false });
    expect((await provider.call("vm_start", { name: "a" })).error?.code).toBe("NOT_IMPLEMENTED");
    // The kit applies the list filter for every provider, whether or not its handler looks at it.
    expect((await provider.call("vm_list", { filter: { status: "stopped" } })).resource).toEqual([]);
    expect((await provider.call("vm_list", { filter: { status: "running" } })).resource).toEqual([{ name: "a", status: "running" }]);
  });
});

describe("providers written for the original", () => {
  it("decodes the original encoding over the wire", async () => {
    const original = await start({ name: "orig", engine: FIXTURE });
    expect(original.capabilities.providerName).toBe("original");
    expect(original.supports("vm", "create")).toBe(false);
    expect(original.supports("key", "create", { keyType: "anything" })).toBe(true);
    expect(await original.call("key_get", { name: "k" })).toEqual({
      success: false,
      error: { code: "PROVIDER_ERROR", message: 'key "k" not found', retryable: false },
    });
    expect(await original.call("vm_get", { name: "v" })).toEqual({ success: true, resource: { name: "v", status: "running" } });
    expect((await original.call("key_list", {})).error?.message).toBe("empty response from provider");
  });

  it("has no vm_start/vm_stop: declared nowhere, and its plain-text refusal decodes to PROVIDER_ERROR", async () => {
    const original = await start({ name: "orig", engine: FIXTURE });
    expect(original.supports("vm", "start")).toBe(false);
    expect((await original.call("vm_stop", { name: "v" })).error).toEqual({ code: "PROVIDER_ERROR", message: 'operation "vm_stop" not implemented', retryable: false });
  });

  it("passes only the allowlisted environment plus the provider's own variables", async () => {
    const parentEnv = { PATH: process.env.PATH, HOME: "/home/x", AWS_SECRET_ACCESS_KEY: "s3cret", TESTENV_VM_LOG: "info", FORGE_REPO_PATH: "/src/forge" };
    const original = await start({ name: "orig", engine: FIXTURE, parentEnv, env: { TESTENV_VM_NAME_PREFIX: "tvm-1" }, config: { a: 1 } });
    const names = (await original.call("vm_list", {})).resource as string[];
    expect(names.filter((n) => n !== "PWD" && n !== "SHLVL" && n !== "_")).toEqual(
      ["FORGE_REPO_PATH", "HOME", "PATH", "TESTENV_VM_LOG", "TESTENV_VM_NAME_PREFIX", "TESTENV_VM_PROVIDER_CONFIG", "TESTENV_VM_PROVIDER_NAME"],
    );
  });

  it("reads non-JSON success text as the resource", async () => {
    const original = await start({ name: "orig", engine: FIXTURE, env: { FIXTURE_RAW_TEXT: "1" } });
    expect(await original.call("vm_get", { name: "v" })).toEqual({ success: true, resource: "plain words" });
  });

  it("SIGKILLs a provider that ignores stdin EOF and SIGTERM on close()", async () => {
    const stubborn = await start({ name: "stubborn", engine: FIXTURE, env: { FIXTURE_IGNORE_SIGTERM: "1" }, closeGraceMs: 300, logFile: join(dir, "stubborn.log") });
    const pid = stubborn.pid!;
    const exits: Array<[number | null, string | null]> = [];
    stubborn.onExit((code, signal) => exits.push([code, signal]));
    await Promise.all([stubborn.close(), stubborn.close()]);
    expect(exits).toEqual([[null, "SIGKILL"]]);
    expect(processAlive(pid)).toBe(false);
    const log = readFileSync(join(dir, "stubborn.log"), "utf8");
    expect(log).toContain("fixture: stdin closed, staying alive");
    expect(log).toContain("fixture: ignoring SIGTERM");
    expect((await stubborn.call("vm_get", { name: "v" })).error?.code).toBe("PROVIDER_ERROR");
  });
});

describe("ProviderManager", () => {
  it("starts providers in parallel, routes by name, and checks declared support", async () => {
    const manager = new ProviderManager({ cwd: dir, artifactDir: join(dir, "artifacts"), closeGraceMs: 500 });
    await manager.start([
      { name: "stub", engine: "testenv-vm-provider-stub" },
      { name: "orig", engine: FIXTURE },
    ]);
    try {
      expect(manager.get("stub").capabilities.providerName).toBe("stub");
      expect(() => manager.get("nope")).toThrow('provider "nope" is not running');
      const issues = manager.checkSupport([
        { provider: "stub", kind: "network", operation: "create", networkKind: "dnsmasq", resource: "networks[0].kind" },
        { provider: "orig", kind: "vm", operation: "create", resource: "vms[0]" },
        { provider: "stub", kind: "key", operation: "create", keyType: "dsa", resource: "keys[1].spec.type" },
        { provider: "ghost", kind: "key", operation: "create", resource: "keys[2].provider" },
      ]);
      expect(issues.map((i) => i.field)).toEqual(["vms[0]", "keys[1].spec.type", "keys[2].provider"]);
      expect(issues[0]?.message).toContain('provider "orig" (original) does not support create for vm resources');
      expect(issues[1]?.message).toContain('key type "dsa" (supported: ed25519, rsa, ecdsa)');
    } finally {
      await manager.closeAll();
    }
  });

  it("closes the started providers when one fails, naming the failed one", async () => {
    const manager = new ProviderManager({ cwd: dir, artifactDir: join(dir, "artifacts"), closeGraceMs: 500 });
    const pids: number[] = [];
    const error = await manager
      .start([
        { name: "good", engine: FIXTURE },
        { name: "bad", engine: "testenv-vm-provider-stub", spec: { faults: "all of them" } },
      ])
      .catch((e: unknown) => e as TestenvError);
    expect(error).toBeInstanceOf(TestenvError);
    expect((error as TestenvError).code).toBe("PROVIDER_SPAWN_FAILED");
    expect((error as TestenvError).message).toContain('failed to start provider "bad"');
    expect((error as TestenvError).message).toContain("providers[bad].spec.faults");
    expect(manager.names()).toEqual([]);
    expect(readFileSync(join(dir, "artifacts", "providers", "bad.log"), "utf8")).toContain("invalid provider config");
    // The good one's log shows it started, and it is gone now.
    const goodLog = readFileSync(join(dir, "artifacts", "providers", "good.log"), "utf8");
    for (const match of goodLog.matchAll(/started pid (\d+)/g)) pids.push(Number(match[1]));
    expect(pids).toHaveLength(1);
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
  });

  it("names a provider whose engine or working directory cannot be found", async () => {
    const manager = new ProviderManager({ cwd: dir });
    await expect(manager.start([{ name: "x", engine: "./nowhere/provider" }])).rejects.toThrow('binary "./nowhere/provider" not found');
    const elsewhere = new ProviderManager({ cwd: join(dir, "gone") });
    await expect(elsewhere.start([{ name: "x", engine: "testenv-vm-provider-stub" }])).rejects.toThrow(
      `cannot start provider "x": working directory ${join(dir, "gone")} does not exist`,
    );
  });
});
