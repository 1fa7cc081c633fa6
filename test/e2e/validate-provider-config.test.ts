import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli } from "../helpers/cli.js";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// A bundled provider's config and an engine that does not resolve are refused by validate (with and without the
// plan) and by create before anything starts: the same phase-1 check, through the CLI and the MCP tools.

const network = { name: "lan", kind: "bridge", spec: { cidr: "10.71.0.0/24" } };

function badLibvirt(): Json {
  return { providers: [{ name: "lv", engine: "testenv-vm-provider-libvirt", spec: { uri: 5, bogus: true } }], networks: [network] };
}

function badStub(box: Sandbox): Json {
  return { providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store: box.store, delayMs: -5 } }], networks: [network] };
}

function write(box: Sandbox, spec: Json): string {
  const path = join(box.root, "spec.yaml");
  writeFileSync(path, stringify(spec));
  return path;
}

describe("validate checks what create would refuse, starting nothing", () => {
  it("names each bad field of a bundled provider's config, with its line, with and without the plan", async () => {
    using box = sandbox("validate-provider-config");
    const path = write(box, badLibvirt());
    for (const planFlag of [["--no-plan"], []]) {
      const run = await runCli(box.root, ["validate", "--spec", path, "--json", ...planFlag], box.env);
      expect(run.code, run.stderr).toBe(3);
      const output = JSON.parse(run.stdout) as Json;
      expect(output.valid).toBe(false);
      expect((output.errors as Json[]).map((e) => [e.field, e.line] as unknown[])).toEqual([
        ["providers[0].spec.uri", 5],
        ["providers[0].spec.bogus", 6],
      ]);
      expect((output.errors as Json[])[0]!.message).toBe("expected a string, got the number 5");
    }
    const text = await runCli(box.root, ["validate", "--spec", path, "--no-plan"], box.env);
    expect(text.stderr).toContain("providers[0].spec.bogus (line 6:7): unknown field `bogus`; allowed: uri, dataDir");
  });

  it("refuses a create with a bad stub config before the provider starts or a state file exists", async () => {
    using box = sandbox("create-provider-config");
    const id = testID("cfg");
    const run = await runCli(box.root, ["create", "--spec", write(box, badStub(box)), "--id", id, "--tmp-dir", box.tmpDir], box.env);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain("providers[0].spec.delayMs");
    expect(existsSync(box.store), "the stub was started").toBe(false);
    expect(box.stateFiles()).toEqual([]);
  });

  it("refuses an engine path that does not exist and a command on no PATH", async () => {
    using box = sandbox("validate-engine");
    for (const engine of ["./providers/missing-provider", "testenv-vm-provider-nowhere"]) {
      const path = write(box, { providers: [{ name: "p", engine }], networks: [network] });
      const run = await runCli(box.root, ["validate", "--spec", path, "--no-plan", "--json"], box.env);
      expect(run.code, run.stderr).toBe(3);
      expect((JSON.parse(run.stdout) as Json).errors).toEqual([
        expect.objectContaining({ field: "providers[0].engine", message: expect.stringMatching(/not found/) as string }),
      ]);
    }
  });

  it("config-validate and create over MCP refuse the same configs", async () => {
    using box = sandbox("mcp-provider-config");
    await using orchestrator = await connectOrchestrator({ env: box.env });
    const validation = await orchestrator.call("config-validate", { spec: badLibvirt() });
    expect(validation.isError).toBeFalsy();
    expect(textOf(validation)).toBe("Configuration validation failed with 2 error(s)");
    expect(((validation.structuredContent as Json).errors as Json[]).map((e) => String(e.field))).toEqual(["providers[0].spec.uri", "providers[0].spec.bogus"]);

    const nowhere = await orchestrator.call("config-validate", { spec: { providers: [{ name: "p", engine: "testenv-vm-provider-nowhere" }], networks: [network] } });
    expect((nowhere.structuredContent as Json).errors).toEqual([
      expect.objectContaining({ field: "providers[0].engine", message: expect.stringContaining("not found in PATH") as string }),
    ]);

    const id = testID("cfg");
    const created = await orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec: badStub(box) });
    expect(created.isError).toBe(true);
    expect(textOf(created)).toContain("providers[0].spec.delayMs");
    expect(existsSync(box.store)).toBe(false);
    expect(box.stateFiles()).toEqual([]);
  });
});
