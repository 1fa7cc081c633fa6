/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   the mutations poke at raw, untyped spec documents on purpose: that is what a user writes. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { directoryProblem, fileProblem } from "../../../lib/path-kind.js";
import { quoted, TestenvError, type Issue } from "../../../src/errors.js";
import { validateSpec } from "../../../src/orchestrator/validate.js";
import { enginePolicyFrom, enginePolicyProblem } from "../../../src/provider/engine-policy.js";
import { SPEC_LIMITS } from "../../../src/spec/limits.js";
import { parseSpec, parseSpecText } from "../../../src/spec/load.js";
import { emptyTemplateContext, renderString } from "../../../src/spec/template.js";
import { missingEnvIssues, validateEarly } from "../../../src/spec/validate.js";
import { screenLine } from "../../../src/mcp/request-guard.js";

// Issue 16, part 5: each defect the outside probe found, held by a test at the level it was fixed.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- raw specs, as written

const scratch = mkdtempSync(join(tmpdir(), "testenv-reliability-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function base(): Json {
  return {
    providers: [{ name: "stub", engine: "testenv-vm-provider-stub" }],
    networks: [{ name: "net", kind: "bridge", spec: { cidr: "192.168.100.1/24" } }],
    vms: [{ name: "vm", spec: { memory: 512, vcpus: 1, network: "net", disk: { size: "1G" } } }],
  };
}

/** The issues of a raw spec, from parsing and Phase 1 together. */
function issuesOf(raw: unknown): Issue[] {
  try {
    return validateEarly(parseSpec(raw));
  } catch (error) {
    if (error instanceof TestenvError) return error.issues;
    throw error;
  }
}

function yamlError(text: string): TestenvError {
  try {
    parseSpecText(text);
  } catch (error) {
    if (error instanceof TestenvError) return error;
    throw new Error(`not a TestenvError: ${String(error)}`);
  }
  throw new Error("the text parsed");
}

describe("refused, with the field named", () => {
  const cases: Array<[string, (s: Json) => void, string, RegExp]> = [
    ["memory of 10^15 MiB", (s) => (s.vms[0].spec.memory = 1e15), "vms[0].spec.memory", /more than the limit/],
    ["100000 vCPUs", (s) => (s.vms[0].spec.vcpus = 100_000), "vms[0].spec.vcpus", /more than the limit of 1024/],
    ["a disk of 10^23 TiB", (s) => (s.vms[0].spec.disk.size = "100000000000000000000000T"), "vms[0].spec.disk.size", /limit of 64T/],
    ["networks: [net, net]", (s) => (s.vms[0].spec.networks = ["net", "net"]), "vms[0].spec.networks[1]", /listed twice/],
    ["vm names a-b and a_b", (s) => s.vms.push({ ...structuredClone(s.vms[0]), name: "a-b" }, { ...structuredClone(s.vms[0]), name: "a_b" }), "vms[2].name", /TESTENV_VM_A_B_\*/],
    ["vm names vm1 and VM1", (s) => s.vms.push({ ...structuredClone(s.vms[0]), name: "vm1" }, { ...structuredClone(s.vms[0]), name: "VM1" }), "vms[2].name", /both export/],
    ["a templated stateDir", (s) => (s.stateDir = "{{ .Env.HOME }}/x"), "stateDir", /cannot use templates/],
    ["a templated artifactDir", (s) => (s.artifactDir = "{{ .Env.HOME }}"), "artifactDir", /cannot use templates/],
    ["a /31 network", (s) => (s.networks[0].spec.cidr = "192.168.100.0/31"), "networks[0].spec.cidr", /\/30 or larger/],
    ["a __proto__ key", (s) => (s.vms[0].spec = JSON.parse(`{"__proto__": {"memory": 1}, "memory": 512, "vcpus": 1, "disk": {"size": "1G"}}`) as Json), "vms[0].spec.__proto__", /__proto__ is not allowed/],
  ];
  it.each(cases)("%s", (_what, mutate, field, message) => {
    const spec = base();
    mutate(spec);
    const found = issuesOf(spec).find((issue) => issue.field === field);
    expect(found, JSON.stringify(issuesOf(spec))).toBeDefined();
    expect(found?.message).toMatch(message);
  });

  it("accepts the bounds themselves and ordinary names", () => {
    const spec = base();
    spec.vms[0].spec = { ...spec.vms[0].spec, memory: 16 * 1024 * 1024, vcpus: 1024, disk: { size: "64T" }, networks: ["net"] };
    spec.vms.push({ ...structuredClone(spec.vms[0]), name: "vm-2" });
    expect(issuesOf(spec)).toEqual([]);
  });
});

describe("YAML that used to be INTERNAL or a stack overflow is SPEC_INVALID", () => {
  it("an alias bomb", () => {
    const levels = ["a: &a [x,x,x,x,x,x,x,x,x]"];
    for (const [index, name] of ["b", "c", "d", "e", "f"].entries()) levels.push(`${name}: &${name} [${Array(9).fill(`*${"abcdef"[index]}`).join(",")}]`);
    const error = yamlError(`${levels.join("\n")}\nproviders: *f\n`);
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.message).toContain(`limit ${SPEC_LIMITS.maxAliases} aliases`);
  });

  it("an unresolved alias", () => {
    const error = yamlError("providers: *nope\n");
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.message).toContain("Unresolved alias");
  });

  it("100k-deep nesting", () => {
    const error = yamlError(`providers: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`);
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.message).toContain("nested too deeply");
    expect(error.message).not.toContain("call stack");
  });

  it("nesting the parser can read but deeper than the limit", () => {
    const error = yamlError(`providers: [{ name: s, engine: e, spec: ${"[".repeat(100)}${"]".repeat(100)} }]\n`);
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.issues[0]?.message).toContain(`more than ${SPEC_LIMITS.maxDepth} levels`);
  });

  it("a __proto__ key in YAML, with its line", () => {
    const error = yamlError("providers: [{ name: stub, engine: x, __proto__: { a: 1 } }]\n");
    expect(error.issues[0]).toMatchObject({ line: 1, message: expect.stringContaining("__proto__") as unknown });
  });

  it("a spec bigger than the limit", () => {
    expect(yamlError(`# ${"x".repeat(SPEC_LIMITS.maxSpecBytes)}\nproviders: []\n`).message).toContain(`the limit is ${SPEC_LIMITS.maxSpecBytes}`);
  });

  it("a string longer than the limit, and too many resources", () => {
    const long = base();
    long.vms[0].spec.cloudInit = { runcmd: ["x".repeat(SPEC_LIMITS.maxStringLength + 1)] };
    expect(issuesOf(long)[0]).toMatchObject({ field: "vms[0].spec.cloudInit.runcmd[0]" });
    const many = base();
    many.keys = Array.from({ length: SPEC_LIMITS.maxResources }, (_, i) => ({ name: `k${i}`, spec: { type: "ed25519" } }));
    expect(issuesOf(many)[0]?.message).toContain(`the limit is ${SPEC_LIMITS.maxResources}`);
  });
});

describe("templates read only the env that was passed", () => {
  it("{{ .Env.constructor }} is not set, never Object's constructor", () => {
    expect(() => renderString("{{ .Env.constructor }}", emptyTemplateContext({}), "x")).toThrow(/not set in the create input env/);
    expect(renderString("{{ .Env.HOME }}", emptyTemplateContext({ HOME: "/h" }), "x")).toBe("/h");
  });

  it("an unset .Env is found before anything is created", () => {
    const spec = parseSpec({ ...base(), keys: [{ name: "k", spec: { type: "ed25519", comment: "{{ .Env.AWS_SECRET_ACCESS_KEY }}" } }] });
    expect(missingEnvIssues(spec, {})).toEqual([{ field: "keys[0].spec.comment", message: expect.stringContaining("AWS_SECRET_ACCESS_KEY") as unknown }]);
    expect(missingEnvIssues(spec, { AWS_SECRET_ACCESS_KEY: "x" })).toEqual([]);
  });
});

describe("validate is as strong as create where it can be without side effects", () => {
  it("a stateDir that is a file, an unset env and a disallowed engine", () => {
    const file = join(scratch, "state-file");
    writeFileSync(file, "");
    const spec: Json = { ...base(), stateDir: file, keys: [{ name: "k", spec: { type: "ed25519", comment: "{{ .Env.X }}" } }] };
    spec.providers[0].engine = "/usr/bin/env";
    const output = validateSpec(spec, { rootDir: scratch, env: {}, enginePolicy: "installed" });
    expect(output.valid).toBe(false);
    expect((output.errors ?? []).map((e) => e.field).sort()).toEqual(["keys[0].spec.comment", "providers[0].engine", "stateDir"]);
  });
});

describe("echoed values are capped", () => {
  it("a 1 MB name is over the string limit, and a 200 kB one gives a short error", () => {
    const huge = base();
    huge.vms[0].name = "x".repeat(1_000_000);
    expect(JSON.stringify(issuesOf(huge)).length).toBeLessThan(1_000);
    const long = base();
    long.vms[0].name = "x".repeat(200_000);
    const text = JSON.stringify(issuesOf(long));
    expect(text.length).toBeLessThan(4_000);
    expect(text).toContain("(200000 characters)");
  });

  it("a reference to a missing name lists the defined ones cut short, even when one is 200 kB (fuzz seed 854144027)", () => {
    const spec = base();
    spec.keys = [{ name: "x".repeat(200_000), spec: { type: "ed25519" } }];
    spec.vms[0].spec.cloudInit = { users: [{ name: "u", sshAuthorizedKeys: ["{{ .Keys.k1.PublicKey }}"] }] };
    const text = JSON.stringify(validateSpec(spec).errors);
    expect(text.length).toBeLessThan(4_000);
    expect(text).toContain("which is not defined; keys: xxxxxxxx");
  });

  it("quoted() keeps short values whole", () => {
    expect(quoted("abc")).toBe('"abc"');
    expect(quoted("y".repeat(200))).toBe(`${JSON.stringify("y".repeat(80))}… (200 characters)`);
  });
});

describe("files in place of directories are named", () => {
  it("directoryProblem and fileProblem", () => {
    const file = join(scratch, "plain");
    writeFileSync(file, "");
    expect(directoryProblem(file)).toBe(`${file} is a file, not a directory`);
    expect(directoryProblem(join(file, "below", "deeper"))).toContain(`${file} (on the way to`);
    expect(directoryProblem(join(scratch, "new", "dir"))).toBeUndefined();
    expect(fileProblem(scratch)).toBe(`${scratch} is a directory, not a file`);
    expect(fileProblem(join(file, "x.json"))).toContain("is a file, not a directory");
    expect(fileProblem(file)).toBeUndefined();
  });
});

describe("engine policy", () => {
  it("installed: bundled and testenv-vm-provider-* names only", () => {
    for (const engine of ["testenv-vm-provider-stub", "testenv-vm-provider-libvirt", "testenv-vm-provider-podman"]) expect(enginePolicyProblem(engine, "installed")).toBeUndefined();
    for (const engine of ["/bin/true", "/usr/bin/env", "../../bin/sh", "./provider", "go://github.com/acme/p", "bash", "testenv-vm-provider-../x"]) {
      expect(enginePolicyProblem(engine, "installed"), engine).toContain("TESTENV_VM_ENGINE_POLICY=any");
    }
  });

  it("any allows paths; an unknown policy value is the strict one", () => {
    expect(enginePolicyProblem("/bin/true", "any")).toBeUndefined();
    expect(enginePolicyFrom({}, "installed")).toBe("installed");
    expect(enginePolicyFrom({ TESTENV_VM_ENGINE_POLICY: "any" }, "installed")).toBe("any");
    expect(enginePolicyFrom({ TESTENV_VM_ENGINE_POLICY: "anything" }, "any")).toBe("installed");
  });
});

describe("raw JSON-RPC lines", () => {
  const reply = (line: string) => ("reply" in screenLine(line) ? (screenLine(line) as { reply?: Json }).reply : undefined);
  it("answers what the SDK would drop or answer with -32603", () => {
    expect(reply('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":"bad"}')).toMatchObject({ id: 2, error: { code: -32602 } });
    expect(reply('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":5}}')).toMatchObject({ id: 3, error: { code: -32602 } });
    expect(reply('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list","arguments":[]}}')).toMatchObject({ id: 4, error: { code: -32602 } });
    expect(reply('{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}')).toMatchObject({ id: null, error: { code: -32600 } });
    expect(reply('[{"jsonrpc":"2.0","id":5,"method":"tools/list"}]')).toMatchObject({ id: null, error: { code: -32600 } });
    expect(reply("{not json")).toMatchObject({ id: null, error: { code: -32700 } });
  });

  it("passes good messages and drops bad notifications silently", () => {
    expect(screenLine('{"jsonrpc":"2.0","id":1,"method":"tools/list"}')).toEqual({ pass: true });
    expect(screenLine('{"jsonrpc":"2.0","id":1,"result":{}}')).toEqual({ pass: true });
    expect(screenLine('{"jsonrpc":"2.0","method":"notifications/x","params":7}')).toEqual({});
    expect(screenLine("")).toEqual({});
  });
});
