import { describe, expect, it } from "vitest";
import type { Plan } from "../../../api/plan.js";
import { changedFields } from "../../../src/orchestrator/plan-diff.js";
import { placeholder, placeholderEntry } from "../../../src/orchestrator/plan-placeholders.js";
import { staleReasons } from "../../../src/orchestrator/plan-stale.js";
import { planJson, planText } from "../../../src/orchestrator/plan-text.js";
import { canonicalJson, sha256Of } from "../../../src/orchestrator/spec-hash.js";

const H = (c: string): string => `sha256:${c.repeat(64)}`;

function samplePlan(): Plan {
  const body: Omit<Plan, "planHash"> = {
    version: 1,
    testID: "t-1",
    stage: "unit",
    prefix: "abc123",
    specHash: H("a"),
    subnets: { "192.168.100": "192.168.42" },
    providers: [{ name: "stub", engine: "testenv-vm-provider-stub", providerName: "stub", version: "1" }],
    inputs: {},
    phases: [
      {
        phase: 1,
        resources: [
          { kind: "key", name: "k", action: "create", provider: "stub", providerName: "abc123-k", request: { name: "abc123-k", spec: { type: "ed25519" } }, requestHash: H("b"), steps: [{ action: "note", summary: "record key" }] },
        ],
      },
      {
        phase: 2,
        resources: [{ kind: "vm", name: "web", action: "create", provider: "stub", providerName: "abc123-web", request: { z: 1, a: [2, 1] }, requestHash: H("c"), stepsUnknown: "no provider_plan" }],
      },
    ],
  };
  return { ...body, planHash: sha256Of(body) };
}

describe("canonical serialisation and hashes", () => {
  it("ignore key order and undefined members, keep array order", () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [2, 1] } })).toBe('{"a":{"c":[2,1]},"b":1}');
    expect(sha256Of({ a: 1, b: 2 })).toBe(sha256Of({ b: 2, a: 1 }));
    expect(sha256Of([1, 2])).not.toBe(sha256Of([2, 1]));
    expect(sha256Of({})).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("placeholders", () => {
  it("name the resource and field a value comes from, and keep the name that is known already", () => {
    expect(placeholder("vm", "web", "ip")).toBe("(known after create: vm.web.ip)");
    expect(placeholderEntry("VMs", "web", "abc123-web")).toEqual({
      Name: "abc123-web",
      IP: "(known after create: vm.web.ip)",
      MAC: "(known after create: vm.web.mac)",
      SSHCommand: "(known after create: vm.web.sshCommand)",
    });
    expect(placeholderEntry("Keys", "k", "p-k").PublicKey).toBe("(known after create: key.k.publicKey)");
  });
});

describe("the plan diff", () => {
  it("lists the dotted fields that differ; arrays and scalars compare whole", () => {
    const before = { name: "x", spec: { memory: 1024, vcpus: 1, networks: ["a"], boot: { order: ["hd"] } } };
    const after = { name: "x", spec: { memory: 2048, vcpus: 1, networks: ["a", "b"], boot: { order: ["hd"] }, tpm: true } };
    expect(changedFields(before, after)).toEqual(["spec.memory", "spec.networks", "spec.tpm"]);
    expect(changedFields(before, structuredClone(before))).toEqual([]);
    expect(changedFields(1, 2)).toEqual(["(all)"]);
  });
});

describe("stale plans", () => {
  it("are none when the plan made now is the same", () => {
    expect(staleReasons(samplePlan(), samplePlan())).toEqual([]);
  });

  it("say what changed: spec, subnets, base images, requests, actions", () => {
    const given = samplePlan();
    const now = structuredClone(given);
    now.specHash = H("d");
    now.subnets = { "192.168.100": "192.168.43" };
    now.inputs = { "/img.qcow2": "size:2,mtimeMs:3" };
    now.phases[0]!.resources[0]!.requestHash = H("e");
    now.phases[1]!.resources[0]!.action = "replace";
    expect(staleReasons(given, now)).toEqual([
      `the spec changed (spec hash ${H("a")} → ${H("d")})`,
      "the free subnets changed (another environment took one)",
      "the base image /img.qcow2 changed (not in the plan → size:2,mtimeMs:3)",
      `the rendered request of key k changed (${H("b")} → ${H("e")})`,
      "vm web would now be replace, not create",
    ]);
  });

  it("catch an edited plan file whose hashes were left alone", () => {
    const edited = samplePlan();
    edited.phases[0]!.resources[0]!.request = { name: "abc123-k", spec: { type: "rsa" } };
    expect(staleReasons(edited, samplePlan())).toEqual([expect.stringContaining("was it edited?")]);
  });
});

describe("the plan's text and JSON", () => {
  it("are the same bytes for the same plan, whatever the key order", () => {
    const plan = samplePlan();
    const reordered = Object.fromEntries(Object.entries(plan).reverse()) as Plan;
    expect(planJson(reordered)).toBe(planJson(plan));
    expect(planText(plan)).toBe(planText(samplePlan()));
    expect(planText(plan)).toContain("+ key k on stub as abc123-k: create");
    expect(planText(plan)).toContain("steps unknown: no provider_plan");
    expect(planText(plan)).toContain("2 to create, 0 to replace, 0 unchanged, 0 used as they are");
  });
});
