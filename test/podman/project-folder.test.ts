import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { projectIdentity } from "../../src/project/identity.js";
import { cliInNetns as cli, conmonProcesses, createNetns, deleteNetns, podman, removeProjectFolder } from "./support.js";

// Seed 001's project folder with INFRA_TYPE=container: the same verbs as a VM, each a fresh `testenv-vm` process
// (inside the test's namespace), provisioned with Ansible over SSH, data kept across stop and up, nothing left by rm.

const HTTP_PORT = 18_000 + (process.pid % 1000);

describe("podman: project folder with INFRA_TYPE=container", () => {
  let folder: string;
  let name: string;
  let prefix: string;

  beforeAll(() => {
    createNetns();
    const parent = mkdtempSync("/tmp/testenv-vm-podman-project-");
    folder = join(parent, "webapp");
    mkdirSync(folder);
    name = projectIdentity(folder).name;
    prefix = namePrefix(name);
    writeFileSync(
      join(folder, ".env"),
      ["INFRA_TYPE=container", "MEMORY=256", "CPUS=1", "DISK=5", "SSH_USER=dev", "PROVISION_SCRIPT=playbook.yml", `PORTS=127.0.0.1:${HTTP_PORT}:22`, "READY_TIMEOUT=120", "STOP_TIMEOUT=10", ""].join("\n"),
    );
    writeFileSync(
      join(folder, "playbook.yml"),
      [
        "- hosts: all",
        "  gather_facts: false",
        "  become: true",
        "  tasks:",
        "    - copy: { dest: /etc/provisioned, content: 'by ansible' }",
        "",
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await removeProjectFolder(folder, prefix);
    deleteNetns();
    if (folder !== undefined) rmSync(resolve(folder, ".."), { recursive: true, force: true });
  });

  it("up creates the container, provisions it with Ansible over SSH, and says DISK does not apply", async () => {
    const result = await cli(folder, "up");
    expect(result.code, result.stderr || result.stdout).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain("DISK not applicable");
    const status = await cli(folder, "status", "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ instance: name, status: "running", provision: { status: "ok", kind: "ansible" } });
    expect(podman("ps", "--format", "{{.Names}}")).toContain(`${prefix}-${name}`);
  });

  it("ssh -- hostname answers with the instance's name, as the sudo user with the provisioned file", async () => {
    const host = await cli(folder, "ssh", "--", "hostname");
    expect(host.code, host.stderr).toBe(0);
    expect(host.stdout.trim()).toBe(name);
    const inside = await cli(folder, "ssh", "--", "sh", "-c", "'whoami; sudo -n cat /etc/provisioned; echo data > ~/kept'");
    expect(inside.stdout.trim().split("\n")).toEqual(["dev", "by ansible"]);
    expect((await cli(folder, "ssh", "--", "exit", "7")).code).toBe(7);
  });

  it("stop is graceful; up starts it again with the data kept and without provisioning again", async () => {
    const stopped = await cli(folder, "stop", "--json");
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ status: "stopped", stopMethod: "graceful" });
    const status = await cli(folder, "status", "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ status: "stopped" });
    const up = await cli(folder, "up", "--json");
    expect(up.code, up.stderr).toBe(0);
    const again = JSON.parse(up.stdout) as { action: string; steps: Record<string, unknown> };
    expect(again).toMatchObject({ action: "started", status: "running" });
    expect(Object.keys(again.steps)).not.toContain("provision");
    expect((await cli(folder, "ssh", "--", "cat", "kept")).stdout.trim()).toBe("data");
  });

  it("start after stop works the same", async () => {
    expect((await cli(folder, "stop")).code).toBe(0);
    const started = await cli(folder, "start", "--json");
    expect(started.code, started.stdout).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ status: "running" });
  });

  it("rm removes the container, its key and .testenv-vm/, leaving no container, network, conmon, volume or image", async () => {
    const removed = await cli(folder, "rm", "--json");
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ instance: name, removed: true });
    expect(existsSync(join(folder, ".testenv-vm"))).toBe(false);
    expect(podman("ps", "--all", "--format", "{{.Names}}")).not.toContain(prefix);
    expect(podman("network", "ls", "--format", "{{.Name}}")).not.toContain(prefix);
    expect(podman("volume", "ls", "--filter", `label=testenv-vm.prefix=${prefix}`, "--format", "{{.Name}}").trim()).toBe("");
    expect(conmonProcesses(prefix)).toEqual([]);
    expect(podman("images", "--format", "{{.Repository}}").split("\n").filter((r) => r !== "" && r !== "localhost/testenv-vm-base")).toEqual([]);
    const again = await cli(folder, "rm");
    expect(again.code, again.stderr).toBe(0);
  });
});
