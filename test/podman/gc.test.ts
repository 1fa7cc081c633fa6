import { execFile } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OwnedObject } from "../../api/provider.js";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { StateStore } from "../../src/state/store.js";
import {
  CLI_BIN,
  type CliResult,
  NSENTER,
  PLANTED_LABEL,
  PODMAN_ROOT,
  createNetns,
  deleteNetns,
  forceRemoveAll,
  leaks,
  newEnv,
  podman,
  providerConfig,
  removeEnvFiles,
  startPodmanProvider,
} from "./support.js";

// gc on podman: provider_owned finds our containers and networks by their labels, with the testID and state dir
// they carry; provider_reclaim removes them; a foreign container and a network whose name merely looks like ours
// are neither listed nor removable.

const env = newEnv("gc");
const stateDir = `${env.root}/state`;

beforeAll(() => createNetns());
afterAll(() => {
  forceRemoveAll(env);
  deleteNetns();
  removeEnvFiles(env);
});

/** `testenv-vm <args>` in a fresh process inside the test's namespace, from `cwd`. */
function cli(cwd: string, ...args: string[]): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      NSENTER[0],
      [NSENTER[1], process.execPath, CLI_BIN, ...args],
      { cwd, timeout: 300_000, encoding: "utf8", env: { ...process.env, TESTENV_VM_LOG: "warn", TESTENV_VM_PODMAN_ROOT: PODMAN_ROOT } },
      (error, stdout, stderr) => done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr }),
    );
  });
}

const baseImage = (): string => {
  const image = podman("images", "--format", "{{.Repository}}:{{.Tag}}").split("\n").find((line) => line.startsWith("localhost/testenv-vm-base:"));
  if (image === undefined) throw new Error("the base image is missing (built by global-setup.ts)");
  return image;
};

describe("podman provider gc tools", () => {
  it("lists what it made by label with its owner, reclaims it, and leaves foreign look-alikes alone", async () => {
    const maker = await startPodmanProvider(env, { TESTENV_VM_STATE_DIR: stateDir });
    try {
      expect((await maker.call("network_create", { name: env.name("net"), kind: "bridge", spec: { cidr: `10.234.${100 + (process.pid % 100)}.1/24` } })).success).toBe(true);
      const vm = await maker.call("vm_create", {
        name: env.name("vm"),
        spec: { memory: 128, vcpus: 1, boot: { order: ["hd"] }, networks: [env.name("net")], container: { command: ["sleep", "600"] }, readiness: { exec: { command: ["true"], timeout: "1m" } } },
      });
      expect(vm.success, JSON.stringify(vm.error)).toBe(true);
    } finally {
      await maker.close();
    }
    podman("network", "create", ...PLANTED_LABEL, env.name("lookalike"));
    podman("create", ...PLANTED_LABEL, "--name", env.name("foreign"), baseImage(), "sleep", "600");

    // As gc starts it: no environment of its own.
    const gc = await startPodmanProvider(env, { TESTENV_VM_TEST_ID: "", TESTENV_VM_NAME_PREFIX: "" });
    try {
      const answer = await gc.call("provider_owned", {});
      expect(answer.success, JSON.stringify(answer.error)).toBe(true);
      const ours = (answer.resource as { objects: OwnedObject[] }).objects.filter((o) => o.name.startsWith(env.prefix));
      expect(ours.map((o) => [o.kind, o.name, o.testID, o.prefix, o.stateDir])).toEqual([
        ["vm", env.name("vm"), env.testID, env.prefix, stateDir],
        ["network", env.name("net"), env.testID, env.prefix, stateDir],
      ]);
      expect(ours.every((o) => typeof o.createdAt === "string" && !Number.isNaN(Date.parse(o.createdAt)))).toBe(true);
      expect((await gc.call("provider_reclaim", { kind: "vm", name: env.name("foreign") })).error?.code).toBe("NOT_FOUND");
      expect((await gc.call("provider_reclaim", { kind: "network", name: env.name("lookalike") })).error?.code).toBe("NOT_FOUND");
      expect((await gc.call("provider_reclaim", { kind: "vm", name: env.name("vm") })).success).toBe(true);
      expect((await gc.call("provider_reclaim", { kind: "network", name: env.name("net") })).success).toBe(true);
    } finally {
      await gc.close();
    }
    expect(leaks(env).sort()).toEqual([`container ${env.name("foreign")}`, `network ${env.name("lookalike")}`]);
  });

  it("gc --apply removes the key pair of an environment whose state is gone; a live environment's key survives", async () => {
    const dir = join(env.root, "keys-gc");
    mkdirSync(dir, { recursive: true });
    const keysState = join(dir, "state");
    writeFileSync(
      join(dir, "spec.yaml"),
      JSON.stringify({ providers: [{ name: "podman", engine: "testenv-vm-provider-podman", spec: providerConfig() }], keys: [{ name: "ssh", spec: { type: "ed25519" } }] }),
    );
    const live = `${env.testID}-live`;
    const lost = `${env.testID}-lost`;
    const keyFile = (id: string): string => join(dir, "tmp", id, "keys", `${namePrefix(id)}-ssh`);
    const keyRecord = (id: string): string => join(PODMAN_ROOT, "records", "keys", `${namePrefix(id)}-ssh.json`);
    try {
      for (const id of [live, lost]) {
        const created = await cli(dir, "create", "--spec", "spec.yaml", "--id", id, "--state-dir", keysState, "--tmp-dir", "tmp", "--json");
        expect(created.code, created.stderr).toBe(0);
        expect(existsSync(keyFile(id)) && existsSync(`${keyFile(id)}.pub`) && existsSync(keyRecord(id))).toBe(true);
      }
      rmSync(new StateStore(keysState).statePath(lost));

      type Report = { objects: Array<{ kind: string; name: string; verdict: string; testID?: string }>; removed?: number };
      const dry = await cli(dir, "gc", "--id", lost, "--older-than", "0", "--state-dir", keysState, "--json");
      expect(dry.code, dry.stderr).toBe(0);
      expect((JSON.parse(dry.stdout) as Report).objects.map((o) => [o.kind, o.name, o.verdict, o.testID])).toEqual([["key", `${namePrefix(lost)}-ssh`, "orphan", lost]]);
      const applied = await cli(dir, "gc", "--id", lost, "--older-than", "0", "--state-dir", keysState, "--apply", "--json");
      expect(applied.code, applied.stderr).toBe(0);
      expect(JSON.parse(applied.stdout)).toMatchObject({ removed: 1, failed: 0 });
      expect([existsSync(keyFile(lost)), existsSync(`${keyFile(lost)}.pub`), existsSync(keyRecord(lost))]).toEqual([false, false, false]);

      const spared = await cli(dir, "gc", "--id", live, "--older-than", "0", "--state-dir", keysState, "--apply", "--json");
      expect(spared.code, spared.stderr).toBe(0);
      expect((JSON.parse(spared.stdout) as Report).objects.map((o) => [o.kind, o.verdict])).toEqual([["key", "live"]]);
      expect(existsSync(keyFile(live)) && existsSync(keyRecord(live))).toBe(true);
      const deleted = await cli(dir, "delete", "--id", live, "--state-dir", keysState);
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(existsSync(keyRecord(live))).toBe(false);
    } finally {
      for (const id of [live, lost]) rmSync(keyRecord(id), { force: true });
    }
  });
});
