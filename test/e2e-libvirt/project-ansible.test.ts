import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { defineNatNetwork, projectCli as cli, projectFolder } from "./project-support.js";

// Ansible provisioning of a project folder against the Debian image with real cloud-init: a playbook that
// succeeds (its effect checked over ssh as the non-root user the .env names), then one whose failing task is named.

const NETWORK = `tvm-ansible-${process.pid}`;

const PLAYBOOK = `- hosts: all
  become: true
  tasks:
    - name: write the project marker
      ansible.builtin.copy:
        dest: /etc/project-marker
        content: "provisioned by ansible on {{ inventory_hostname }}\\n"
        mode: "0644"
`;

const FAILING = `- hosts: all
  tasks:
    - name: a step that works
      ansible.builtin.command: "true"
    - name: install the impossible
      ansible.builtin.command: /bin/false
`;

describeIfTestHost("e2e_libvirt: project folder provisioned with Ansible (Debian image, real cloud-init)", () => {
  let images: TestImages;
  let folder: string;
  let removeNetwork: (() => void) | undefined;

  beforeAll(() => {
    images = ensureTestImages("debian-ci");
    removeNetwork = defineNatNetwork(NETWORK, 253);
    folder = projectFolder("webapp");
    writeFileSync(join(folder, "site.yml"), PLAYBOOK);
    writeFileSync(join(folder, "broken.yml"), FAILING);
    writeFileSync(
      join(folder, ".env"),
      `INFRA_TYPE=vm\nMEMORY=768\nCPUS=1\nDISK=4\nNETWORK=${NETWORK}\nIMAGE=${images.debianCi}\nSSH_USER=dev\nPROVISION_SCRIPT=site.yml\nREADY_TIMEOUT=900\n`,
    );
  });

  afterAll(async () => {
    if (folder !== undefined && existsSync(join(folder, ".testenv-vm"))) await cli(folder, "rm");
    removeNetwork?.();
    if (folder !== undefined) rmSync(resolve(folder, ".."), { recursive: true, force: true });
  });

  it("up provisions with ansible-playbook; the change is there for the non-root user", async () => {
    const up = await cli(folder, "up", "--json");
    expect(up.code, up.stderr || up.stdout).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ action: "created", provision: { status: "ok", kind: "ansible" } });
    const marker = await cli(folder, "ssh", "--", "cat", "/etc/project-marker");
    expect(marker.code, marker.stderr).toBe(0);
    expect(marker.stdout).toContain("provisioned by ansible on");
    expect((await cli(folder, "ssh", "--", "id", "-un")).stdout.trim()).toBe("dev");
    expect(readFileSync(join(folder, ".testenv-vm", "provision.log"), "utf8")).toContain("write the project marker");
  });

  it("a failing playbook names its task, keeps the instance, and status says where it failed", async () => {
    writeFileSync(join(folder, ".env"), readFileSync(join(folder, ".env"), "utf8").replace("PROVISION_SCRIPT=site.yml", "PROVISION_SCRIPT=broken.yml"));
    const failed = await cli(folder, "provision");
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('failed at task "install the impossible"');
    const status = await cli(folder, "status", "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ status: "running", provision: { status: "failed", step: "install the impossible" } });
  });

  it("rm removes it", async () => {
    const removed = await cli(folder, "rm");
    expect(removed.code, removed.stderr).toBe(0);
    expect(existsSync(join(folder, ".testenv-vm"))).toBe(false);
  });
});
