import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli } from "../helpers/cli.js";
import { connectOrchestrator, textOf } from "../helpers/mcp.js";
import { sandbox, type Json, type Sandbox } from "./env.js";

// A spec that names no provider gets one from the registry (bundled providers, PATH). No libvirtd here: libvirt is
// pointed at a socket that does not exist, so it answers "not healthy" fast and touches no daemon.

const keyAndVm: Json = {
  pickProvider: true,
  keys: [{ name: "k", spec: { type: "ed25519" } }],
  networks: [{ name: "lan", kind: "bridge", spec: { cidr: "10.77.1.0/24" } }],
  vms: [{ name: "web", spec: { memory: 256, vcpus: 1, networks: ["lan"], disk: { size: "1G" }, boot: { firmware: "uefi" } } }],
};
/** A container with a TPM: libvirt has no containers, podman no TPM, the stub neither containers nor a preference. */
const nobodyServes: Json = { pickProvider: true, vms: [{ name: "odd", spec: { memory: 256, vcpus: 1, container: {}, boot: { tpm: true } } }] };

function env(box: Sandbox, extra: Record<string, string> = {}): Record<string, string> {
  return { ...box.env, TESTENV_VM_LIBVIRT_URI: `qemu+unix:///system?socket=${box.root}/no-libvirt.sock`, ...extra };
}

function writeSpec(box: Sandbox, spec: Json): string {
  const path = join(box.root, "spec.yaml");
  writeFileSync(path, stringify(spec));
  return path;
}

describe("a spec with pickProvider: true", () => {
  it("gets the preferred provider; create, plan and the state say which and why, and delete uses it", async () => {
    using box = sandbox("choice-stub");
    const spec = writeSpec(box, keyAndVm);
    const preferStub = env(box, { TESTENV_VM_PROVIDER_PREFERENCE: "stub" });

    const planned = await runCli(box.root, ["plan", "--spec", spec, "--id", "choice-1", "--tmp-dir", box.tmpDir, "--json"], preferStub);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as Json;
    expect(plan.providers).toEqual([expect.objectContaining({ name: "stub", engine: "testenv-vm-provider-stub" })]);
    expect(plan.providerChoice).toMatchObject({ provider: "stub", needs: ["disk", "key:ed25519", "network:bridge", "uefi", "vm"] });
    expect(String(plan.providerChoice.reason)).toContain("TESTENV_VM_PROVIDER_PREFERENCE order stub, ");
    expect((plan.phases as Json[]).flatMap((p) => p.resources as Json[]).map((r) => String(r.provider))).toEqual(["stub", "stub", "stub"]);

    const created = await runCli(box.root, ["create", "--spec", spec, "--id", "choice-1", "--tmp-dir", box.tmpDir], preferStub);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("Provider stub picked (the spec names none): first healthy provider in TESTENV_VM_PROVIDER_PREFERENCE order stub,");
    const state = JSON.parse(readFileSync(box.stateFile("choice-1"), "utf8")) as Json;
    expect(state.providers).toEqual([{ name: "stub", engine: "testenv-vm-provider-stub" }]);
    expect(state.providerChoice).toMatchObject({ provider: "stub", engine: "testenv-vm-provider-stub" });
    expect(state.artifact.metadata["testenv-vm.provider"]).toBe("stub");
    expect(state.spec.providers).toEqual(state.providers);

    // The same spec again is the same environment: no second choice, no conflict.
    const again = await runCli(box.root, ["create", "--spec", spec, "--id", "choice-1", "--tmp-dir", box.tmpDir, "--json"], preferStub);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as Json).metadata["testenv-vm.provider"]).toBe("stub");

    const deleted = await runCli(box.root, ["delete", "--id", "choice-1"], env(box));
    expect(deleted.code, deleted.stderr).toBe(0);
  });

  it("never falls back to the stub unprompted, and none fitting creates nothing and lists what each candidate lacks", async () => {
    using box = sandbox("choice-none");
    const spec = writeSpec(box, nobodyServes);
    const refused = await runCli(box.root, ["create", "--spec", spec, "--id", "choice-2", "--tmp-dir", box.tmpDir], env(box));
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("the spec names no provider, and none serves what it uses (container, tpm, vm); nothing was created");
    expect(refused.stderr).toContain("libvirt: lacks container, disk on every VM (required)");
    expect(refused.stderr).toContain("podman: lacks tpm");
    expect(refused.stderr).toContain("stub: simulated (creates nothing real); name it in TESTENV_VM_PROVIDER_PREFERENCE to use it");
    expect(() => readFileSync(box.stateFile("choice-2"))).toThrow();

    // Preferred, the stub is judged on what it serves: no containers.
    const preferred = await runCli(box.root, ["plan", "--spec", spec, "--tmp-dir", box.tmpDir], env(box, { TESTENV_VM_PROVIDER_PREFERENCE: "stub" }));
    expect(preferred.code).toBe(3);
    expect(preferred.stderr).toContain("stub: lacks container");
  });

  it("over MCP: the create result names the provider picked", async () => {
    using box = sandbox("choice-mcp");
    await using orchestrator = await connectOrchestrator({ cwd: box.root, env: env(box, { TESTENV_VM_PROVIDER_PREFERENCE: "stub" }) });
    const created = await orchestrator.call("create", { testID: "choice-3", stage: "e2e", tmpDir: box.tmpDir, metadata: {}, spec: keyAndVm });
    expect(created.isError, textOf(created)).toBeFalsy();
    const metadata = (created.structuredContent as Json).metadata as Json;
    expect(metadata["testenv-vm.provider"]).toBe("stub");
    expect(metadata["testenv-vm.provider.reason"]).toContain("first healthy provider in TESTENV_VM_PROVIDER_PREFERENCE order stub");
    const deleted = await orchestrator.call("delete", { testID: "choice-3" });
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
  });
});
