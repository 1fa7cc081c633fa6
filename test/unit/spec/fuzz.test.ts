import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { TestenvError } from "../../../src/errors.js";
import { parseCreateArgs, parseStatusArgs } from "../../../src/mcp/inputs.js";
import { validateSpec } from "../../../src/orchestrator/validate.js";
import { parseEnvFile } from "../../../src/project/env-file.js";
import { parseSpecText } from "../../../src/spec/load.js";

// Issue 16, part 3: property-based fuzzing in-process (the bulk; a sample runs through the real processes in
// test/e2e/reliability.test.ts). Every generated case must end in a structured error naming a field, or in a
// valid result; never another exception. The seed is printed so a failure can be replayed with FUZZ_SEED.

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
process.stderr.write(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED}), ${RUNS} runs per property\n`);

type Json = Record<string, unknown>;

function validSpec(): Json {
  return {
    providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store: "/tmp/never-used.json" } }],
    keys: [{ name: "k1", spec: { type: "ed25519" } }],
    networks: [{ name: "net1", kind: "bridge", spec: { cidr: "192.168.100.1/24", dhcp: { enabled: true, rangeStart: "192.168.100.10", rangeEnd: "192.168.100.99" } } }],
    vms: [{ name: "vm1", spec: { memory: 512, vcpus: 1, network: "net1", disk: { size: "1G" }, cloudInit: { users: [{ name: "u", sshAuthorizedKeys: ["{{ .Keys.k1.PublicKey }}"] }] } } }],
  };
}

/** Every path to a value inside the valid spec, so a mutation can land anywhere. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [prefix];
  const entries = Array.isArray(value) ? value.map((item, index) => [index, item] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, item]) => paths(item, [...prefix, key]))];
}
const PATHS = paths(validSpec()).filter((path) => path.length > 0);

const hostile = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, 1e15, Number.MAX_SAFE_INTEGER, "", " ", "..", "../../etc/passwd", "</name><devices>", "$(reboot)", "; rm -rf /", "a\nb", "\u0000", "{{ .Env.constructor }}", "{{ .Keys }}", "{{", "__proto__", "é", "🙂"),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  fc.integer({ min: 1, max: 300 }).map((depth) => JSON.parse(`${"[".repeat(depth)}${"]".repeat(depth)}`) as unknown),
  fc.integer({ min: 1000, max: 300_000 }).map((length) => "x".repeat(length)),
);

const mutation = fc.record({ path: fc.constantFrom(...PATHS), value: hostile, remove: fc.boolean() });

function mutate(spec: Json, path: readonly (string | number)[], value: unknown, remove: boolean): Json {
  let target = spec as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) {
    const next = target[segment];
    // An earlier mutation replaced a parent: this one has nowhere to land.
    if (next === null || typeof next !== "object") return spec;
    target = next as Record<string | number, unknown>;
  }
  const last = path.at(-1) as string | number;
  if (remove) delete target[last];
  else target[last] = value;
  return spec;
}

/** The one acceptable way to fail: a TestenvError whose issues (or message) name a field. */
function expectStructured(error: unknown): void {
  expect(error).toBeInstanceOf(TestenvError);
  const problem = error as TestenvError;
  expect(problem.issues.length > 0 || /[a-z]/.test(problem.message)).toBe(true);
  for (const issue of problem.issues) expect(issue.field.length).toBeGreaterThan(0);
  // Echoes are capped: no error grows with its input.
  expect(problem.message.length).toBeLessThan(20_000);
}

describe(`fuzzing (seed ${SEED})`, () => {
  it("spec mutations through validate: a result naming the fields, never an exception", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const spec = mutations.reduce((s, m) => mutate(s, m.path, m.value, m.remove), validSpec());
        const output = validateSpec(spec);
        for (const error of output.errors ?? []) expect(error.field.length).toBeGreaterThan(0);
        expect(JSON.stringify(output).length).toBeLessThan(200_000);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("spec mutations as YAML text, anchors and aliases included: parse or SPEC_INVALID", () => {
    const anchors = fc.constantFrom("", "x: &a [1, 2]\n", "x: &a [1]\ny: [*a, *a]\n", "z: *missing\n", "a: &a [q,q,q,q,q,q,q,q,q]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n");
    fc.assert(
      fc.property(mutation, anchors, fc.string({ maxLength: 20 }), (m, prefix, noise) => {
        const text = `${prefix}${stringify(mutate(validSpec(), m.path, m.value, m.remove))}${noise}`;
        try {
          parseSpecText(text);
        } catch (error) {
          expectStructured(error);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it(".env files: parsed, or an error naming the line", () => {
    const line = fc.oneof(
      fc.constantFrom("NAME=web", "MEMORY=abc", "VCPUS=100000", "export X=1", "=x", "A", "A=1\nA=2", "# c", "'", 'B="unterminated', "PORTS=8080:80,99999:1", "NAME=../../x"),
      fc.string({ maxLength: 30 }),
      fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })).map(([k, v]) => `${k}=${v}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
        try {
          parseEnvFile(lines.join("\n"), ".env");
        } catch (error) {
          expectStructured(error);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("MCP tool arguments: INPUT_INVALID naming the field, never an exception", () => {
    const args = fc.oneof(
      fc.anything(),
      fc.record({ testID: hostile, stage: hostile, tmpDir: hostile, spec: fc.oneof(hostile, fc.constant(validSpec())), metadata: hostile, env: hostile }, { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(args, (raw) => {
        for (const parse of [parseCreateArgs, parseStatusArgs]) {
          try {
            parse(raw);
          } catch (error) {
            expectStructured(error);
          }
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
