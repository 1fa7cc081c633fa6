import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { configJsonSchema } from "../../../api/config-schema.js";
import { BUNDLED_PROVIDER_CONFIGS } from "../../../api/provider-configs.js";
import { validateSpec } from "../../../src/orchestrator/validate.js";
import { createdPathIssues, createdPaths } from "../../../src/spec/config-paths.js";
import { bundledConfig } from "../../../src/spec/provider-configs.js";

// A config schema travels as JSON Schema (`--config-schema`): what it accepts and refuses, and the path fields it
// marks, must survive the trip; marked paths are checked on disk without making anything.

const scratch = mkdtempSync(join(tmpdir(), "testenv-config-schema-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const aFile = join(scratch, "a-file");
writeFileSync(aFile, "");

/** Configs per bundled provider, good and bad, that the schema and its JSON Schema round trip must judge alike. */
const SAMPLES: Record<string, unknown[]> = {
  "testenv-vm-provider-stub": [
    {},
    { store: "/x/store.json", faults: [{ tool: "vm_create", times: 2 }], delayMs: { vm_create: 5 }, exitOn: { tool: "key_get" } },
    { store: "" },
    { delayMs: -5 },
    { faults: [{ tool: "no_such_tool" }] },
    { sshEndpoint: { host: "h", port: 70_000 } },
    { bogus: true },
  ],
  "testenv-vm-provider-libvirt": [
    {},
    { uri: "qemu:///system", accelerator: "tcg", ssh: { key: "/k" }, bridgePrefix: "tv" },
    { uri: 5 },
    { accelerator: "fast" },
    { bridgePrefix: "Bad_Prefix" },
    { hosts: "one" },
    { bogus: true },
  ],
  "testenv-vm-provider-podman": [
    {},
    { root: "/r", baseImage: { suite: "trixie" }, ulimits: ["nofile=10:20"] },
    { baseImage: { suite: "Bookworm!" } },
    { baseImage: { mirror: "not a url" } },
    { ulimits: ["nofile"] },
    { cgroupManager: "none" },
    { bogus: true },
  ],
};

const verdict = (schema: z.ZodType, config: unknown): string[] | "ok" => {
  const result = schema.safeParse(config);
  return result.success ? "ok" : result.error.issues.map((issue) => `${issue.code}@${issue.path.join(".")}`).sort();
};

describe("bundled config schemas as JSON Schema", () => {
  it.each(Object.keys(BUNDLED_PROVIDER_CONFIGS))("%s: zod → JSON Schema → zod judges every sample as the original does", (engine) => {
    const original = BUNDLED_PROVIDER_CONFIGS[engine]!;
    // Through text, as it arrives from a provider's stdout.
    const published = JSON.parse(JSON.stringify(configJsonSchema(original))) as Record<string, unknown>;
    const back = z.fromJSONSchema(published, { registry: z.registry() });
    const samples = SAMPLES[engine]!;
    expect(samples.filter((config) => original.safeParse(config).success).length).toBeGreaterThanOrEqual(2);
    for (const config of samples) expect(verdict(back, config), JSON.stringify(config)).toEqual(verdict(original, config));
  });

  it("marks the fields that name a path the provider creates, and only those", () => {
    const marked = (engine: string, config: Record<string, unknown>): string[] =>
      createdPaths(bundledConfig(engine)!.jsonSchema, config).map(({ path }) => path.join("."));
    expect(marked("testenv-vm-provider-stub", { store: "/s", faults: [] })).toEqual(["store"]);
    expect(marked("testenv-vm-provider-libvirt", { dataDir: "/d", imageCacheDir: "/remote", ssh: { key: "/k", knownHosts: "/h" } })).toEqual(["dataDir"]);
    const podman = { podman: "/usr/bin/podman", runtime: "crun", root: "/r", storageRoot: "/s", runRoot: "/run/x", networkConfigDir: "/n" };
    expect(marked("testenv-vm-provider-podman", podman).sort()).toEqual(["networkConfigDir", "root", "runRoot", "storageRoot"]);
  });
});

describe("marked paths in any JSON Schema", () => {
  const creates = { type: "string", "x-testenv-path": "creates" };

  it("are found through $ref, arrays, unions and free maps", () => {
    const schema = {
      type: "object",
      $defs: { place: { type: "object", properties: { dir: creates } } },
      properties: {
        home: { $ref: "#/$defs/place" },
        caches: { type: "array", items: creates },
        either: { anyOf: [{ type: "number" }, creates] },
        byName: { type: "object", additionalProperties: { $ref: "#/$defs/place" } },
        label: { type: "string" },
      },
    };
    const config = { home: { dir: "/h" }, caches: ["/c0", "/c1"], either: "/e", byName: { a: { dir: "/a" } }, label: "/not-a-path" };
    expect(createdPaths(schema, config).map(({ path, value }) => `${path.join(".")}=${value}`)).toEqual([
      "home.dir=/h",
      "caches.0=/c0",
      "caches.1=/c1",
      "either=/e",
      "byName.a.dir=/a",
    ]);
  });

  it("stop at a $ref loop", () => {
    expect(createdPaths({ $ref: "#" }, { x: 1 })).toEqual([]);
  });

  it("are refused when an existing ancestor is a file, named by field, with the fix", () => {
    const schema = { type: "object", properties: { work: creates } };
    expect(createdPathIssues(schema, { work: join(aFile, "sub", "dir") }, scratch, ["providers", 0, "spec"])).toEqual([
      {
        field: "providers[0].spec.work",
        message: `work cannot be created: ${aFile} (on the way to ${join(aFile, "sub", "dir")}) is a file, not a directory; point work at a path under a directory, or move that file away`,
      },
    ]);
    // Relative to the provider's working directory, as the provider resolves it.
    expect(createdPathIssues(schema, { work: "a-file/x" }, scratch, [])).toEqual([expect.objectContaining({ field: "work" })]);
  });

  it("are left alone when they can be made, when the path itself exists, or when a template renders them later", () => {
    const schema = { type: "object", properties: { work: creates } };
    mkdirSync(join(scratch, "dir"), { recursive: true });
    for (const work of [join(scratch, "new", "deeper"), join(scratch, "dir"), aFile, "{{ .Env.HOME }}/x", "relative/new"]) {
      expect(createdPathIssues(schema, { work }, scratch, []), work).toEqual([]);
    }
  });
});

describe("validate checks the paths in bundled providers' configs", () => {
  const spec = (store: unknown) => ({ providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store } }], keys: [{ name: "k", spec: { type: "ed25519" } }] });

  it("refuses a stub store under a regular file, where create would fail", () => {
    const output = validateSpec(spec(join(aFile, "store.json")), { rootDir: scratch });
    expect(output.valid).toBe(false);
    expect(output.errors).toEqual([{ field: "providers[0].spec.store", message: expect.stringContaining(`${aFile} (on the way to`) as string }]);
  });

  it("checks nothing on disk without a rootDir, and a store that does not parse only against its schema", () => {
    expect(validateSpec(spec(join(aFile, "store.json")))).toEqual({ valid: true });
    expect(validateSpec(spec(5), { rootDir: scratch }).errors).toEqual([expect.objectContaining({ field: "providers[0].spec.store", message: "expected a string, got the number 5" })]);
    expect(validateSpec(spec(join(scratch, "stores", "s.json")), { rootDir: scratch })).toEqual({ valid: true });
  });
});
