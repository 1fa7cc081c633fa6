import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ORCHESTRATOR_BIN, connectOrchestrator, textOf } from "../helpers/mcp.js";
import { designExample } from "../helpers/specs.js";
import { storedResources } from "../helpers/stub-store.js";
import { processesMentioning, sandbox, type Json, type Sandbox } from "./env.js";

const GOLDEN = resolve("test/fixtures/plans/design-example.json");
/** Outside every sandbox, never created: it makes request paths (key outputDir) the same on every run and host. */
const FIXED_TMP = "/nonexistent/testenv-vm-plan-golden/tmp";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(box: Sandbox, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [ORCHESTRATOR_BIN, ...args],
      { cwd: box.root, env: { PATH: process.env.PATH ?? "", HOME: box.root, TESTENV_VM_LOG: "warn", ...box.env, ...env }, timeout: 110_000 },
      (error, stdout, stderr) => done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr }),
    );
  });
}

function writeSpec(box: Sandbox, spec: Json): void {
  writeFileSync(join(box.root, "forge.yaml"), stringify(spec));
}

/** Every file and directory under `root` with its size and mtime: what a side effect would change. */
function tree(root: string): string[] {
  const entries: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const info = statSync(path);
      entries.push(`${relative(root, path)} ${info.isDirectory() ? "dir" : `${info.size} ${info.mtimeMs}`}`);
      if (info.isDirectory()) walk(path);
    }
  };
  walk(root);
  return entries;
}

const allResources = (plan: Json): Json[] => (plan.phases as Json[]).flatMap((phase) => phase.resources as Json[]);

describe("testenv-vm plan", () => {
  it("has no side effects: no file under the sandbox (state, tmp, store, images), no process left, no command run by a provider", async () => {
    using box = sandbox("plan-clean");
    writeSpec(box, designExample(box.store, { writeKeyFiles: true }));
    const before = tree(box.root);
    const planned = await cli(box, ["plan", "--tmp-dir", "tmp"], { TESTENV_VM_LOG: "debug" });
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain("5 to create");
    // lib/run.ts refuses (and says so) any command a planning provider tries to start.
    expect(planned.stderr).not.toContain("exec refused");
    expect(tree(box.root)).toEqual(before);
    expect(existsSync(box.store)).toBe(false);
    expect(processesMentioning(box.root)).toEqual([]);
  });

  it("is byte-identical from two fresh processes, in text and JSON, and matches the golden hashes", async () => {
    using box = sandbox("plan-golden");
    writeSpec(box, designExample(undefined));
    const args = ["plan", "--id", "test-golden-20260101-00000001", "--stage", "golden", "--tmp-dir", FIXED_TMP];
    const [first, second] = [await cli(box, [...args, "--json"]), await cli(box, [...args, "--json"])];
    expect(first.code, first.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    const [textA, textB] = [await cli(box, args), await cli(box, args)];
    expect(textB.stdout).toBe(textA.stdout);
    const plan = JSON.parse(first.stdout) as Json;
    const hashes = {
      specHash: plan.specHash as string,
      planHash: plan.planHash as string,
      requests: Object.fromEntries(allResources(plan).map((r) => [`${r.kind} ${r.name}`, r.requestHash as string])),
    };
    for (const hash of [hashes.specHash, hashes.planHash, ...Object.values(hashes.requests)]) expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    if (process.env.TESTENV_VM_UPDATE_GOLDEN === "1") writeFileSync(GOLDEN, `${JSON.stringify(hashes, null, 2)}\n`);
    // The plan hash covers the providers' versions: a release changes it (TESTENV_VM_UPDATE_GOLDEN=1 rewrites this file).
    expect(hashes).toEqual(JSON.parse(readFileSync(GOLDEN, "utf8")));
    expect(textA.stdout).toContain(`plan hash: ${hashes.planHash}`);
    expect(JSON.stringify(plan)).toContain("(known after create: key.vm-ssh.publicKey)");
  });

  it("create --plan creates exactly the plan; afterwards the plan shows every resource unchanged", async () => {
    using box = sandbox("plan-apply");
    writeSpec(box, designExample(box.store));
    const planned = await cli(box, ["plan", "--json"]);
    expect(planned.code, planned.stderr).toBe(0);
    writeFileSync(join(box.root, "plan.json"), planned.stdout);
    const plan = JSON.parse(planned.stdout) as Json;
    const created = await cli(box, ["create", "--plan", "plan.json", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    expect((JSON.parse(created.stdout) as Json).testID).toBe(plan.testID);
    const state = box.readState(plan.testID as string);
    for (const resource of allResources(plan).filter((r) => r.kind !== "vm")) {
      const name = String(resource.name);
      expect((state.resources as Record<string, Json>)[`${String(resource.kind)}s`]?.[name]?.request, name).toEqual(resource.request);
    }
    const again = JSON.parse((await cli(box, ["plan", "--json"])).stdout) as Json;
    expect(allResources(again).map((r) => String(r.action))).toEqual(allResources(plan).map(() => "unchanged"));
    expect((await cli(box, ["delete", "--id", plan.testID as string])).code).toBe(0);
  });

  it("refuses a stale plan: the spec edited, or a base image changed; nothing is created", async () => {
    using box = sandbox("plan-stale");
    const image = join(box.root, "base.qcow2");
    writeFileSync(image, "image v1");
    const spec = designExample(box.store) as Json;
    spec.vms[0].spec.disk.baseImage = image;
    writeSpec(box, spec);
    const planned = await cli(box, ["plan", "--json"]);
    expect(planned.code, planned.stderr).toBe(0);
    writeFileSync(join(box.root, "plan.json"), planned.stdout);
    const plan = JSON.parse(planned.stdout) as Json;
    expect(Object.keys(plan.inputs as Json)).toEqual([image]);

    writeFileSync(image, "image v2, longer");
    utimesSync(image, new Date(), new Date(Date.now() + 5_000));
    const imageChanged = await cli(box, ["create", "--plan", "plan.json"]);
    expect(imageChanged.code).toBe(3);
    expect(imageChanged.stderr).toContain("the plan is stale");
    expect(imageChanged.stderr).toContain(`the base image ${image} changed`);

    spec.vms[0].spec.memory = 2048;
    writeSpec(box, spec);
    const specChanged = await cli(box, ["create", "--plan", "plan.json"]);
    expect(specChanged.code).toBe(3);
    expect(specChanged.stderr).toContain("the spec changed");
    expect(box.stateFiles()).toEqual([]);
    // The create started its provider (which opened its store) to make the plan again, and created nothing.
    expect(storedResources(box.store)).toEqual([]);
  });

  it("is an MCP tool, and MCP create applies its plan", async () => {
    using box = sandbox("plan-mcp");
    await using server = await connectOrchestrator({ env: box.env });
    const args = { testID: "test-mcp-20260101-0000abcd", stage: "e2e", tmpDir: join(box.tmpDir, "x"), metadata: {}, spec: designExample(box.store) };
    const planned = await server.call("plan", args);
    expect(planned.isError, textOf(planned)).toBeFalsy();
    expect(textOf(planned)).toContain("5 to create");
    const created = await server.call("create", { ...args, plan: planned.structuredContent });
    expect(created.isError, textOf(created)).toBeFalsy();
    const stale = await server.call("create", { ...args, testID: "test-mcp-20260101-0000abce", plan: planned.structuredContent });
    expect(stale.isError).toBe(true);
    expect(textOf(stale)).toContain("the plan is stale");
    expect((await server.call("delete", { testID: args.testID })).isError).toBeFalsy();
  });
});
