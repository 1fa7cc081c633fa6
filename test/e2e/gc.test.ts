import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../lib/log.js";
import { Orchestrator } from "../../src/orchestrator/orchestrator.js";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { runCli } from "../helpers/cli.js";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { designExample, stubProvider } from "../helpers/specs.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// gc finds what environments that are gone left behind, by what the provider recorded on each object, and removes
// only those: a live environment's objects and an object that records no environment survive.

const quiet = createLogger("test");

async function createEnvironment(box: Sandbox, id: string): Promise<void> {
  const env = { ...process.env, ...box.env, TESTENV_VM_LOG: "error" };
  await new Orchestrator({ rootDir: box.root, env, log: quiet }).create({ testID: id, stage: "e2e", tmpDir: box.tmpDir, spec: designExample(box.store) });
}

/** A VM in the store that no environment of ours made (no owner recorded), as another tool's would be. */
function plantForeignVM(store: string, name: string): void {
  const data = JSON.parse(readFileSync(store, "utf8")) as Json;
  data.vms[name] = { name, status: "running", createdAt: "2020-01-01T00:00:00.000Z" };
  writeFileSync(store, JSON.stringify(data, null, 2));
}

function writeSpecFile(box: Sandbox): string {
  const path = join(box.root, "spec.yaml");
  writeFileSync(path, JSON.stringify(designExample(box.store)));
  return path;
}

const ofEnvironment = (id: string) => (name: string) => name.includes(`/${namePrefix(id)}-`);

describe("testenv-vm gc on the stub", () => {
  it("lists, then removes, only the objects of environments that are gone; live and foreign ones survive", async () => {
    using box = sandbox("gc");
    const live = testID();
    const lost = testID();
    const destroyed = testID();
    await createEnvironment(box, live);
    await createEnvironment(box, lost);
    await createEnvironment(box, destroyed);
    plantForeignVM(box.store, "someone-elses-vm");
    rmSync(box.stateFile(lost));
    const state = box.readState(destroyed);
    writeFileSync(box.stateFile(destroyed), JSON.stringify({ ...state, status: "destroyed" }, null, 2));
    const before = storedResources(box.store);
    expect(before).toHaveLength(16);
    const spec = writeSpecFile(box);
    const cli = (args: string[]) => runCli(box.root, ["gc", "--spec", spec, ...args], box.env);

    // Within the default grace period (10 min) nothing is an orphan yet.
    const young = await cli(["--json"]);
    expect(young.code, young.stderr).toBe(0);
    const youngReport = JSON.parse(young.stdout) as Json;
    expect(youngReport.orphans).toBe(0);
    expect((youngReport.objects as Json[]).filter((o) => o.verdict === "young")).toHaveLength(10);

    // A dry run lists them and changes nothing.
    const dry = await cli(["--older-than", "0", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as Json;
    const verdicts: Record<string, string> = Object.fromEntries((report.objects as Json[]).map((o) => [`${o.kind}/${o.name}`, String(o.verdict)]));
    expect(report.orphans).toBe(10);
    expect(Object.entries(verdicts).filter(([name]) => ofEnvironment(live)(name)).map(([, v]) => v)).toEqual(Array(5).fill("live"));
    expect(Object.entries(verdicts).filter(([name]) => ofEnvironment(lost)(name)).map(([, v]) => v)).toEqual(Array(5).fill("orphan"));
    expect(Object.entries(verdicts).filter(([name]) => ofEnvironment(destroyed)(name)).map(([, v]) => v)).toEqual(Array(5).fill("orphan"));
    expect(verdicts["vm/someone-elses-vm"]).toBe("unowned");
    expect(report.providers).toEqual([{ name: "stub", engine: "testenv-vm-provider-stub", answer: "ok" }]);
    expect(storedResources(box.store)).toEqual(before);

    // --id narrows it to one environment.
    const one = JSON.parse((await cli(["--older-than", "0", "--id", lost, "--json"])).stdout) as Json;
    expect((one.objects as Json[]).map((o) => String(o.testID))).toEqual(Array(5).fill(lost));

    // --apply removes them, VMs before networks before keys, and says what it removed.
    const applied = await cli(["--older-than", "0", "--apply"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toContain("gc: 10 of 10 orphan(s) removed");
    expect(applied.stdout).toMatch(/vm .*-test-vm .*removed|removed/);
    const after = storedResources(box.store);
    expect(after.filter(ofEnvironment(lost))).toEqual([]);
    expect(after.filter(ofEnvironment(destroyed))).toEqual([]);
    expect(after.filter(ofEnvironment(live))).toHaveLength(5);
    expect(after).toContain("vm/someone-elses-vm");

    // The live environment still deletes as usual; only the foreign VM is left.
    const env = { ...process.env, ...box.env, TESTENV_VM_LOG: "error" };
    await new Orchestrator({ rootDir: box.root, env, log: quiet }).delete({ testID: live });
    expect(storedResources(box.store)).toEqual(["vm/someone-elses-vm"]);
  });

  it("without a spec asks the providers recorded in the state dir, and a second gc finds nothing left", async () => {
    using box = sandbox("gc-recorded");
    const live = testID();
    const lost = testID();
    await createEnvironment(box, live);
    await createEnvironment(box, lost);
    rmSync(box.stateFile(lost));
    const applied = await runCli(box.root, ["gc", "--older-than", "0", "--apply", "--json"], box.env);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ applied: true, orphans: 5, removed: 5, failed: 0 });
    expect(storedResources(box.store).filter(ofEnvironment(lost))).toEqual([]);
    const again = JSON.parse((await runCli(box.root, ["gc", "--older-than", "0", "--json"], box.env)).stdout) as Json;
    expect(again.orphans).toBe(0);
    const env = { ...process.env, ...box.env, TESTENV_VM_LOG: "error" };
    await new Orchestrator({ rootDir: box.root, env, log: quiet }).delete({ testID: live });
    expect(storedResources(box.store)).toEqual([]);
  });

  it("is an MCP tool: a dry run unless apply is true, and it runs only installed engines", async () => {
    using box = sandbox("gc-mcp");
    const lost = testID();
    await createEnvironment(box, lost);
    rmSync(box.stateFile(lost));
    await using server = await connectOrchestrator({ cwd: box.root, env: { PATH: process.env.PATH ?? "", HOME: box.root, ...box.env } });
    const providers = [stubProvider(box.store)];
    const dry = await server.call("gc", { olderThan: "0", providers });
    expect(dry.isError, textOf(dry)).toBeFalsy();
    expect(textOf(dry)).toContain("gc (dry run): 5 orphan(s)");
    expect(storedResources(box.store)).toHaveLength(5);
    const applied = await server.call("gc", { olderThan: "0", providers, apply: true });
    expect(applied.isError, textOf(applied)).toBeFalsy();
    expect(applied.structuredContent).toMatchObject({ applied: true, orphans: 5, removed: 5, failed: 0 });
    expect(storedResources(box.store)).toEqual([]);
    const refused = await server.call("gc", { providers: [{ name: "x", engine: "/bin/true" }] });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain("providers[0].engine");
  });

  it("delete of a corrupt state fails with STATE_CORRUPT and leaves the file; delete --force falls back to gc and says what it removed", async () => {
    using box = sandbox("gc-corrupt");
    const truncated = testID();
    const wrongSchema = testID();
    await createEnvironment(box, truncated);
    await createEnvironment(box, wrongSchema);
    const text = readFileSync(box.stateFile(truncated), "utf8");
    writeFileSync(box.stateFile(truncated), text.slice(0, Math.floor(text.length / 2)));
    writeFileSync(box.stateFile(wrongSchema), JSON.stringify({ ...box.readState(wrongSchema), resources: "not a list" }));
    const spec = writeSpecFile(box);

    for (const id of [truncated, wrongSchema]) {
      const damaged = readFileSync(box.stateFile(id), "utf8");
      const refused = await runCli(box.root, ["delete", "--id", id, "--json"], box.env);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toContain("STATE_CORRUPT");
      expect(refused.stdout).toContain(box.stateFile(id));
      expect(readFileSync(box.stateFile(id), "utf8")).toBe(damaged);

      const forced = await runCli(box.root, ["delete", "--id", id, "--force", "--spec", spec], box.env);
      expect(forced.code, forced.stdout + forced.stderr).toBe(0);
      expect(forced.stdout).toContain("--force: gc removed 5 object(s)");
      expect(forced.stdout).toContain(`${namePrefix(id)}-test-vm`);
      expect(storedResources(box.store).filter(ofEnvironment(id))).toEqual([]);
      expect(box.stateFiles()).not.toContain(`testenv-${id}.json`);
    }
    expect(storedResources(box.store)).toEqual([]);

    // A delete that finds no state says where it looked and offers gc for that testID.
    const gone = await runCli(box.root, ["delete", "--id", truncated], box.env);
    expect(gone.stdout).toContain(`testenv-vm gc --id ${truncated}`);
  });
});
