/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   the mutations poke at raw, untyped spec documents on purpose: that is what a user writes. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectOrchestrator, textOf, type OrchestratorConnection } from "../helpers/mcp.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// Every case must fail before anything is created: isError, a message naming the field, no state file,
// and no provider started (the stub creates its store file on start, so the store path stays absent).

type Spec = Json;
let box: Sandbox;
let orchestrator: OrchestratorConnection;
let caseNumber = 0;

function validSpec(store: string): Spec {
  return {
    providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store } }],
    keys: [{ name: "k1", spec: { type: "ed25519" } }],
    networks: [
      { name: "net1", kind: "bridge", spec: { cidr: "192.168.100.1/24", dhcp: { enabled: true, rangeStart: "192.168.100.10", rangeEnd: "192.168.100.99" } } },
      { name: "net2", kind: "libvirt", spec: { attachTo: "net1" } },
    ],
    vms: [
      {
        name: "vm1",
        spec: {
          memory: 512,
          vcpus: 1,
          network: "net1",
          disk: { size: "1G" },
          boot: { order: ["hd"] },
          cloudInit: { users: [{ name: "u", sshAuthorizedKeys: ["{{ .Keys.k1.PublicKey }}"] }] },
        },
      },
    ],
  };
}

const twice = (spec: Spec, kind: string): void => {
  const list = spec[kind] as unknown[];
  list.push(structuredClone(list[0]));
};

// [what, mutation of a valid spec, text the error must contain (the field, and a key phrase where useful)]
const SPEC_CASES: Array<[string, (s: Spec) => void, ...string[]]> = [
  ["providers is a string", (s) => (s.providers = "stub"), "providers"],
  ["no providers", (s) => (s.providers = []), "providers"],
  ["providers missing", (s) => delete s.providers, "providers"],
  ["provider without engine", (s) => delete s.providers[0].engine, "providers[0].engine"],
  ["provider engine blank", (s) => (s.providers[0].engine = " "), "providers[0].engine"],
  ["provider name with space", (s) => (s.providers[0].name = "my stub"), "providers[0].name"],
  ["duplicate provider", (s) => twice(s, "providers"), "providers[1].name"],
  ["two default providers", (s) => (s.providers = [{ name: "a", engine: "x", default: true }, { name: "b", engine: "y", default: true }]), "providers[1].default"],
  ["several providers and no default", (s) => s.providers.push({ name: "other", engine: "x" }), "providers"],
  ["unknown defaultProvider", (s) => (s.defaultProvider = "stb"), "defaultProvider"],
  ["resource names an unknown provider", (s) => (s.keys[0].provider = "libvirt"), "keys[0].provider"],
  ["unknown top-level key", (s) => (s.vmz = []), "vmz"],
  ["unknown key in a vm spec", (s) => (s.vms[0].spec.memroy = 1), "vms[0].spec.memroy"],
  ["unknown key in a network", (s) => (s.networks[0].specs = {}), "networks[0].specs"],
  ["keys is an object", (s) => (s.keys = { k1: {} }), "keys"],
  ["memory is a string", (s) => (s.vms[0].spec.memory = "512M"), "vms[0].spec.memory"],
  ["memory is zero", (s) => (s.vms[0].spec.memory = 0), "vms[0].spec.memory"],
  ["vcpus negative", (s) => (s.vms[0].spec.vcpus = -1), "vms[0].spec.vcpus"],
  ["vcpus fractional", (s) => (s.vms[0].spec.vcpus = 1.5), "vms[0].spec.vcpus"],
  ["disk missing", (s) => delete s.vms[0].spec.disk, "vms[0].spec.disk"],
  ["disk size with a B", (s) => (s.vms[0].spec.disk.size = "10GB"), "vms[0].spec.disk.size"],
  ["boot order device unknown", (s) => (s.vms[0].spec.boot.order = ["usb"]), "vms[0].spec.boot.order[0]"],
  ["firmware unknown", (s) => (s.vms[0].spec.boot.firmware = "coreboot"), "vms[0].spec.boot.firmware"],
  ["cleanupOnFailure is a string", (s) => (s.cleanupOnFailure = "no"), "cleanupOnFailure"],
  ["key without name", (s) => delete s.keys[0].name, "keys[0].name"],
  ["key name with a slash", (s) => (s.keys[0].name = "../etc"), "keys[0].name"],
  ["key name with whitespace", (s) => (s.keys[0].name = "my key"), "keys[0].name"],
  ["key name with a control character", (s) => (s.keys[0].name = "k\u0007"), "keys[0].name"],
  ["key name too long", (s) => (s.keys[0].name = "k".repeat(80)), "keys[0].name"],
  ["key type unsupported", (s) => (s.keys[0].spec.type = "dsa"), "keys[0].spec.type"],
  ["rsa key too short", (s) => (s.keys[0].spec = { type: "rsa", bits: 1024 }), "keys[0].spec.bits"],
  ["duplicate key", (s) => twice(s, "keys"), "keys[1].name"],
  ["network name starting with -", (s) => (s.networks[0].name = "-br"), "networks[0].name"],
  ["network name with ..", (s) => (s.networks[0].name = "a..b"), "networks[0].name"],
  ["duplicate network", (s) => twice(s, "networks"), "networks[2].name"],
  ["network kind blank", (s) => (s.networks[0].kind = " "), "networks[0].kind"],
  ["bad cidr", (s) => (s.networks[0].spec.cidr = "192.168.100.0/33"), "networks[0].spec.cidr"],
  ["dhcp without cidr", (s) => delete s.networks[0].spec.cidr, "networks[0].spec.cidr"],
  ["dhcp range outside the network", (s) => (s.networks[0].spec.dhcp.rangeStart = "192.168.101.10"), "networks[0].spec.dhcp.rangeStart"],
  ["gateway outside the network", (s) => (s.networks[0].spec.gateway = "10.0.0.1"), "networks[0].spec.gateway"],
  ["mtu too small", (s) => (s.networks[0].spec.mtu = 20), "networks[0].spec.mtu"],
  ["attachTo itself", (s) => (s.networks[1].spec.attachTo = "net2"), "networks[1].spec.attachTo"],
  ["attachTo an unknown network", (s) => (s.networks[1].spec.attachTo = "net9"), "networks[1].spec.attachTo"],
  [
    "attachTo cycle",
    (s) => {
      s.networks[0].spec = { attachTo: "net2" };
      s.networks[1].spec = { attachTo: "net1" };
      s.vms[0].spec.network = "net2";
    },
    "net1",
    "net2",
  ],
  [
    "template cycle between VMs",
    (s) => {
      s.vms.push({ name: "vm2", spec: { memory: 256, vcpus: 1, disk: { size: "1G" }, cloudInit: { runcmd: ["ping {{ .VMs.vm1.IP }}"] } } });
      s.vms[0].spec.cloudInit.runcmd = ["ping {{ .VMs.vm2.IP }}"];
    },
    "vm1",
    "vm2",
  ],
  ["vm on an unknown network", (s) => (s.vms[0].spec.network = "net9"), "vms[0].spec.network"],
  ["vm networks has an unknown entry", (s) => (s.vms[0].spec.networks = ["net1", "net9"]), "vms[0].spec.networks[1]"],
  ["duplicate vm", (s) => twice(s, "vms"), "vms[1].name"],
  ["template to a missing key", (s) => (s.vms[0].spec.cloudInit.users[0].sshAuthorizedKeys = ["{{ .Keys.k2.PublicKey }}"]), "vms[0].spec.cloudInit.users[0].sshAuthorizedKeys[0]"],
  ["template to a missing field", (s) => (s.vms[0].spec.cloudInit.users[0].sshAuthorizedKeys = ["{{ .Keys.k1.PublicKy }}"]), "vms[0].spec.cloudInit.users[0].sshAuthorizedKeys[0]"],
  ["unknown template variable", (s) => (s.keys[0].spec.comment = "{{ .Secrets.x.y }}"), "keys[0].spec.comment"],
  ["relative writeFiles path", (s) => (s.vms[0].spec.cloudInit.writeFiles = [{ path: "etc/motd", content: "x" }]), "vms[0].spec.cloudInit.writeFiles[0].path"],
  ["image over plain http", (s) => (s.images = [{ name: "img", spec: { source: "http://example.com/x.img" } }]), "images[0].spec.source"],
  ["https image without sha256", (s) => (s.images = [{ name: "img", spec: { source: "https://example.com/x.img" } }]), "images[0].spec.sha256"],
  ["blank stateDir", (s) => (s.stateDir = " "), "stateDir"],
];

// [what, CreateInput arguments (spec: the valid spec unless given), text the error must contain]
const INPUT_CASES: Array<[string, (spec: Spec, id: string, tmpDir: string) => Json, string]> = [
  ["testID missing", (spec, _id, tmpDir) => ({ stage: "e2e", tmpDir, spec }), "missing required field 'testID'"],
  ["testID empty", (spec, _id, tmpDir) => ({ testID: "", stage: "e2e", tmpDir, spec }), "missing required field 'testID'"],
  ["stage missing", (spec, id, tmpDir) => ({ testID: id, tmpDir, spec }), "missing required field 'stage'"],
  ["tmpDir missing", (spec, id) => ({ testID: id, stage: "e2e", spec }), "missing required field 'tmpDir'"],
  ["testID with a slash", (spec, _id, tmpDir) => ({ testID: "../../etc/passwd", stage: "e2e", tmpDir, spec }), "testID"],
  ["testID with a space", (spec, _id, tmpDir) => ({ testID: "my test", stage: "e2e", tmpDir, spec }), "testID"],
  ["testID is a number", (spec, _id, tmpDir) => ({ testID: 42, stage: "e2e", tmpDir, spec }), "testID"],
  ["stage is an object", (spec, id, tmpDir) => ({ testID: id, stage: { name: "e2e" }, tmpDir, spec }), "stage"],
  ["metadata is a string", (spec, id, tmpDir) => ({ testID: id, stage: "e2e", tmpDir, metadata: "none", spec }), "metadata"],
  ["metadata value is a number", (spec, id, tmpDir) => ({ testID: id, stage: "e2e", tmpDir, metadata: { a: 1 }, spec }), "metadata.a"],
  ["env is a list", (spec, id, tmpDir) => ({ testID: id, stage: "e2e", tmpDir, env: ["A=1"], spec }), "env"],
  ["keepOnFailure is a string", (spec, id, tmpDir) => ({ testID: id, stage: "e2e", tmpDir, keepOnFailure: "yes", spec }), "keepOnFailure"],
  ["unknown argument", (spec, id, tmpDir) => ({ testID: id, stage: "e2e", tmpDir, spek: {}, spec }), "spek"],
  ["spec missing", (_spec, id, tmpDir) => ({ testID: id, stage: "e2e", tmpDir }), "spec"],
  ["spec is a string", (_spec, id, tmpDir) => ({ testID: id, stage: "e2e", tmpDir, spec: "providers: []" }), "spec: a string must be the spec as JSON text"],
  ["spec is JSON text of a list", (_spec, id, tmpDir) => ({ testID: id, stage: "e2e", tmpDir, spec: "[1, 2]" }), "spec: the JSON text must encode a spec object"],
];

beforeAll(async () => {
  box = sandbox("bad-input");
  orchestrator = await connectOrchestrator({ env: box.env });
});

afterAll(async () => {
  await orchestrator.close();
  box[Symbol.dispose]();
});

function nextStore(): string {
  caseNumber += 1;
  return join(box.root, `store-${caseNumber}.json`);
}

function expectNothingCreated(store: string, id: string): void {
  expect(existsSync(store), "a provider was started").toBe(false);
  expect(existsSync(box.stateFile(id)), "a state file was written").toBe(false);
}

describe("bad input is refused before anything is created", () => {
  it("covers at least 50 cases", () => {
    expect(SPEC_CASES.length + INPUT_CASES.length).toBeGreaterThanOrEqual(50);
  });

  it.each(SPEC_CASES)("spec: %s", async (_what, mutate, ...expected) => {
    const store = nextStore();
    const spec = validSpec(store);
    mutate(spec);
    const id = testID("bad");
    const result = await orchestrator.call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), metadata: {}, spec });
    const text = textOf(result);
    expect(result.isError, text).toBe(true);
    expect(text).toMatch(/^Create failed: /);
    for (const fragment of expected) expect(text).toContain(fragment);
    expectNothingCreated(store, id);

    // config-validate agrees, without error results.
    const validation = await orchestrator.call("config-validate", { spec });
    expect(validation.isError).toBeFalsy();
    expect(textOf(validation)).toMatch(/^Configuration validation failed with \d+ error\(s\)$/);
    expect((validation.structuredContent as Json).valid).toBe(false);
  });

  it.each(INPUT_CASES)("input: %s", async (_what, build, expected) => {
    const store = nextStore();
    const id = testID("bad");
    const args = build(validSpec(store), id, join(box.tmpDir, id));
    const result = await orchestrator.call("create", args);
    const text = textOf(result);
    expect(result.isError, text).toBe(true);
    expect(text).toMatch(/^Create failed: /);
    expect(text).toContain(expected);
    expectNothingCreated(store, id);
  });

  it("delete refuses a wrong type but tolerates metadata: null", async () => {
    const wrong = await orchestrator.call("delete", { testID: "env-1", metadata: "x" });
    expect(wrong.isError).toBe(true);
    expect(textOf(wrong)).toMatch(/^Delete failed: .*metadata/);
    const missing = await orchestrator.call("delete", { metadata: {} });
    expect(textOf(missing)).toBe("Delete failed: missing required field 'testID'");
    const tolerated = await orchestrator.call("delete", { testID: "never-created-1", metadata: null });
    expect(tolerated.isError, textOf(tolerated)).toBeFalsy();
    expect(box.stateFiles()).toEqual([]);
  });
});
