import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CREATES_PATH, configJsonSchema } from "../../../api/config-schema.js";
import type { Logger } from "../../../lib/log.js";
import { validateSpecWithProviders } from "../../../src/orchestrator/validate.js";
import { publishedConfigSchema, type ConfigSchemaLookup } from "../../../src/provider/config-schema.js";

// A provider this package does not ship is asked for its config schema by running it with --config-schema: real
// executables here (node scripts), each telling on itself in files next to it, so the test sees what ran and how.

const scratch = mkdtempSync(join(tmpdir(), "testenv-published-schema-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const PUBLISHED = configJsonSchema(
  z.strictObject({
    region: z.enum(["north", "south"]).default("north"),
    workDir: z.string().min(1).meta(CREATES_PATH).optional(),
  }),
);

let counter = 0;

/** A fresh directory with an executable `name` in it, running `body` as node; every run appends a line to `runs`. */
function provider(name: string, body: string): { dir: string; path: string; runs: () => string[] } {
  counter += 1;
  const dir = join(scratch, `p${counter}`);
  mkdirSync(dir);
  const path = join(dir, name);
  const log = join(dir, "runs");
  writeFileSync(
    path,
    `#!${process.execPath}\nimport { appendFileSync } from "node:fs";\n` +
      `appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), env: Object.keys(process.env) }) + "\\n");\n${body}\n`,
  );
  chmodSync(path, 0o755);
  return { dir, path, runs: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []) };
}

const printsSchema = (schema: unknown = PUBLISHED) => `process.stdout.write(${JSON.stringify(JSON.stringify(schema))} + "\\n");`;

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log: Logger & { lines: string[] } = {
    lines,
    debug: (message) => void lines.push(message),
    info: (message) => void lines.push(message),
    warn: (message) => void lines.push(message),
    error: (message) => void lines.push(message),
    child: () => log,
    withFile: () => log,
  };
  return log;
}

function lookup(dir: string, log = recordingLog(), extra: Partial<ConfigSchemaLookup> = {}): ConfigSchemaLookup {
  return { cwd: scratch, env: { PATH: `${dir}:${process.env.PATH ?? ""}`, HOME: scratch, TESTENV_VM_STATE_DIR: "/secret", TESTENV_VM_PROVIDER_CONFIG: "{}" }, log, ...extra };
}

describe("publishedConfigSchema", () => {
  it("runs the executable with --config-schema only, in the create's directory, with a bare environment", async () => {
    const fixture = provider("testenv-vm-provider-pub", printsSchema());
    const published = await publishedConfigSchema("testenv-vm-provider-pub", lookup(fixture.dir));
    expect(published?.jsonSchema).toEqual(PUBLISHED);
    expect(published?.schema.safeParse({ region: "south" }).success).toBe(true);
    expect(published?.schema.safeParse({ region: "west" }).success).toBe(false);
    const [run] = fixture.runs().map((line) => JSON.parse(line) as { argv: string[]; cwd: string; env: string[] });
    expect(run?.argv).toEqual(["--config-schema"]);
    expect(run?.cwd).toBe(scratch);
    expect(run?.env).toContain("PATH");
    expect(run?.env.filter((name) => name.startsWith("TESTENV_VM_"))).toEqual([]);
  });

  it("asks an unchanged executable once per process, and again once it changes", async () => {
    const fixture = provider("testenv-vm-provider-cached", printsSchema());
    const options = lookup(fixture.dir);
    await Promise.all([publishedConfigSchema("testenv-vm-provider-cached", options), publishedConfigSchema(fixture.path, options)]);
    expect(await publishedConfigSchema("testenv-vm-provider-cached", options)).toBeDefined();
    expect(fixture.runs()).toHaveLength(1);
    appendFileSync(fixture.path, "// rebuilt\n");
    expect(await publishedConfigSchema("testenv-vm-provider-cached", options)).toBeDefined();
    expect(fixture.runs()).toHaveLength(2);
  });

  it("publishes no schema when the program does not know the flag, prints no JSON, or a schema zod cannot read", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["testenv-vm-provider-original", `process.stderr.write("This binary must be run with --mcp flag\\n"); process.exit(1);`, /exited with 1 \(it does not know --config-schema\)/],
      ["testenv-vm-provider-talks", `process.stdout.write("hello\\n");`, /printed no JSON/],
      ["testenv-vm-provider-list", `process.stdout.write("[1, 2]\\n");`, /not a schema object/],
      ["testenv-vm-provider-ifthen", printsSchema({ type: "object", if: { required: ["a"] }, then: { required: ["b"] } }), /zod cannot read its schema/],
      ["testenv-vm-provider-huge", `process.stdout.write("x".repeat(2 * 1024 * 1024));`, /publishes no config schema/],
      // An original-contract provider ignores its argv and reads MCP from stdin: a closed stdin ends it at once.
      ["testenv-vm-provider-stdin", `process.stdin.resume(); process.stdin.on("end", () => process.exit(0));`, /printed no JSON/],
    ];
    for (const [name, body, why] of cases) {
      const fixture = provider(name, body);
      const log = recordingLog();
      expect(await publishedConfigSchema(name, lookup(fixture.dir, log)), name).toBeUndefined();
      expect(log.lines.join("\n"), name).toMatch(why);
      expect(log.lines.join("\n"), name).toContain("its config is not checked");
    }
  });

  it("publishes no schema for a program that exits before reading its (closed) stdin", async () => {
    const dir = join(scratch, "sh");
    mkdirSync(dir);
    writeFileSync(join(dir, "testenv-vm-provider-sh"), '#!/bin/sh\necho "This binary must be run with --mcp flag" >&2\nexit 1\n');
    chmodSync(join(dir, "testenv-vm-provider-sh"), 0o755);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      // Once per attempt: a failed answer is cached like a published one, so each attempt is a changed program.
      appendFileSync(join(dir, "testenv-vm-provider-sh"), "#\n");
      expect(await publishedConfigSchema("testenv-vm-provider-sh", lookup(dir))).toBeUndefined();
    }
  });

  it("gives up on a program that does not answer within 5 s, and kills it", async () => {
    const fixture = provider("testenv-vm-provider-slow", `process.on("SIGTERM", () => {}); setTimeout(() => {}, 60_000);`);
    const log = recordingLog();
    const started = Date.now();
    expect(await publishedConfigSchema("testenv-vm-provider-slow", lookup(fixture.dir, log))).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(9_000);
    expect(log.lines.join("\n")).toContain("did not answer within 5 s");
  });

  it("never starts a bundled provider, a go:// engine, or an engine the policy refuses", async () => {
    const shadow = provider("testenv-vm-provider-stub", printsSchema());
    expect(await publishedConfigSchema("testenv-vm-provider-stub", lookup(shadow.dir))).toBeUndefined();
    expect(await publishedConfigSchema("go://example.com/provider@v1", lookup(shadow.dir))).toBeUndefined();
    const byPath = provider("provider", printsSchema());
    expect(await publishedConfigSchema(byPath.path, lookup(byPath.dir, recordingLog(), { policy: "installed" }))).toBeUndefined();
    expect([...shadow.runs(), ...byPath.runs()]).toEqual([]);
    expect(await publishedConfigSchema(byPath.path, lookup(byPath.dir, recordingLog(), { policy: "any" }))).toBeDefined();
  });
});

describe("validateSpecWithProviders", () => {
  const spec = (engine: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    providers: [{ name: "p", engine, spec: config }],
    keys: [{ name: "k", spec: { type: "ed25519" } }],
    ...extra,
  });

  it("refuses a published provider's bad fields and uncreatable paths, like a bundled one's", async () => {
    const fixture = provider("testenv-vm-provider-checked", printsSchema());
    writeFileSync(join(scratch, "plain-file"), "");
    const options = { rootDir: scratch, engineLookup: { cwd: scratch, env: lookup(fixture.dir).env }, log: recordingLog() };
    expect(await validateSpecWithProviders(spec("testenv-vm-provider-checked", { region: "west", bogus: 1 }), options)).toEqual({
      valid: false,
      errors: [
        { field: "providers[0].spec.region", message: 'must be one of: north, south; got the string "west"' },
        { field: "providers[0].spec.bogus", message: "unknown field `bogus`; allowed: region, workDir" },
      ],
    });
    const paths = await validateSpecWithProviders(spec("testenv-vm-provider-checked", { workDir: "plain-file/work" }), options);
    expect(paths.errors).toEqual([{ field: "providers[0].spec.workDir", message: expect.stringContaining("is a file, not a directory; point workDir at") as string }]);
    expect(await validateSpecWithProviders(spec("testenv-vm-provider-checked", { region: "south", workDir: "new/work" }), options)).toEqual({ valid: true });
  });

  it("starts nothing for a spec that is invalid otherwise: create would not run the provider either", async () => {
    const fixture = provider("testenv-vm-provider-unasked", printsSchema());
    const options = { rootDir: scratch, engineLookup: { cwd: scratch, env: lookup(fixture.dir).env }, log: recordingLog() };
    const output = await validateSpecWithProviders(spec("testenv-vm-provider-unasked", { bogus: 1 }, { vmz: [] }), options);
    expect(output.errors?.map((error) => error.field)).toEqual(["vmz"]);
    expect(fixture.runs()).toEqual([]);
  });
});
