import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ResourceListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectOrchestrator, textOf, type OrchestratorConnection } from "../helpers/mcp.js";
import { startSshServer, type LoopbackSshServer } from "./client-ssh-server.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// The agents' tools over real stdio with the official SDK client: the stub provider's VMs all point at a real SSH
// server on loopback, so exec and file transfers do real SSH work.

let box: Sandbox;
let server: LoopbackSshServer;
let mcp: OrchestratorConnection;
let home: string;
let allowed: string;
const id = testID("agent");

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

function spec(options: { readinessFails?: string[] } = {}): Json {
  return {
    providers: [
      {
        name: "stub",
        engine: "testenv-vm-provider-stub",
        spec: {
          store: box.store,
          writeKeyFiles: true,
          consoleLog: true,
          sshEndpoint: { host: server.host, port: server.port, user: "tester" },
          ...(options.readinessFails ? { readinessFails: options.readinessFails } : {}),
        },
      },
    ],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [{ name: "net", kind: "bridge", spec: { cidr: "192.168.100.1/24" } }],
    vms: [
      {
        name: "web",
        spec: { memory: 512, vcpus: 1, networks: ["net"], disk: { size: "1G" }, cloudInit: { users: [{ name: "tester", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] } },
      },
    ],
  };
}

async function ok(name: string, args: Json): Promise<Json> {
  const result = await mcp.call(name, args);
  expect(result.isError, textOf(result)).toBeFalsy();
  return result.structuredContent as Json;
}

async function failure(name: string, args: Json): Promise<string> {
  const result = await mcp.call(name, args);
  expect(result.isError, `${name} ${JSON.stringify(args).slice(0, 200)} should fail`).toBe(true);
  return textOf(result);
}

const exec = (args: Json): Promise<Json> => ok("exec", { testID: id, vm: "web", ...args });

beforeAll(async () => {
  box = sandbox("agent");
  home = join(box.root, "home");
  allowed = join(box.root, "allowed");
  mkdirSync(home, { recursive: true });
  mkdirSync(allowed, { recursive: true });
  server = await startSshServer({ home });
  mcp = await connectOrchestrator({ env: { ...box.env, TESTENV_VM_MCP_HOST_PATHS: allowed } });
  await ok("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec: spec() });
}, 60_000);

afterAll(async () => {
  await mcp?.call("delete", { testID: id, metadata: null }).catch(() => undefined);
  await mcp?.close();
  await server?.close();
  box?.[Symbol.dispose]();
});

describe("tools/list for agents", () => {
  it("lists the agent tools with output schemas and accurate annotations", async () => {
    const { tools } = await mcp.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of ["exec", "read-file", "write-file", "copy", "console", "vm-add", "vm-remove"]) expect(byName.has(name), name).toBe(true);
    for (const name of ["exec", "read-file", "write-file", "copy", "console"]) expect(byName.get(name)!.outputSchema, name).toBeDefined();
    expect(byName.get("read-file")!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(byName.get("console")!.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true });
    expect(byName.get("exec")!.annotations).toMatchObject({ readOnlyHint: false, idempotentHint: false });
    expect(byName.get("vm-remove")!.annotations).toMatchObject({ destructiveHint: true });
    expect((byName.get("exec")!.inputSchema as Json).required).toEqual(expect.arrayContaining(["testID", "vm", "command"]));
  });
});

describe("exec", () => {
  it("separates stdout and stderr and returns exit codes, argv intact", async () => {
    const result = await exec({ command: "echo out; echo err >&2; exit 3" });
    expect(result).toMatchObject({ vm: "web", stdout: "out\n", stderr: "err\n", exitCode: 3, timedOut: false, truncated: { stdout: false, stderr: false } });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect((await exec({ command: ["printf", "%s|", "a b", "$HOME", "it's"] })).stdout).toBe("a b|$HOME|it's|");
    expect((await exec({ command: "true" })).exitCode).toBe(0);
    const withEnv = await exec({ command: 'echo "$GREETING from $(pwd)"; cat', env: { GREETING: "hi there" }, cwd: "/tmp", stdin: "piped\n" });
    expect(withEnv.stdout).toBe("hi there from /tmp\npiped\n");
  });

  it("caps output and says which stream was cut", async () => {
    const result = await exec({ command: "head -c 100000 /dev/zero | tr '\\0' a; echo short >&2", maxOutputBytes: 1000 });
    expect(result.stdout).toHaveLength(1000);
    expect(result.stderr).toBe("short\n");
    expect(result.truncated).toEqual({ stdout: true, stderr: false });
    expect(result.exitCode).toBe(0);
  });

  it("a timeout kills the remote command", async () => {
    const marker = join(home, `timeout-${randomBytes(3).toString("hex")}`);
    const started = Date.now();
    const result = await exec({ command: `echo started; sleep 3; touch ${marker}`, timeoutSeconds: 0.5 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, stdout: "started\n" });
    expect(Date.now() - started).toBeLessThan(2500);
    await new Promise((r) => setTimeout(r, 3500));
    expect(existsSync(marker)).toBe(false);
  });

  it("a cancelled request kills the remote command", async () => {
    const marker = join(home, `cancel-${randomBytes(3).toString("hex")}`);
    const controller = new AbortController();
    const call = mcp.call("exec", { testID: id, vm: "web", command: `sleep 2; touch ${marker}` }, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 500));
    controller.abort();
    await expect(call).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 2500));
    expect(existsSync(marker)).toBe(false);
    // The server is still serving.
    expect((await exec({ command: "echo alive" })).stdout).toBe("alive\n");
  });

  it("runs several calls at once on one kept connection", async () => {
    const before = server.connections;
    const started = Date.now();
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => exec({ command: `sleep 1; echo ${n}` })));
    expect(results.map((r) => String(r.stdout))).toEqual(["1\n", "2\n", "3\n", "4\n", "5\n"]);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(server.connections).toBe(before);
  });

  it("sends progress notifications while a command runs longer than a second", async () => {
    const messages: string[] = [];
    const result = await mcp.call("exec", { testID: id, vm: "web", command: "sleep 2.5; echo done" }, { onprogress: (p) => messages.push(p.message ?? "") });
    expect((result.structuredContent as Json).stdout).toBe("done\n");
    expect(messages.length).toBeGreaterThanOrEqual(2);
    expect(messages[0]).toMatch(/^exec on web: running for 1 s$/);
  });

  it("runs only in VMs of environments that exist", async () => {
    expect(await failure("exec", { testID: "no-such-env", vm: "web", command: "true" })).toMatch(/^Exec failed: .*no-such-env.*no state file/);
    expect(await failure("exec", { testID: id, vm: "nope", command: "true" })).toMatch(/^Exec failed: vm "nope" is not part of environment/);
  });
});

describe("files", () => {
  it("round-trips 1 MB of binary data with its sha256, and keeps the mode", async () => {
    const data = randomBytes(1024 * 1024);
    const written = await ok("write-file", { testID: id, vm: "web", path: "bin/blob.dat", content: data.toString("base64"), encoding: "base64", mode: "0750" });
    expect(written).toMatchObject({ size: data.length, sha256: sha256(data) });
    expect(sha256(readFileSync(join(home, "bin/blob.dat")))).toBe(sha256(data));
    expect(statSync(join(home, "bin/blob.dat")).mode & 0o777).toBe(0o750);
    const read = await ok("read-file", { testID: id, vm: "web", path: "bin/blob.dat", maxBytes: 2 * 1024 * 1024 });
    expect(read).toMatchObject({ encoding: "base64", size: data.length, sha256: sha256(data) });
    expect(sha256(Buffer.from(read.content as string, "base64"))).toBe(sha256(data));
  });

  it("reads text as utf8 and refuses files above maxBytes before reading them", async () => {
    await ok("write-file", { testID: id, vm: "web", path: "notes.txt", content: "grüße\n" });
    expect(await ok("read-file", { testID: id, vm: "web", path: "notes.txt" })).toMatchObject({ encoding: "utf8", content: "grüße\n", size: 8 });
    expect(await failure("read-file", { testID: id, vm: "web", path: "bin/blob.dat", maxBytes: 1000 })).toMatch(/is 1048576 bytes, more than maxBytes 1000/);
    expect(await failure("read-file", { testID: id, vm: "web", path: "missing.txt" })).toMatch(/^Read file failed: cannot read missing.txt/);
    expect(await failure("write-file", { testID: id, vm: "web", path: "x", content: "!!not base64", encoding: "base64" })).toMatch(/content: not valid base64/);
  });

  it("copies between the host and a VM only inside the artifact dir and the allowed directories", async () => {
    const state = box.readState(id);
    const artifactDir = state.artifactDir as string;
    mkdirSync(artifactDir, { recursive: true });
    writeFileSync(join(artifactDir, "upload.txt"), "from the host\n");
    const up = await ok("copy", { testID: id, vm: "web", direction: "to-vm", hostPath: "upload.txt", vmPath: "uploaded/upload.txt" });
    expect(up).toMatchObject({ size: 14, direction: "to-vm" });
    expect(readFileSync(join(home, "uploaded/upload.txt"), "utf8")).toBe("from the host\n");
    await ok("copy", { testID: id, vm: "web", direction: "from-vm", hostPath: join(allowed, "sub/back.txt"), vmPath: "uploaded/upload.txt" });
    expect(readFileSync(join(allowed, "sub/back.txt"), "utf8")).toBe("from the host\n");

    symlinkSync("/etc", join(artifactDir, "escape"));
    for (const hostPath of ["../../../../etc/passwd", "/etc/passwd", join(artifactDir, "escape/passwd"), "escape/hostname", allowed]) {
      expect(await failure("copy", { testID: id, vm: "web", direction: "to-vm", hostPath, vmPath: "stolen" }), hostPath).toMatch(/^Copy failed: .*(outside the allowed|allowed directory itself)/);
    }
    expect(await failure("copy", { testID: id, vm: "web", direction: "from-vm", hostPath: "escape/evil", vmPath: "uploaded/upload.txt" })).toMatch(/outside the allowed/);
    expect(existsSync(join(home, "stolen"))).toBe(false);
  });
});

describe("console and runtime VMs", () => {
  it("shows the console tail of a VM whose readiness failed", async () => {
    const failing = testID("agent");
    const created = await mcp.call("create", {
      testID: failing,
      stage: "e2e",
      tmpDir: join(box.tmpDir, failing),
      metadata: {},
      keepOnFailure: true,
      spec: spec({ readinessFails: ["web"] }),
    });
    expect(created.isError).toBe(true);
    expect(textOf(created)).toMatch(/readiness of .*web timed out/);
    const tail = await ok("console", { testID: failing, vm: "web", lines: 2 });
    expect(tail.lines).toEqual(["[   12.000000] cloud-init: waiting for network: no carrier", "[   42.000000] stub: readiness never came"]);
    expect(tail.truncated).toBe(true);
    const all = await ok("console", { testID: failing, vm: "web" });
    expect(all.lines[0]).toMatch(/Linux version/);
    expect((await ok("console", { testID: failing, vm: "web", since: all.offset as number })).lines).toEqual([]);
    expect(await failure("exec", { testID: failing, vm: "web", command: "true" })).toMatch(/not ready/);
    const deleted = await mcp.call("delete", { testID: failing, metadata: null });
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    expect(box.stateFiles()).not.toContain(`testenv-${failing}.json`);
  });

  it("adds a VM at runtime, runs in it, and removes it", async () => {
    const added = await ok("vm-add", {
      testID: id,
      vm: "extra",
      spec: { memory: 256, vcpus: 1, networks: ["net"], disk: { size: "1G" }, cloudInit: { users: [{ name: "tester", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] } },
    });
    expect(added).toMatchObject({ name: "extra", status: "ready", runtime: true });
    expect(added.providerName).toBe(`${box.readState(id).prefix as string}-extra`);
    expect((await ok("exec", { testID: id, vm: "extra", command: "echo extra" })).stdout).toBe("extra\n");
    expect(((await ok("console", { testID: id, vm: "extra" })).lines as string[]).at(-1)).toMatch(/login:/);
    expect(await failure("vm-remove", { testID: id, vm: "web" })).toMatch(/comes from the spec/);
    await ok("vm-remove", { testID: id, vm: "extra" });
    expect(box.readState(id).resources.vms.extra.status).toBe("destroyed");
    expect(await failure("exec", { testID: id, vm: "extra", command: "true" })).toMatch(/is destroyed, not ready/);
  });
});

describe("logs", () => {
  it("the orchestrator's and providers' lines of one environment, by level and resource", async () => {
    await exec({ command: "echo logged" });
    const artifactDir = box.readState(id).artifactDir as string;
    const all = await ok("logs", { testID: id, level: "debug", lines: 5000 });
    expect(all.files).toContain(join(artifactDir, "testenv-vm.log"));
    const entries = all.entries as Json[];
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.some((e) => e.source === "orchestrator")).toBe(true);
    const info = (await ok("logs", { testID: id, lines: 5000 })).entries as Json[];
    expect(info.length).toBeLessThanOrEqual(entries.length);
    expect(info.every((e) => e.level !== "debug")).toBe(true);
    const prefix = box.readState(id).prefix as string;
    const web = (await ok("logs", { testID: id, level: "debug", resource: "web" })).entries as Json[];
    expect(web.length).toBeGreaterThan(0);
    expect(web.every((e) => String(e.message).includes("web") || String(e.message).includes(`${prefix}-web`))).toBe(true);
    expect(web.some((e) => e.namespace === "testenv-vm:mcp:agent" && /^Command on web exited 0/.test(String(e.message)))).toBe(true);
    expect((await ok("logs", { testID: id, level: "debug", lines: 1 })).entries).toHaveLength(1);
    expect(JSON.stringify(all)).not.toMatch(/PRIVATE KEY/);
  });
});

describe("bad calls", () => {
  const web = (extra: Json): Json => ({ testID: id, vm: "web", ...extra });
  // [tool, arguments, what the error must name]
  const table = (): [string, Json, string | RegExp][] => [
    ["exec", {}, "testID"],
    ["exec", { testID: id }, "vm"],
    ["exec", web({}), "command"],
    ["exec", web({ command: 42 }), "command"],
    ["exec", web({ command: [] }), "command"],
    ["exec", web({ command: [1, 2] }), "command: a shell string, or argv"],
    ["exec", web({ command: "" }), "command"],
    ["exec", web({ command: "x".repeat(300_000) }), "command"],
    ["exec", web({ command: "true", env: "A=1" }), "env"],
    ["exec", web({ command: "true", env: { "1BAD": "x" } }), "1BAD"],
    ["exec", web({ command: "true", env: { A: "x".repeat(300_000) } }), "env.A"],
    ["exec", web({ command: "true", timeoutSeconds: -1 }), "timeoutSeconds"],
    ["exec", web({ command: "true", timeoutSeconds: "10" }), "timeoutSeconds"],
    ["exec", web({ command: "true", timeoutSeconds: 99_999 }), "timeoutSeconds"],
    ["exec", web({ command: "true", maxOutputBytes: 1.5 }), "maxOutputBytes"],
    ["exec", web({ command: "true", sudo: "yes" }), "sudo"],
    ["exec", web({ command: "true", stdin: 5 }), "stdin"],
    ["exec", web({ command: "true", cwd: "" }), "cwd"],
    ["exec", web({ command: "true", shell: "bash" }), "shell"],
    ["exec", { testID: "../etc", vm: "web", command: "true" }, "testID"],
    ["exec", { testID: 5, vm: "web", command: "true" }, "testID"],
    ["exec", { testID: "no-such-env", vm: "web", command: "true" }, "no-such-env"],
    ["exec", web({ vm: "ghost", command: "true" }), "ghost"],
    ["read-file", web({}), "path"],
    ["read-file", web({ path: 7 }), "path"],
    ["read-file", web({ path: "x", maxBytes: 0 }), "maxBytes"],
    ["read-file", web({ path: "x", maxBytes: 1e12 }), "maxBytes"],
    ["read-file", web({ path: "x", encoding: "latin1" }), "encoding"],
    ["write-file", web({ path: "x" }), "content"],
    ["write-file", web({ path: "x", content: 5 }), "content"],
    ["write-file", web({ path: "x", content: "", mode: "999" }), "mode"],
    ["write-file", web({ path: "x", content: "", mode: -1 }), "mode"],
    ["write-file", web({ path: "x", content: "%%%", encoding: "base64" }), "content"],
    ["exec", web({ command: "cat", stdin: "a".repeat(4_200_000) }), "stdin"],
    ["copy", web({ direction: "sideways", hostPath: "a", vmPath: "b" }), "direction"],
    ["copy", web({ direction: "to-vm", vmPath: "b" }), "hostPath"],
    ["copy", web({ direction: "to-vm", hostPath: "a" }), "vmPath"],
    ["copy", web({ direction: "to-vm", hostPath: "../../../etc/passwd", vmPath: "b" }), "outside the allowed"],
    ["copy", web({ direction: "from-vm", hostPath: "/etc/cron.d/evil", vmPath: "b" }), "outside the allowed"],
    ["copy", web({ direction: "to-vm", hostPath: "a\u0000b", vmPath: "b" }), "NUL"],
    ["console", web({ lines: 0 }), "lines"],
    ["console", web({ lines: "ten" }), "lines"],
    ["console", web({ since: -5 }), "since"],
    ["console", web({ vm: "ghost" }), "ghost"],
    ["vm-add", { testID: id, vm: "new" }, "spec"],
    ["vm-add", { testID: id, vm: "new", spec: { memory: "lots" } }, "spec.memory"],
    ["vm-add", { testID: id, vm: "", spec: {} }, "vm"],
    ["vm-add", { testID: "no-such-env", vm: "new", spec: { memory: 256, vcpus: 1, disk: { size: "1G" } } }, "no-such-env"],
    ["vm-remove", { testID: id, vm: "web" }, "comes from the spec"],
    ["vm-remove", { testID: id, vm: "ghost" }, "ghost"],
    ["logs", { testID: id, level: "verbose" }, "level"],
    ["logs", { testID: id, lines: 0 }, "lines"],
    ["logs", { testID: id, source: "kernel" }, "source"],
    ["logs", {}, "testID"],
    ["status", { testID: {} }, "testID"],
    ["delete", { testID: "a/b" }, "testID"],
    ["vm-stop", { testID: id, vm: "web", timeoutSeconds: 0 }, "timeoutSeconds"],
    ["create", { testID: "bad-one", tmpDir: "/tmp/x" }, "stage"],
  ];

  it(`answers each of ${table().length} malformed calls with a clear error, creates nothing and keeps serving`, async () => {
    const storeBefore = readFileSync(box.store, "utf8");
    const filesBefore = box.stateFiles();
    for (const [tool, args, names] of table()) {
      const result = await mcp.call(tool, args, { timeoutMs: 15_000 }).catch((e: Error) => ({ isError: "threw", content: [{ type: "text" as const, text: e.message.slice(0, 300) }] }));
      const text = textOf(result as never);
      expect(result.isError, `${tool} ${JSON.stringify(args).slice(0, 120)}`).toBe(true);
      expect(text, `${tool} ${JSON.stringify(args).slice(0, 120)}`).toMatch(/^[A-Z][A-Za-z ]+ failed: /);
      if (typeof names === "string") expect(text, `${tool} ${JSON.stringify(args).slice(0, 120)}`).toContain(names);
      else expect(text).toMatch(names);
    }
    expect(table().length).toBeGreaterThanOrEqual(40);
    expect(box.stateFiles()).toEqual(filesBefore);
    expect(JSON.parse(readFileSync(box.store, "utf8"))).toEqual(JSON.parse(storeBefore));
    expect((await exec({ command: "echo still here" })).stdout).toBe("still here\n");
  }, 60_000);
});

describe("resources and prompts", () => {
  it("serves each environment's summary and each VM's console, and says when the list changes", async () => {
    let changes = 0;
    mcp.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      changes += 1;
    });
    const { resources } = await mcp.client.listResources();
    const uris = resources.map((r) => r.uri);
    expect(uris).toContain(`testenv-vm://env/${id}`);
    expect(uris).toContain(`testenv-vm://env/${id}/vm/web/console`);
    const summary = await mcp.client.readResource({ uri: `testenv-vm://env/${id}` });
    const first = summary.contents[0] as { text: string };
    expect(JSON.parse(first.text)).toMatchObject({ testID: id, status: "ready" });
    expect(first.text).not.toMatch(/PRIVATE KEY/);
    const consoleLog = await mcp.client.readResource({ uri: `testenv-vm://env/${id}/vm/web/console` });
    expect((consoleLog.contents[0] as { text: string }).text).toMatch(/web login:/);

    const spec = { memory: 256, vcpus: 1, networks: ["net"], disk: { size: "1G" } };
    await ok("vm-add", { testID: id, vm: "brief", spec });
    await ok("vm-remove", { testID: id, vm: "brief" });
    for (let i = 0; i < 20 && changes < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(changes).toBeGreaterThanOrEqual(2);
  });

  it("offers a prompt that walks from a description to a create", async () => {
    const { prompts } = await mcp.client.listPrompts();
    expect(prompts.map((p) => p.name)).toContain("create-environment");
    const prompt = await mcp.client.getPrompt({ name: "create-environment", arguments: { description: "two VMs on one network" } });
    const text = (prompt.messages[0]?.content as { text: string }).text;
    expect(text).toContain("two VMs on one network");
    // The plan tool is registered, so the walk is config-validate → plan → create.
    expect(text.indexOf("config-validate")).toBeLessThan(text.indexOf("Call plan"));
    expect(text.indexOf("Call plan")).toBeLessThan(text.indexOf("Call create"));
  });
});
