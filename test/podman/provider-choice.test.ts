import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { CLI_BIN, NSENTER, PODMAN_ROOT, conmonProcesses, createNetns, deleteNetns, forceRemoveAll, podman } from "./support.js";

// On real podman: a spec without providers gets podman for a container (libvirt has no containers, the stub is
// never taken unprompted); its plan lists the argv of every podman command and leaves podman and the provider's
// root as they were; the create makes exactly the container the plan showed.

const id = `choice-${process.pid}`;
const prefix = namePrefix(id);
const octet = 100 + (process.pid % 100);
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      NSENTER[0],
      [NSENTER[1], process.execPath, CLI_BIN, ...args],
      { cwd: dir, timeout: 600_000, encoding: "utf8", env: { ...process.env, TESTENV_VM_LOG: "warn", TESTENV_VM_PODMAN_ROOT: PODMAN_ROOT, TESTENV_VM_STATE_DIR: join(dir, "state"), ...env } },
      (error, stdout, stderr) => done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr }),
    );
  });
}

const containerSpec = {
  pickProvider: true,
  keys: [{ name: "k", spec: { type: "ed25519" } }],
  networks: [{ name: "lan", kind: "bridge", spec: { cidr: `10.232.${octet}.0/24` } }],
  vms: [
    {
      name: "web",
      spec: {
        memory: 256,
        vcpus: 1,
        networks: ["lan"],
        container: {},
        readiness: { ssh: { enabled: true, user: "root", privateKey: "{{ .Keys.k.PrivateKeyPath }}", timeout: "120s" } },
      },
    },
  ],
};

/** What podman and the provider's root hold of this environment: containers, networks, records and init scripts. */
function ours(): string[] {
  const names = (args: string[]): string[] => podman(...args).split("\n").filter((name) => name.startsWith(prefix));
  const under = (sub: string): string[] => (existsSync(join(PODMAN_ROOT, sub)) ? readdirSync(join(PODMAN_ROOT, sub), { recursive: true }).map(String).filter((name) => name.includes(prefix)) : []);
  return [
    ...names(["ps", "--all", "--format", "{{.Names}}"]).map((n) => `container ${n}`),
    ...names(["network", "ls", "--format", "{{.Name}}"]).map((n) => `network ${n}`),
    ...under("records").map((n) => `record ${n}`),
    ...under("containers").map((n) => `script ${n}`),
  ].sort();
}

const resources = (plan: Record<string, unknown>): Array<Record<string, unknown>> =>
  (plan.phases as Array<{ resources: Array<Record<string, unknown>> }>).flatMap((phase) => phase.resources);

describe("podman: best provider and plan steps", () => {
  beforeAll(() => {
    createNetns();
    dir = mkdtempSync("/tmp/testenv-vm-podman-choice-");
    writeFileSync(join(dir, "spec.yaml"), stringify(containerSpec));
  });

  afterAll(() => {
    forceRemoveAll({ prefix });
    deleteNetns();
    rmSync(dir, { recursive: true, force: true });
  });

  it("plans podman for a container spec with the argv of each podman command, changing nothing and running no command", async () => {
    const before = ours();
    const planned = await cli(["plan", "--spec", "spec.yaml", "--id", id, "--tmp-dir", "tmp", "--json"], { TESTENV_VM_LOG: "debug" });
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as Record<string, unknown>;
    expect(plan.providerChoice).toMatchObject({ provider: "podman", engine: "testenv-vm-provider-podman" });
    const choice = plan.providerChoice as { rejected: Array<{ name: string; why: string }> };
    expect(choice.rejected).toEqual(expect.arrayContaining([{ name: "libvirt", why: "lacks container, disk on every VM (required)" }]));
    const [, network, vm] = resources(plan);
    const networkArgv = (network?.steps as Array<{ argv?: string[] }>)[0]?.argv ?? [];
    // The subnet is the environment's own (isolation may move its third octet): the one the plan reserved.
    const subnet = (plan.subnets as Record<string, string>)[`10.232.${octet}`] ?? "";
    expect(networkArgv).toEqual(expect.arrayContaining(["podman", "network", "create", "--subnet", `${subnet}.0/24`, "--label", `testenv-vm.prefix=${prefix}`, `${prefix}-lan`]));
    const run = (vm?.steps as Array<{ action: string; argv?: string[] }>).find((step) => step.argv?.[1] === "run")?.argv ?? [];
    expect(run).toEqual(expect.arrayContaining(["--name", `${prefix}-web`, "--memory", "256m", "--cpus", "1", "--network", `${prefix}-lan`, `testenv-vm.prefix=${prefix}`]));
    expect(planned.stderr).not.toContain("exec refused");
    expect(ours()).toEqual(before);
    expect(existsSync(join(dir, "state"))).toBe(false);
    expect(existsSync(join(dir, "tmp"))).toBe(false);
    expect(conmonProcesses(prefix)).toEqual([]);

    const again = await cli(["plan", "--spec", "spec.yaml", "--id", id, "--tmp-dir", "tmp", "--json"]);
    expect(again.stdout).toBe(planned.stdout);
  });

  it("creates exactly that plan on podman, records the pick, and delete removes it", async () => {
    const planned = await cli(["plan", "--spec", "spec.yaml", "--id", id, "--tmp-dir", "tmp", "--json"]);
    writeFileSync(join(dir, "plan.json"), planned.stdout);
    const created = await cli(["create", "--spec", "spec.yaml", "--plan", "plan.json", "--tmp-dir", "tmp"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("Provider podman picked (the spec names none)");
    const state = JSON.parse(readFileSync(join(dir, "state", "state", `testenv-${id}.json`), "utf8")) as Record<string, unknown>;
    expect(state.providerChoice).toMatchObject({ provider: "podman" });
    expect(podman("ps", "--format", "{{.Names}}")).toContain(`${prefix}-web`);
    const deleted = await cli(["delete", "--id", id]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(ours()).toEqual([]);
  });
});
