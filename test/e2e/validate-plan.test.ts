import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli } from "../helpers/cli.js";
import { sandbox, type Json, type Sandbox } from "./env.js";

// validate shows the plan's summary (made by plan itself, so it changes nothing), and a plan against an existing
// environment says per resource what an edit of the spec would do.

function spec(box: Sandbox, edits: { memory?: number; extraKey?: boolean } = {}): Json {
  return {
    providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store: box.store } }],
    keys: [{ name: "k", spec: { type: "ed25519" } }, ...(edits.extraKey === true ? [{ name: "k2", spec: { type: "rsa" } }] : [])],
    networks: [{ name: "lan", kind: "bridge", spec: { cidr: "10.66.1.0/24" } }],
    vms: [{ name: "web", spec: { memory: edits.memory ?? 256, vcpus: 1, networks: ["lan"], disk: { size: "1G" } } }],
  };
}

function write(box: Sandbox, content: Json): string {
  const path = join(box.root, "spec.yaml");
  writeFileSync(path, stringify(content));
  return path;
}

const resources = (plan: Json): Json[] => (plan.phases as Json[]).flatMap((phase) => phase.resources as Json[]);

describe("validate with the plan summary", () => {
  it("prints phases, resources, provider per resource and hashes, in text and --json, and changes nothing", async () => {
    using box = sandbox("validate-plan");
    const path = write(box, spec(box));
    const text = await runCli(box.root, ["validate", "--spec", path], box.env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("configuration is valid");
    expect(text.stdout).toMatch(/plan: 2 phase\(s\); 3 to create, 0 to replace, 0 unchanged/);
    expect(text.stdout).toMatch(/spec hash: sha256:[0-9a-f]{64}\n {2}plan hash: sha256:[0-9a-f]{64}\n/);
    expect(text.stdout).toMatch(/phase 2: \+ vm web on stub as \w+-web sha256:[0-9a-f]{64}/);

    const json = await runCli(box.root, ["validate", "--spec", path, "--json"], box.env);
    expect(json.code, json.stderr).toBe(0);
    const output = JSON.parse(json.stdout) as Json;
    expect(output.valid).toBe(true);
    expect(resources(output.plan as Json).map((r) => [r.kind, r.name, r.action, r.provider] as unknown[])).toEqual([
      ["key", "k", "create", "stub"],
      ["network", "lan", "create", "stub"],
      ["vm", "web", "create", "stub"],
    ]);
    expect(output.plan.planHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The same hashes as plan itself: the summary is of that plan.
    const planned = await runCli(box.root, ["plan", "--spec", path, "--json"], box.env);
    expect((JSON.parse(planned.stdout) as Json).planHash).toBe(output.plan.planHash);
    expect(existsSync(box.store)).toBe(false);
    expect(readdirSync(box.root).sort()).toEqual(["spec.yaml", "state", "tmp"].filter((name) => existsSync(join(box.root, name))).sort());

    const skipped = await runCli(box.root, ["validate", "--spec", path, "--no-plan", "--json"], box.env);
    expect(JSON.parse(skipped.stdout)).toEqual({ valid: true });
  });

  it("reports what the providers would refuse as a problem of the spec", async () => {
    using box = sandbox("validate-refused");
    const pxe = spec(box);
    pxe.vms = [{ name: "web", spec: { memory: 256, vcpus: 1, networks: ["lan"], disk: { size: "1G" }, boot: { order: ["network"] } } }];
    const refused = await runCli(box.root, ["validate", "--spec", write(box, pxe)], box.env);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('does not support VM feature "pxe"');
  });
});

describe("plan against an existing environment", () => {
  it("after an edit: unchanged, replace with the fields that differ, and create for what is new", async () => {
    using box = sandbox("plan-edit");
    const created = await runCli(box.root, ["create", "--spec", write(box, spec(box)), "--id", "edit-1", "--tmp-dir", box.tmpDir, "--quiet"], box.env);
    expect(created.code, created.stderr).toBe(0);

    const same = await runCli(box.root, ["plan", "--spec", join(box.root, "spec.yaml"), "--id", "edit-1", "--tmp-dir", box.tmpDir, "--json"], box.env);
    expect(same.code, same.stderr).toBe(0);
    expect(resources(JSON.parse(same.stdout) as Json).map((r) => `${String(r.name)} ${String(r.action)}`)).toEqual(["k unchanged", "lan unchanged", "web unchanged"]);

    const edited = write(box, spec(box, { memory: 512, extraKey: true }));
    const planned = await runCli(box.root, ["plan", "--spec", edited, "--id", "edit-1", "--tmp-dir", box.tmpDir, "--json"], box.env);
    expect(planned.code, planned.stderr).toBe(0);
    const byName = Object.fromEntries(resources(JSON.parse(planned.stdout) as Json).map((r) => [String(r.name), r]));
    expect(byName.k).toMatchObject({ action: "unchanged" });
    expect(byName.k2).toMatchObject({ action: "create" });
    expect(byName.lan).toMatchObject({ action: "unchanged" });
    expect(byName.web).toMatchObject({ action: "replace", changes: ["spec.memory"] });

    const text = await runCli(box.root, ["plan", "--spec", edited, "--id", "edit-1", "--tmp-dir", box.tmpDir], box.env);
    expect(text.stdout).toContain("~ vm web on stub");
    expect(text.stdout).toContain("changes: spec.memory");
    expect(text.stdout).toContain("1 to create, 1 to replace, 2 unchanged");

    expect((await runCli(box.root, ["delete", "--id", "edit-1"], box.env)).code).toBe(0);
  });
});
