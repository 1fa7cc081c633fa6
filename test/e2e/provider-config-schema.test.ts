import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { z } from "zod";
import { configJsonSchema } from "../../api/config-schema.js";
import { BUNDLED_PROVIDER_CONFIGS } from "../../api/provider-configs.js";
import { runCli } from "../helpers/cli.js";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// A provider this package does not ship publishes its config schema (`--config-schema`): validate, config-validate
// and create refuse a bad config of it before it starts, as they do for bundled providers; one that publishes none
// validates as before. Real processes: the built CLI and MCP server, and kit-built fixture providers on PATH.

const SCHEMA_FIXTURE = resolve("test/fixtures/providers/schema-provider.mjs");
const ORIGINAL_STYLE = resolve("test/fixtures/providers/original-style.mjs");
const PUBLISHING = "testenv-vm-provider-schema-fixture";

interface Providers {
  env: Record<string, string>;
  /** The argv of each start of the publishing fixture with --mcp (a --config-schema run records nothing). */
  starts(): string[][];
}

/** The fixtures on a PATH of this sandbox: the publishing kit provider, an original-style one, and an old binary. */
function providersOnPath(box: Sandbox): Providers {
  const bin = join(box.root, "bin");
  mkdirSync(bin);
  symlinkSync(SCHEMA_FIXTURE, join(bin, PUBLISHING));
  symlinkSync(ORIGINAL_STYLE, join(bin, "testenv-vm-provider-original-style"));
  // What the original contract's providers answer to any flag but --mcp.
  writeFileSync(join(bin, "testenv-vm-provider-old"), '#!/bin/sh\necho "This binary must be run with --mcp flag" >&2\nexit 1\n');
  chmodSync(join(bin, "testenv-vm-provider-old"), 0o755);
  const log = join(box.root, "fixture-starts");
  return {
    env: { ...box.env, PATH: `${bin}:${process.env.PATH ?? ""}`, TESTENV_VM_FIXTURE_STARTS: log },
    starts: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").map((line) => JSON.parse(line) as string[]) : []),
  };
}

function specOf(engine: string, config: Json): Json {
  return { providers: [{ name: "fx", engine, spec: config }], keys: [{ name: "k1", spec: { type: "ed25519" } }] };
}

function write(box: Sandbox, spec: Json, name = "spec.yaml"): string {
  const path = join(box.root, name);
  writeFileSync(path, stringify(spec));
  return path;
}

const errorsOf = (stdout: string): Json[] => (JSON.parse(stdout) as Json).errors as Json[];

describe("a provider that publishes its config schema", () => {
  it("has a bad field refused by validate, with its line, and by create before it starts or a state file exists", async () => {
    using box = sandbox("schema-validate");
    const providers = providersOnPath(box);
    const path = write(box, specOf(PUBLISHING, { region: "west", replicas: 0, bogus: true }));
    for (const planFlag of [["--no-plan"], []]) {
      const run = await runCli(box.root, ["validate", "--spec", path, "--json", ...planFlag], providers.env);
      expect(run.code, run.stderr).toBe(3);
      expect(errorsOf(run.stdout).map((e) => [e.field, e.line] as unknown[])).toEqual([
        ["providers[0].spec.region", 5],
        ["providers[0].spec.replicas", 6],
        ["providers[0].spec.bogus", 7],
      ]);
    }
    const text = await runCli(box.root, ["validate", "--spec", path, "--no-plan"], providers.env);
    expect(text.stderr).toContain('providers[0].spec.region (line 5:7): must be one of: north, south; got the string "west"');
    expect(text.stderr).toContain("providers[0].spec.bogus (line 7:7): unknown field `bogus`; allowed: region, replicas, workDir");

    const created = await runCli(box.root, ["create", "--spec", path, "--id", testID("cfg"), "--tmp-dir", box.tmpDir], providers.env);
    expect(created.code, created.stderr).toBe(3);
    expect(created.stderr).toContain("providers[0].spec.region");
    expect(box.stateFiles()).toEqual([]);
    expect(providers.starts(), "the provider was started").toEqual([]);
  });

  it("has a path it would create under a regular file refused, like the stub's store", async () => {
    using box = sandbox("schema-paths");
    const providers = providersOnPath(box);
    writeFileSync(join(box.root, "a-file"), "");
    const fixture = await runCli(box.root, ["validate", "--spec", write(box, specOf(PUBLISHING, { workDir: "a-file/work" })), "--json"], providers.env);
    expect(fixture.code, fixture.stderr).toBe(3);
    expect(errorsOf(fixture.stdout)).toEqual([
      expect.objectContaining({ field: "providers[0].spec.workDir", line: 5, message: expect.stringContaining(`${join(box.root, "a-file")} (on the way to`) as string }),
    ]);

    const store = join(box.root, "a-file", "store.json");
    const stubSpec = write(box, specOf("testenv-vm-provider-stub", { store }), "stub.yaml");
    const validated = await runCli(box.root, ["validate", "--spec", stubSpec, "--json"], providers.env);
    expect(validated.code, validated.stderr).toBe(3);
    expect(errorsOf(validated.stdout)).toEqual([
      expect.objectContaining({ field: "providers[0].spec.store", message: expect.stringContaining("is a file, not a directory; point store at a path under a directory") as string }),
    ]);
    const created = await runCli(box.root, ["create", "--spec", stubSpec, "--id", testID("cfg"), "--tmp-dir", box.tmpDir], providers.env);
    expect(created.code, created.stderr).toBe(3);
    expect(created.stderr).toContain("providers[0].spec.store");
    expect(created.stderr).not.toContain("rollback");
    expect(box.stateFiles()).toEqual([]);
  });

  it("with a good config validates, plans and creates as any provider does", async () => {
    using box = sandbox("schema-good");
    const providers = providersOnPath(box);
    const workDir = join(box.root, "work", "dir");
    const path = write(box, specOf(PUBLISHING, { region: "south", workDir }));
    const validated = await runCli(box.root, ["validate", "--spec", path], providers.env);
    expect(validated.code, validated.stderr).toBe(0);
    expect(validated.stdout).toContain("providers: fx (schema-fixture dev)");
    expect(existsSync(workDir), "validate made the provider's dir").toBe(false);
    const id = testID("cfg");
    const created = await runCli(box.root, ["create", "--spec", path, "--id", id, "--tmp-dir", box.tmpDir, "--quiet"], providers.env);
    expect(created.code, created.stderr).toBe(0);
    expect(existsSync(workDir)).toBe(true);
    expect(providers.starts().every((argv) => argv.includes("--mcp"))).toBe(true);
    expect((await runCli(box.root, ["delete", "--id", id], providers.env)).code).toBe(0);
  });

  it("is refused by config-validate and create over MCP alike", async () => {
    using box = sandbox("schema-mcp");
    const providers = providersOnPath(box);
    await using orchestrator = await connectOrchestrator({ env: providers.env });
    const bad = specOf(PUBLISHING, { region: "west" });
    const validation = await orchestrator.call("config-validate", { spec: bad });
    expect(validation.isError).toBeFalsy();
    expect(textOf(validation)).toBe("Configuration validation failed with 1 error(s)");
    expect((validation.structuredContent as Json).errors).toEqual([{ field: "providers[0].spec.region", message: 'must be one of: north, south; got the string "west"' }]);
    expect((await orchestrator.call("config-validate", { spec: specOf(PUBLISHING, { region: "north" }) })).structuredContent).toEqual({ valid: true });

    const id = testID("cfg");
    const created = await orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec: bad });
    expect(created.isError).toBe(true);
    expect(textOf(created)).toContain("providers[0].spec.region");
    expect(box.stateFiles()).toEqual([]);
    expect(providers.starts()).toEqual([]);
  });
});

describe("a provider that publishes no config schema", () => {
  it("validates as before: an original-style provider and a binary that only knows --mcp", async () => {
    using box = sandbox("schema-none");
    const providers = providersOnPath(box);
    for (const engine of ["testenv-vm-provider-original-style", "testenv-vm-provider-old"]) {
      const path = write(box, specOf(engine, { anything: [1, 2], goes: true }));
      const run = await runCli(box.root, ["validate", "--spec", path, "--no-plan", "--json"], { ...providers.env, TESTENV_VM_LOG: "debug" });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ valid: true });
      expect(run.stderr).toContain("publishes no config schema");
    }
    await using orchestrator = await connectOrchestrator({ env: providers.env });
    const validation = await orchestrator.call("config-validate", { spec: specOf("testenv-vm-provider-old", { anything: 1 }) });
    expect(validation.structuredContent).toEqual({ valid: true });
  });
});

describe("the bundled provider bins", () => {
  const BINS: Record<string, string> = {
    "testenv-vm-provider-stub": "dist/providers/stub/bin.js",
    "testenv-vm-provider-libvirt": "dist/providers/libvirt/bin.js",
    "testenv-vm-provider-podman": "dist/providers/podman/bin.js",
  };

  it.each(Object.keys(BINS))("%s --config-schema prints its config's JSON Schema, which round-trips, and touches nothing", async (engine) => {
    using box = sandbox("schema-bin");
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((done) => {
      execFile(process.execPath, [resolve(BINS[engine]!), "--config-schema"], { cwd: box.root, env: { PATH: process.env.PATH ?? "", HOME: box.root }, timeout: 30_000 }, (error, out) =>
        done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout: out }),
      );
    });
    expect(code).toBe(0);
    expect(stdout.trimEnd().split("\n")).toHaveLength(1);
    const published = JSON.parse(stdout) as Record<string, unknown>;
    const schema = BUNDLED_PROVIDER_CONFIGS[engine]!;
    expect(published).toEqual(configJsonSchema(schema));
    const back = z.fromJSONSchema(published, { registry: z.registry() });
    expect(back.safeParse({}).success).toBe(true);
    expect(back.safeParse({ bogus: 1 }).error?.issues).toEqual([expect.objectContaining({ code: "unrecognized_keys", keys: ["bogus"] })]);
    expect(readdirSync(box.root)).toEqual([]);
  });
});
