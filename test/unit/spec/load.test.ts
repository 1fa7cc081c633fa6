import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestenvError } from "../../../src/errors.js";
import { loadSpecFile, parseSpec, parseSpecText } from "../../../src/spec/load.js";
import { validateEarly } from "../../../src/spec/validate.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/specs");
const SCENARIOS = ["basic_vm", "multi_network", "dependency_chain", "templated_attachto", "libvirt_vm", "design-example"];

const STUB_SPEC = `
      providers:
        - name: stub
          engine: testenv-vm-provider-stub
      keys:
        - name: k
          spec: { type: ed25519 }`;

function catchError(fn: () => unknown): TestenvError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TestenvError) return error;
    throw error;
  }
  throw new Error("expected a TestenvError");
}

async function catchAsync(promise: Promise<unknown>): Promise<TestenvError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TestenvError) return error;
    throw error;
  }
  throw new Error("expected a TestenvError");
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "testenv-vm-spec-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeSpec(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe("the original's scenarios", () => {
  it.each(SCENARIOS)("%s loads and passes Phase 1 unchanged", async (scenario) => {
    const loaded = await loadSpecFile(join(FIXTURES, `${scenario}.yaml`));
    expect(loaded.spec.providers?.length).toBe(1);
    expect(validateEarly(loaded.spec, loaded.locate)).toEqual([]);
  });

  it("libvirt_vm has no boot block and keeps its Env template", async () => {
    const { spec } = await loadSpecFile(join(FIXTURES, "libvirt_vm.yaml"));
    expect(spec.vms?.[0]?.spec.boot).toBeUndefined();
    expect(spec.vms?.[0]?.spec.disk?.baseImage).toBe("{{ .Env.TESTENV_VM_BASE_IMAGE }}");
  });
});

describe("loadSpecFile", () => {
  it("takes the testenv-vm entry of a forge.yaml and ignores other engines", async () => {
    const path = await writeSpec(
      "forge.yaml",
      `name: demo
build:
  - name: app
    engine: go://go-build
testenv:
  - name: other
    engine: go://kindenv
    spec: { clusters: 1 }
  - name: vms
    engine: testenv-vm
    spec:${STUB_SPEC.replace(/\n {6}/g, "\n      ")}
`,
    );
    const loaded = await loadSpecFile(path);
    expect(loaded.spec.keys?.[0]?.name).toBe("k");
    expect(loaded.sourcePath).toBe(path);
    expect(loaded.locate(["keys", 0, "name"])).toEqual({ line: 16, col: 11 });
  });

  it("with several testenv-vm entries, needs --name and picks by it", async () => {
    const entry = (name: string, key: string) => `
  - name: ${name}
    engine: go://github.com/alexandremahdhaoui/testenv-vm/cmd/testenv-vm
    spec:
      providers: [{ name: stub, engine: testenv-vm-provider-stub }]
      keys: [{ name: ${key}, spec: { type: rsa } }]`;
    const path = await writeSpec("two.yaml", `testenv:${entry("first", "a")}${entry("second", "b")}\n`);
    const error = await catchAsync(loadSpecFile(path));
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.message).toContain("several testenv-vm entries (first, second); pick one with --name");
    expect((await loadSpecFile(path, { name: "second" })).spec.keys?.[0]?.name).toBe("b");
    const missing = await catchAsync(loadSpecFile(path, { name: "third" }));
    expect(missing.code).toBe("SPEC_NOT_FOUND");
    expect(missing.message).toContain('no testenv-vm entry named "third"; entries: first, second');
  });

  it("reads Forge's engines layout with the alias as the name", async () => {
    const path = await writeSpec(
      "engines.yaml",
      `engines:
  - alias: vm-env
    type: testenv
    testenv:
      - engine: go://github.com/alexandremahdhaoui/testenv-vm/cmd/testenv-vm
        deferTemplates: true
        spec:
          providers:
            - name: libvirt
              engine: go://github.com/alexandremahdhaoui/testenv-vm/cmd/providers/testenv-vm-provider-libvirt
          vms:
            - name: v
              spec: { memory: 512, vcpus: 1, disk: { size: 5G } }
`,
    );
    const loaded = await loadSpecFile(path, { name: "vm-env" });
    expect(loaded.spec.vms?.[0]?.spec.memory).toBe(512);
    expect(loaded.locate(["vms", 0, "spec", "memory"])).toEqual({ line: 13, col: 23 });
  });

  it("reports a missing file as SPEC_NOT_FOUND naming the path", async () => {
    const path = join(dir, "nope", "forge.yaml");
    const error = await catchAsync(loadSpecFile(path));
    expect(error.code).toBe("SPEC_NOT_FOUND");
    expect(error.message).toContain(path);
  });

  it("says so when a forge.yaml has no testenv-vm entry", async () => {
    const path = await writeSpec("plain.yaml", "name: x\ntestenv:\n  - name: k\n    engine: go://kindenv\n");
    const error = await catchAsync(loadSpecFile(path));
    expect(error.code).toBe("SPEC_NOT_FOUND");
    expect(error.message).toContain("no testenv-vm spec");
  });
});

describe("parseSpecText", () => {
  it("reports YAML syntax errors with line:col", () => {
    const error = catchError(() => parseSpecText("providers:\n  - name: stub\n    engine: [unclosed\n", { sourcePath: "forge.yaml" }));
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.issues[0]?.line).toBeGreaterThanOrEqual(3);
    expect(error.message).toMatch(/forge\.yaml \(line \d+:\d+\)/);
  });

  it("reports duplicate keys as YAML errors", () => {
    const error = catchError(() => parseSpecText("providers: []\nproviders: []\n"));
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.issues[0]).toMatchObject({ line: 2, col: 1 });
  });

  it("reports an unknown key with did-you-mean and its position", () => {
    const text = `providers:
  - name: stub
    engine: testenv-vm-provider-stub
vms:
  - name: v
    spec:
      memroy: 512
      vcpus: 1
      disk: { size: 5G }
`;
    const error = catchError(() => parseSpecText(text));
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.issues).toContainEqual({
      field: "vms[0].spec.memroy",
      message: "unknown field `memroy`; did you mean `memory`?",
      line: 7,
      col: 7,
    });
    expect(error.issues).toContainEqual(expect.objectContaining({ field: "vms[0].spec.memory", message: "is required (a number)", line: 6, col: 5 }));
    expect(error.message.split("\n")[0]).toBe("spec is invalid (2 problems):");
    expect(error.message).toContain("vms[0].spec.memroy (line 7:7): unknown field `memroy`; did you mean `memory`?");
  });
});

describe("parseSpec", () => {
  it("reports every problem, with expected and given types", () => {
    const error = catchError(() =>
      parseSpec({
        providers: [{ name: "p", engine: 3 }],
        keys: [{ name: "k", spec: { type: "rsa", bits: "4096" } }],
        vms: [{ name: "v", spec: { memory: -1, vcpus: 1.5, disk: { size: "1G" }, boot: { order: ["floppy"] } } }],
        netwroks: [],
      }),
    );
    const byField = Object.fromEntries(error.issues.map((issue) => [issue.field, issue.message]));
    expect(byField).toMatchObject({
      "providers[0].engine": "expected a string, got the number 3",
      "keys[0].spec.bits": 'expected a number, got the string "4096"',
      "vms[0].spec.memory": "must be greater than 0; got the number -1",
      "vms[0].spec.vcpus": "expected an integer, got the number 1.5",
      "vms[0].spec.boot.order[0]": 'must be one of: hd, network, cdrom; got the string "floppy"',
      netwroks: "unknown field `netwroks`; did you mean `networks`?",
    });
    expect(error.message.split("\n")[0]).toBe(`spec is invalid (${error.issues.length} problems):`);
  });

  it("lists allowed keys when nothing is close", () => {
    const error = catchError(() => parseSpec({ providers: [{ name: "p", engine: "e", zzzzzz: 1 }] }));
    expect(error.issues[0]?.message).toBe("unknown field `zzzzzz`; allowed: name, engine, default, spec");
  });

  it("normalizes key types to lower case", () => {
    const spec = parseSpec({ providers: [{ name: "p", engine: "e" }], keys: [{ name: "k", spec: { type: "RSA" } }] });
    expect(spec.keys?.[0]?.spec.type).toBe("rsa");
  });

  it("accepts free-form providerSpec maps", () => {
    const spec = parseSpec({ providers: [{ name: "p", engine: "e" }], keys: [{ name: "k", spec: { type: "rsa" }, providerSpec: { anything: { goes: 1 } } }] });
    expect(spec.keys?.[0]?.providerSpec).toEqual({ anything: { goes: 1 } });
  });

  it("treats null optional fields as absent (an empty `keys:` in YAML) but keeps nullable ones", () => {
    const { spec } = parseSpecText("providers:\n  - { name: p, engine: e, spec: }\nkeys:\nvms:\nnetworks:\n  - name: n\n    kind: bridge\n    spec: { dhcp: null, mtu: }\n");
    expect(spec.keys).toBeUndefined();
    expect(spec.providers?.[0]?.spec).toBeUndefined();
    expect(spec.networks?.[0]?.spec).toEqual({ dhcp: null });
    expect(() => parseSpec({ providers: null })).toThrow(/providers: expected a list, got null/);
  });

  it("rejects a document that is not a mapping", () => {
    const error = catchError(() => parseSpec(null));
    expect(error.issues).toEqual([{ field: "spec", message: "expected a mapping, got null" }]);
  });
});

describe("fixtures are plain YAML", () => {
  it("design-example has the documented topology", async () => {
    const text = await readFile(join(FIXTURES, "design-example.yaml"), "utf8");
    const { spec } = parseSpecText(text);
    expect(spec.networks?.map((network) => [network.name, network.kind, network.spec.attachTo])).toEqual([
      ["bridge", "bridge", undefined],
      ["libvirt-net", "libvirt", "bridge"],
      ["dnsmasq", "dnsmasq", "bridge"],
    ]);
  });
});
