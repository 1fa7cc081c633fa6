import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { subnetOctet } from "../../src/orchestrator/isolation.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { connectOrchestrator, ORCHESTRATOR_BIN, textOf } from "../helpers/mcp.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// Issue 16 through the real processes: the outside probe's defects (part 5), the security rules that show at the
// surfaces (part 6), a fuzzed sample over MCP (part 3) and load from separate processes (part 4).

type Run = CliRun;

/** The CLI with the sandbox's own subnet registry, so these runs never touch the host's. */
function cli(box: Sandbox, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runCli(box.root, args, { TESTENV_VM_SUBNET_DIR: join(box.root, "subnets"), ...env });
}

function smallSpec(store: string, extra: Json = {}): Json {
  return {
    providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store } }],
    keys: [{ name: "k1", spec: { type: "ed25519" } }],
    networks: [{ name: "net1", kind: "bridge", spec: { cidr: "192.168.100.1/24", dhcp: { enabled: true, rangeStart: "192.168.100.10", rangeEnd: "192.168.100.200" } } }],
    vms: [{ name: "vm1", spec: { memory: 512, vcpus: 1, network: "net1", disk: { size: "1G" } } }],
    ...extra,
  };
}

function writeSpec(box: Sandbox, spec: Json, file = "spec.yaml"): string {
  const path = join(box.root, file);
  writeFileSync(path, stringify(spec));
  return path;
}

/** A testID whose preferred subnet octet is `octet`, so two environments are made to want the same /24. */
function idWithOctet(octet: number, label: string): string {
  for (let i = 0; ; i += 1) if (subnetOctet(`${label}-${i}`) === octet) return `${label}-${i}`;
}

describe("part 5: the outside probe's defects", () => {
  it("the delete hint is runnable as printed, and a delete that finds nothing says where it looked", async () => {
    using box = sandbox("rel-hint");
    const spec = writeSpec(box, smallSpec(box.store));
    const elsewhere = join(box.root, "elsewhere");
    const id = testID("hint");
    const created = await cli(box, ["create", "--spec", spec, "--id", id, "--state-dir", elsewhere, "--quiet"], { TESTENV_VM_STATE_DIR: "" });
    expect(created.code, created.stderr).toBe(0);
    const hint = /^Delete it with: (.*)$/m.exec(created.stdout)?.[1] ?? "";
    expect(hint).toBe(`testenv-vm delete --id ${id} --state-dir ${elsewhere}`);

    const wrong = await cli(box, ["delete", "--id", id]);
    expect(wrong.code).toBe(0);
    expect(wrong.stdout).toContain(`no state file for it in ${join(box.root, ".forge/testenv-vm")}`);
    expect(wrong.stdout).toContain("--state-dir <dir>");
    expect(storedResources(box.store)).toHaveLength(3);

    const asPrinted = await cli(box, hint.split(" ").slice(1));
    expect(asPrinted.code, asPrinted.stderr).toBe(0);
    expect(asPrinted.stdout).toContain(`Deleted environment ${id}: 3 resource(s)`);
    expect(storedResources(box.store)).toEqual([]);
  });

  it("environments of separate state dirs never share a subnet (one host-wide registry)", async () => {
    using box = sandbox("rel-subnets");
    const spec = writeSpec(box, smallSpec(box.store));
    const octet = 77;
    const ids = [idWithOctet(octet, "a"), idWithOctet(octet, "b")];
    const runs = await Promise.all(ids.map((id, i) => cli(box, ["create", "--spec", spec, "--id", id, "--state-dir", join(box.root, `sd${i}`), "--json", "--quiet"])));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const ips = runs.map((run) => String((JSON.parse(run.stdout) as Json).metadata["testenv-vm.network.net1.ip"]));
    expect(new Set(ips.map((ip) => ip.split(".")[2])).size).toBe(2);
    for (const [i, id] of ids.entries()) expect((await cli(box, ["delete", "--id", id, "--state-dir", join(box.root, `sd${i}`)])).code).toBe(0);
    expect(existsSync(join(box.root, "subnets")) ? readdirSync(join(box.root, "subnets")) : []).toEqual([]);
  });

  it("a stateDir, tmp dir or stub store in the way is a clear error and nothing is created", async () => {
    using box = sandbox("rel-files");
    const file = join(box.root, "a-file");
    writeFileSync(file, "");
    const spec = writeSpec(box, smallSpec(box.store));
    const asStateDir = await cli(box, ["create", "--spec", spec, "--state-dir", file, "--quiet"]);
    expect(asStateDir.code).toBe(3);
    expect(asStateDir.stderr).toContain(`stateDir cannot be used: ${file} is a file, not a directory`);
    const asTmpDir = await cli(box, ["create", "--spec", spec, "--tmp-dir", join(file, "tmp"), "--state-dir", box.stateDir, "--quiet"]);
    expect(asTmpDir.code).toBe(3);
    expect(asTmpDir.stderr).toContain("tmpDir cannot be used");
    const storeIsDir = writeSpec(box, smallSpec(box.root), "store-dir.yaml");
    const asStore = await cli(box, ["create", "--spec", storeIsDir, "--state-dir", box.stateDir, "--quiet"]);
    expect(asStore.code).toBe(1);
    expect(asStore.stderr).toContain(`stub store ${box.root} cannot be used: ${box.root} is a directory, not a file`);
    // The provider never started serving, so there is no rollback claiming resources that never existed.
    expect(asStore.stderr).not.toContain("rollback");
    expect(box.stateFiles()).toEqual([]);
    expect(existsSync(box.store)).toBe(false);
    const validated = await cli(box, ["validate", "--spec", writeSpec(box, { ...smallSpec(box.store), stateDir: file }, "v.yaml"), "--json"]);
    expect(validated.code).toBe(3);
    expect((JSON.parse(validated.stdout) as Json).errors).toEqual([expect.objectContaining({ field: "stateDir" })]);
  });
});

describe("part 6: what a spec may read and run", () => {
  it("the CLI passes only the variables named with --env; others are refused before anything is created", async () => {
    using box = sandbox("rel-env");
    const spec = writeSpec(box, smallSpec(box.store, { keys: [{ name: "k1", spec: { type: "ed25519", comment: "{{ .Env.AWS_SECRET_ACCESS_KEY }}" } }] }));
    const secret = { AWS_SECRET_ACCESS_KEY: "s3cret-value-1234" };
    const refused = await cli(box, ["create", "--spec", spec, "--state-dir", box.stateDir, "--quiet"], secret);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("add --env AWS_SECRET_ACCESS_KEY");
    expect(`${refused.stdout}${refused.stderr}`).not.toContain(secret.AWS_SECRET_ACCESS_KEY);
    expect(box.stateFiles()).toEqual([]);
    expect(existsSync(box.store)).toBe(false);
    const validated = await cli(box, ["validate", "--spec", spec], secret);
    expect(validated.code).toBe(3);
    const passed = await cli(box, ["create", "--spec", spec, "--state-dir", box.stateDir, "--env", "AWS_SECRET_ACCESS_KEY", "--id", "env-ok", "--quiet"], secret);
    expect(passed.code, passed.stderr).toBe(0);
    expect((await cli(box, ["delete", "--id", "env-ok", "--state-dir", box.stateDir])).code).toBe(0);
  });

  it("with umask 000, nothing created is world-writable and the state file is 0600", async () => {
    using box = sandbox("rel-umask");
    const spec = writeSpec(box, smallSpec(join(box.root, "store", "stub.json")));
    const run = await new Promise<Run>((resolve) => {
      const script = `umask 000; exec "${process.execPath}" "${ORCHESTRATOR_BIN}" create --spec "${spec}" --id umask-1 --state-dir "${box.stateDir}" --quiet`;
      execFile("/bin/sh", ["-c", script], { cwd: box.root, env: { PATH: process.env.PATH ?? "", HOME: box.root, TESTENV_VM_SUBNET_DIR: join(box.root, "subnets") } }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : 1, stdout, stderr }),
      );
    });
    expect(run.code, run.stderr).toBe(0);
    const mode = (path: string): number => statSync(path).mode & 0o777;
    for (const dir of [join(box.root, ".forge/tmp"), join(box.root, ".forge/tmp/umask-1/providers"), join(box.root, "store"), join(box.stateDir, "state")]) {
      expect(mode(dir) & 0o002, `${dir} is world-writable (${mode(dir).toString(8)})`).toBe(0);
    }
    expect(mode(box.stateFile("umask-1"))).toBe(0o600);
    expect((await cli(box, ["delete", "--id", "umask-1", "--state-dir", box.stateDir])).code).toBe(0);
  });

  it("an MCP create runs only installed providers unless the server allows more", async () => {
    using box = sandbox("rel-engine");
    await using strict = await connectOrchestrator({ env: box.env });
    for (const engine of ["/bin/true", "/usr/bin/env", "../../bin/sh", "go://example.com/x/cmd/p"]) {
      const spec = smallSpec(box.store);
      (spec.providers as Json[])[0]!.engine = engine;
      const result = await strict.call("create", { testID: testID("eng"), stage: "e2e", tmpDir: box.tmpDir, spec });
      expect(result.isError, engine).toBe(true);
      expect(textOf(result)).toContain("providers[0].engine");
      expect(textOf(result)).toContain("TESTENV_VM_ENGINE_POLICY=any");
      const validation = await strict.call("config-validate", { spec });
      expect((validation.structuredContent as Json).errors).toEqual([expect.objectContaining({ field: "providers[0].engine" })]);
    }
    expect(box.stateFiles()).toEqual([]);

    await using open = await connectOrchestrator({ env: { ...box.env, TESTENV_VM_ENGINE_POLICY: "any" } });
    const spec = smallSpec(box.store);
    (spec.providers as Json[])[0]!.engine = "/bin/true";
    const result = await open.call("create", { testID: testID("eng"), stage: "e2e", tmpDir: box.tmpDir, spec });
    // Allowed to run: it fails only because /bin/true is no MCP server.
    expect(result.isError).toBe(true);
    expect(textOf(result)).not.toContain("TESTENV_VM_ENGINE_POLICY");
    expect(textOf(result)).toContain("failed to start provider");
  });

  it("config-validate reads spec files inside rootDir only, and names specName", async () => {
    using box = sandbox("rel-config");
    await using orchestrator = await connectOrchestrator({ env: box.env, cwd: box.root });
    const project = join(box.root, "project");
    mkdirSync(project);
    writeFileSync(join(box.root, "outside.yaml"), stringify(smallSpec(box.store)));
    for (const configPath of ["../../../../etc/passwd", "/etc/hostname", "../outside.yaml", join(box.root, "outside.yaml")]) {
      const result = await orchestrator.call("config-validate", { configPath, directoryParams: { rootDir: project } });
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as Json).errors).toEqual([expect.objectContaining({ field: "configPath" })]);
    }
    writeFileSync(join(box.root, "forge.yaml"), stringify({ testenv: [{ name: "a", engine: "testenv-vm", spec: smallSpec(box.store) }, { name: "b", engine: "testenv-vm", spec: smallSpec(box.store) }] }));
    const two = await orchestrator.call("config-validate", { configPath: "forge.yaml", directoryParams: { rootDir: box.root } });
    expect(JSON.stringify(two.structuredContent)).toContain("pick one with specName");
  });
});

describe("part 5 over MCP: raw JSON-RPC and echo amplification", () => {
  it("bad params get -32602, an object id and a batch get -32600, in reply to each", async () => {
    const child = spawn(process.execPath, [ORCHESTRATOR_BIN, "--mcp"], { env: { PATH: process.env.PATH ?? "", TESTENV_VM_LOG: "error" }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const lines = [
      { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: "bad" },
      { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: 5 } },
      { jsonrpc: "2.0", id: { a: 1 }, method: "tools/list" },
      [{ jsonrpc: "2.0", id: 5, method: "tools/list" }],
      { jsonrpc: "2.0", id: 6, method: "tools/list" },
    ];
    child.stdin.write(lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
    const deadline = Date.now() + 20_000;
    while (out.split("\n").filter((l) => l !== "").length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.stdin.end();
    const replies = out.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Json);
    const byId = (id: unknown) => replies.filter((r) => JSON.stringify(r.id) === JSON.stringify(id));
    expect(byId(2)[0]?.error?.code).toBe(-32602);
    expect(byId(3)[0]?.error?.code).toBe(-32602);
    expect(byId(null).map((r): unknown => r.error?.code)).toEqual([-32600, -32600]);
    expect(byId(6)[0]?.result?.tools).toBeDefined();
    await new Promise((r) => child.once("exit", r));
  });

  it("a 5 MB testID gets a small reply and the connection survives", async () => {
    await using orchestrator = await connectOrchestrator({ env: { TESTENV_VM_LOG: "error" } });
    const result = await orchestrator.call("status", { testID: "x".repeat(5 * 1024 * 1024) });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result).length).toBeLessThan(10_000);
    expect((await orchestrator.call("list", {})).isError).toBeFalsy();
  });
});

describe("part 3: a fuzzed sample through the real MCP server", () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  it(`40 mutated specs: each refused with the field named, no state file, no provider started (seed ${seed})`, async () => {
    process.stderr.write(`e2e fuzz seed ${seed} (replay: FUZZ_SEED=${seed})\n`);
    using box = sandbox("rel-fuzz");
    await using orchestrator = await connectOrchestrator({ env: box.env });
    const breakers: Array<[string, fc.Arbitrary<unknown>]> = [
      ["memory", fc.oneof(fc.constant(1e15), fc.integer({ max: 0 }), fc.string({ maxLength: 5 }))],
      ["vcpus", fc.oneof(fc.integer({ min: 1025 }), fc.double({ min: 0.1, max: 0.9 }))],
      ["network", fc.string({ minLength: 1, maxLength: 20 }).map((s) => `no-such-${s}`)],
      ["name", fc.oneof(fc.constant("../../etc"), fc.constant("</name><devices>"), fc.string({ minLength: 49, maxLength: 300 }))],
    ];
    const cases = fc.sample(fc.tuple(fc.constantFrom(...breakers), fc.nat()), { seed, numRuns: 40 });
    let n = 0;
    for (const [[field, arbitrary], pick] of cases) {
      n += 1;
      const store = join(box.root, `store-${n}.json`);
      const spec = smallSpec(store);
      const value = fc.sample(arbitrary, { seed: seed + pick, numRuns: 1 })[0];
      const vm = (spec.vms as Json[])[0]!;
      if (field === "name") vm.name = value;
      else vm.spec[field] = value;
      const id = `fuzz-${n}`;
      const result = await orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), spec });
      expect(result.isError, JSON.stringify(value)).toBe(true);
      expect(textOf(result)).toContain(field === "name" ? "vms[0].name" : field === "network" ? "vms[0].spec.network" : `vms[0].spec.${field}`);
      expect(existsSync(store), "a provider was started").toBe(false);
      expect(existsSync(box.stateFile(id)), "a state file was written").toBe(false);
    }
    expect(orchestrator.stderr()).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  });
});

describe("part 4: load on the stub", () => {
  it("50 environments from separate processes in batches of 10, then deleted at once: no collisions, nothing lost, no lock left", async () => {
    using box = sandbox("rel-load");
    const spec = writeSpec(box, smallSpec(box.store));
    const ids = Array.from({ length: 50 }, (_, i) => `load-${i}`);
    // Every tenth environment has its own state dir: the subnet registry is shared by all of them.
    const stateDirOf = (i: number): string => (i % 10 === 0 ? join(box.root, `own-${i}`) : box.stateDir);
    const artifacts: Json[] = [];
    for (let batch = 0; batch < ids.length; batch += 10) {
      const runs = await Promise.all(ids.slice(batch, batch + 10).map((id, j) => cli(box, ["create", "--spec", spec, "--id", id, "--state-dir", stateDirOf(batch + j), "--json", "--quiet"])));
      for (const run of runs) {
        expect(run.code, run.stderr).toBe(0);
        artifacts.push(JSON.parse(run.stdout) as Json);
      }
    }
    const subnets = artifacts.map((a) => String(a.metadata["testenv-vm.network.net1.ip"]));
    const vmIPs = artifacts.map((a) => String(a.metadata["testenv-vm.vm.vm1.ip"]));
    expect(new Set(subnets).size).toBe(50);
    expect(new Set(vmIPs).size).toBe(50);
    expect(new Set(artifacts.map((a) => String(a.env.TESTENV_VM_NAME_PREFIX))).size).toBe(50);
    expect(storedResources(box.store)).toHaveLength(150);

    const deletes = await Promise.all(ids.map((id, i) => cli(box, ["delete", "--id", id, "--state-dir", stateDirOf(i), "--json", "--quiet"])));
    for (const run of deletes) expect(JSON.parse(run.stdout)).toMatchObject({ deleted: 3, alreadyGone: false });
    expect(storedResources(box.store)).toEqual([]);
    expect(box.stateFiles()).toEqual([]);
    const leftovers = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : []);
    expect(leftovers(join(box.root, "subnets"))).toEqual([]);
    expect(leftovers(box.stateDir).filter((f) => f.endsWith(".lock"))).toEqual([]);
  }, 600_000);

  it("a create and a delete of the same testID racing never leave a half-done environment", async () => {
    using box = sandbox("rel-race");
    const spec = writeSpec(box, smallSpec(box.store, { vms: [{ name: "vm1", spec: { memory: 512, vcpus: 1, network: "net1", disk: { size: "1G" } } }] }));
    mkdirSync(box.stateDir, { recursive: true });
    for (let round = 0; round < 3; round += 1) {
      const id = `race-${round}`;
      const [created, deleted] = await Promise.all([
        cli(box, ["create", "--spec", spec, "--id", id, "--state-dir", box.stateDir, "--json", "--quiet"]),
        new Promise<Run>((resolve) => setTimeout(() => void cli(box, ["delete", "--id", id, "--state-dir", box.stateDir, "--json", "--quiet"]).then(resolve), 150 * round)),
      ]);
      expect([0, 5]).toContain(created.code);
      expect([0, 5]).toContain(deleted.code);
      const stored = storedResources(box.store);
      const state = existsSync(box.stateFile(id)) ? box.readState(id) : undefined;
      // Either the environment exists whole (ready, its 3 resources stored) or it is gone with nothing left.
      if (state === undefined) expect(stored).toEqual([]);
      else {
        expect(state.status).toBe("ready");
        expect(stored).toHaveLength(3);
      }
      expect((await cli(box, ["delete", "--id", id, "--state-dir", box.stateDir])).code).toBe(0);
      expect(storedResources(box.store)).toEqual([]);
    }
  }, 300_000);
});
