import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli, type CliRun } from "../helpers/cli.js";
import { ORCHESTRATOR_BIN } from "../helpers/mcp.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";
import { designExample } from "../helpers/specs.js";

type Run = CliRun;

function cli(box: Sandbox, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runCli(box.root, args, env);
}

/** A forge.yaml with the example as its testenv-vm entry, like a project would have. */
function writeForgeYaml(box: Sandbox, spec: Json, file = "forge.yaml"): string {
  const path = join(box.root, file);
  writeFileSync(path, stringify({ name: "demo", testenv: [{ name: "vms", engine: "testenv-vm", spec }] }));
  return path;
}

describe("testenv-vm CLI", () => {
  it("create, status, list and delete with --json and exit codes", async () => {
    using box = sandbox("cli");
    writeForgeYaml(box, designExample(box.store));
    const id = testID("cli");
    const stateDir = ["--state-dir", box.stateDir];

    const created = await cli(box, ["create", "--id", id, "--json", ...stateDir]);
    expect(created.code, created.stderr).toBe(0);
    const artifact = JSON.parse(created.stdout) as Json;
    expect(Object.keys(artifact).sort()).toEqual(["env", "files", "managedResources", "metadata", "testID"]);
    expect(artifact.testID).toBe(id);
    // Default tmp dir is ./.forge/tmp: the artifact dir is <tmp>/<testID>.
    expect(existsSync(join(box.root, ".forge/tmp", id))).toBe(true);
    // Progress went to stderr, one line per resource.
    expect(created.stderr).toContain("phase 1/3");
    expect(created.stderr).toMatch(/created vm test-vm/);

    const status = await cli(box, ["status", "--id", id, "--json", ...stateDir]);
    expect(status.code, status.stderr).toBe(0);
    const summary = JSON.parse(status.stdout) as Json;
    expect(summary).toMatchObject({ testID: id, status: "ready", stage: "cli" });
    expect(summary.resources).toHaveLength(5);

    const human = await cli(box, ["status", "--id", id, ...stateDir]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Environment ${id}: ready`);
    expect(human.stdout).toMatch(/vm\s+test-vm\s+\w+-test-vm\s+stub\s+ready/);

    const list = await cli(box, ["list", "--json", ...stateDir]);
    expect(list.code).toBe(0);
    const environments = (JSON.parse(list.stdout) as Json).environments as Json[];
    expect(environments.map((e) => String(e.testID))).toEqual([id]);

    const deleted = await cli(box, ["delete", "--id", id, "--json", ...stateDir]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ testID: id, deleted: 5, alreadyGone: false });
    expect(storedResources(box.store)).toEqual([]);

    const gone = await cli(box, ["status", "--id", id, ...stateDir]);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain(`environment ${id} not found`);
    const again = await cli(box, ["delete", "--id", id, ...stateDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already gone");
  });

  it("delete, status and list find an environment whose spec sets stateDir, from ./forge.yaml", async () => {
    using box = sandbox("cli-statedir");
    writeForgeYaml(box, { ...designExample(box.store), stateDir: "custom-state" });
    const id = testID("cli");
    const created = await cli(box, ["create", "--id", id, "--quiet"]);
    expect(created.code, created.stderr).toBe(0);
    expect(existsSync(join(box.root, "custom-state/state", `testenv-${id}.json`))).toBe(true);
    const status = await cli(box, ["status", "--id", id, "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const deleted = await cli(box, ["delete", "--id", id, "--json"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ deleted: 5, alreadyGone: false });
    expect(storedResources(box.store)).toEqual([]);
  });

  it("a failed create exits 1 and says what was rolled back", async () => {
    using box = sandbox("cli-fail");
    const spec = designExample(box.store, { faults: [{ tool: "vm_create", code: "TIMEOUT", message: "injected: no IP" }] });
    const path = writeForgeYaml(box, spec, "fail.yaml");
    const id = testID("cli");
    const run = await cli(box, ["create", "--spec", path, "--id", id, "--state-dir", box.stateDir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("testenv-vm create failed:");
    expect(run.stderr).toContain("TIMEOUT");
    expect(run.stderr).toContain("rollback");
    expect(storedResources(box.store)).toEqual([]);
    const json = await cli(box, ["create", "--spec", path, "--id", testID("cli"), "--state-dir", box.stateDir, "--json"]);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as Json).error.code).toBe("TIMEOUT");
  });

  it("validate prints every issue as field (line L:C): message and exits 3", async () => {
    using box = sandbox("cli-validate");
    const yaml = [
      "providers:",
      "  - name: stub",
      "    engine: testenv-vm-provider-stub",
      "keys:",
      "  - name: k1",
      "    spec:",
      "      type: dsa",
      "vms:",
      "  - name: vm1",
      "    spec:",
      "      memory: 512",
      "      vcpus: 1",
      "      network: nope",
      "      disk:",
      "        size: 10GB",
      "",
    ].join("\n");
    writeFileSync(join(box.root, "spec.yaml"), yaml);
    const run = await cli(box, ["validate", "--spec", "spec.yaml"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/keys\[0\]\.spec\.type \(line 7:\d+\): /);
    expect(run.stderr).toMatch(/vms\[0\]\.spec\.network \(line 13:\d+\): /);
    expect(run.stderr).toMatch(/vms\[0\]\.spec\.disk\.size \(line 15:\d+\): /);

    const json = await cli(box, ["validate", "--spec", "spec.yaml", "--json"]);
    expect(json.code).toBe(3);
    const output = JSON.parse(json.stdout) as Json;
    expect(output.valid).toBe(false);
    expect(output.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: "keys[0].spec.type", line: 7 })]));

    writeFileSync(join(box.root, "good.yaml"), stringify(designExample(box.store)));
    const good = await cli(box, ["validate", "--spec", "good.yaml"]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain("configuration is valid");
    expect(existsSync(box.store)).toBe(false);
  });

  const MALFORMED: Array<[string, string, RegExp]> = [
    ["unclosed flow sequence", "providers: [\n", /line \d+/],
    ["tab indentation", "providers:\n\t- name: stub\n", /line \d+/],
    ["duplicate key", "providers: []\nproviders: []\n", /line 2:1.*unique/],
    ["a scalar document", "just text\n", /spec/],
  ];
  it.each(MALFORMED)("malformed YAML (%s) exits 3 and creates nothing", async (_what, text, expected) => {
    using box = sandbox("cli-yaml");
    writeFileSync(join(box.root, "forge.yaml"), text);
    const id = testID("cli");
    const run = await cli(box, ["create", "--id", id, "--state-dir", box.stateDir]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(expected);
    expect(box.stateFiles()).toEqual([]);
    expect(existsSync(join(box.root, ".forge/tmp", id))).toBe(false);
  });

  const USAGE: Array<[string[], RegExp]> = [
    [["create", "--spce", "x.yaml"], /unknown option '--spce'.*did you mean '--spec'/],
    [["create", "--spec"], /option '--spec' needs a value/],
    [["status"], /needs the environment id: testenv-vm status --id <testID>/],
    [["delete", "--keep-on-failure", "--id", "x"], /option '--keep-on-failure' does not apply for 'delete'/],
    [["destroy"], /unknown command 'destroy'/],
    [["list", "extra"], /unexpected argument 'extra'/],
    [["create", "--json", "--json"], /given twice/],
  ];
  it.each(USAGE)("usage error %j exits 2 naming the flag and --help", async (args, expected) => {
    using box = sandbox("cli-usage");
    const run = await cli(box, args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(expected);
    expect(run.stderr).toMatch(/--help|--id/);
  });

  it("--version, --help and a missing spec file", async () => {
    using box = sandbox("cli-misc");
    const version = await cli(box, ["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^testenv-vm \d+\.\d+\.\d+/);
    const help = await cli(box, ["create", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--keep-on-failure");
    const missing = await cli(box, ["create", "--spec", "missing.yaml"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("does not exist");
  });

  it("--version, --help and usage errors load no engine, spec parser or npm package", async () => {
    // A resolve hook prints every module the process loads. The bins are bundled with the shared code split into
    // chunks, so what a command loads is measured in bytes: the quick answers must not pull in the chunks that
    // hold the engine, the spec parser and the npm packages, which `validate` (the control) needs.
    const dir = mkdtempSync(join(tmpdir(), "testenv-vm-cli-startup-"));
    try {
      const hooks = join(dir, "hooks.mjs");
      writeFileSync(hooks, 'export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write(`LOADED ${r.url}\\n`); return r; }\n');
      writeFileSync(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
      const loadedBytes = async (args: string[]): Promise<{ files: string[]; bytes: number }> => {
        const run = await new Promise<Run>((resolve) => {
          execFile(process.execPath, ["--import", join(dir, "register.mjs"), ORCHESTRATOR_BIN, ...args], { cwd: dir }, (error, stdout, stderr) =>
            resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
          );
        });
        const files = [...new Set(run.stderr.split("\n").filter((line) => line.startsWith("LOADED file:")).map((line) => fileURLToPath(line.slice("LOADED ".length))))];
        return { files, bytes: files.reduce((sum, file) => sum + statSync(file).size, 0) };
      };
      const control = await loadedBytes(["validate", "--spec", "missing.yaml"]);
      for (const args of [["--version"], ["create", "--help"], ["status"]]) {
        const quick = await loadedBytes(args);
        expect(quick.files.length, args.join(" ")).toBeGreaterThan(0);
        expect(quick.files.filter((file) => /node_modules|\/src\/(orchestrator|provider|state|image)\/|\/spec\/load\.js/.test(file)), args.join(" ")).toEqual([]);
        expect(quick.bytes, `${args.join(" ")} loads ${quick.bytes} bytes of code; validate loads ${control.bytes}`).toBeLessThan(control.bytes / 4);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
