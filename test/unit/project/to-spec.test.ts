import { describe, expect, it } from "vitest";
import { Spec } from "../../../api/spec.js";
import { TestenvError } from "../../../src/errors.js";
import { parseEnvFile } from "../../../src/project/env-file.js";
import { projectIdentity, sanitizeName } from "../../../src/project/identity.js";
import { parseUserCloudConfig, projectSpec } from "../../../src/project/to-spec.js";
import { validateEarly } from "../../../src/spec/validate.js";
import { computeSubnetPlan } from "../../../src/orchestrator/isolation.js";

const env = (extra = "") => parseEnvFile(`INFRA_TYPE=vm\nMEMORY=768\nCPUS=2\nDISK=12\n${extra}`, "/p/.env").env;

describe("projectIdentity", () => {
  it("is the folder's readable name plus a hash of its absolute path", () => {
    const a = projectIdentity("/home/me/work/project1");
    const b = projectIdentity("/srv/other/project1");
    expect(a.name).toMatch(/^project1-[0-9a-f]{6}$/);
    expect(b.name).toMatch(/^project1-[0-9a-f]{6}$/);
    expect(a.name).not.toBe(b.name);
    expect(projectIdentity("/home/me/work/project1/").name).toBe(a.name);
  });

  it("NAME overrides it", () => {
    expect(projectIdentity("/x/y", "box").name).toBe("box");
  });

  it("sanitises folder names into something libvirt and podman accept", () => {
    expect(sanitizeName("My Project (copy)")).toBe("my-project-copy");
    expect(sanitizeName("___")).toBe("project");
    expect(sanitizeName("a".repeat(60))).toHaveLength(24);
  });
});

describe("projectSpec", () => {
  const identity = projectIdentity("/home/me/work/project1");

  it("is a spec the engine accepts: key, the existing network, one VM of exactly the asked size", () => {
    const spec = projectSpec({ env: env(), identity, sshUser: "dev" });
    expect(Spec.safeParse(spec).success).toBe(true);
    expect(validateEarly(spec)).toEqual([]);
    const vm = spec.vms?.[0];
    expect(vm?.name).toBe(identity.name);
    expect(vm?.spec).toMatchObject({ memory: 768, vcpus: 2, disk: { size: "12G", baseImage: "base" }, networks: ["net"] });
    expect(spec.networks?.[0]).toMatchObject({ name: "net", kind: "libvirt", external: "default", spec: {} });
    expect(spec.images?.[0]).toMatchObject({ name: "base", spec: { source: "debian:12" } });
    expect(vm?.spec.readiness?.ssh).toMatchObject({ enabled: true, user: "dev", timeout: "600s" });
    expect(vm?.spec.cloudInit?.users?.[0]).toMatchObject({ name: "dev", sudo: "ALL=(ALL) NOPASSWD:ALL", sshAuthorizedKeys: ["{{ .Keys.ssh.PublicKey }}"] });
  });

  it("uses an existing bridge in bridge mode and a local image path as is", () => {
    const spec = projectSpec({ env: env("NETWORK_TYPE=bridge\nBRIDGE=br7\nIMAGE=images/tiny.qcow2\n"), identity, sshUser: "root", imagePath: "/home/me/work/project1/images/tiny.qcow2" });
    expect(spec.networks?.[0]).toMatchObject({ kind: "bridge", external: "br7" });
    expect(spec.images).toBeUndefined();
    expect(spec.vms?.[0]?.spec.disk?.baseImage).toBe("/home/me/work/project1/images/tiny.qcow2");
    expect(spec.vms?.[0]?.spec.cloudInit?.users?.[0]).toEqual({ name: "root", sshAuthorizedKeys: ["{{ .Keys.ssh.PublicKey }}"] });
  });

  it("FIXED_IP: a DHCP reservation on the libvirt network, a static guest address on a bridge", () => {
    const onLibvirt = projectSpec({ env: env("FIXED_IP=192.168.122.50\n"), identity, sshUser: "dev" });
    expect(validateEarly(onLibvirt)).toEqual([]);
    expect(onLibvirt.vms?.[0]?.spec.fixedIPs).toEqual({ net: "192.168.122.50" });
    expect(onLibvirt.vms?.[0]?.spec.cloudInit?.networkConfig).toBeUndefined();
    const onBridge = projectSpec({ env: env("NETWORK_TYPE=bridge\nBRIDGE=br7\nFIXED_IP=192.168.1.50/24\nGATEWAY=192.168.1.1\n"), identity, sshUser: "dev" });
    expect(validateEarly(onBridge)).toEqual([]);
    expect(onBridge.vms?.[0]?.spec.fixedIPs).toBeUndefined();
    expect(onBridge.vms?.[0]?.spec.cloudInit?.networkConfig).toEqual({
      ethernets: [{ name: "e*", addresses: ["192.168.1.50/24"], gateway4: "192.168.1.1", nameservers: { addresses: ["192.168.1.1"] } }],
    });
  });

  it("merges the user's own #cloud-config: users, packages, runcmd, write_files, hostname", () => {
    const cloudConfig = parseUserCloudConfig(
      [
        "#cloud-config",
        "hostname: base",
        "users:",
        "  - default",
        "  - name: dev",
        "    ssh_authorized_keys: [ssh-ed25519 AAAAmine]",
        "  - name: av",
        "    sudo: ALL=(ALL) NOPASSWD:ALL",
        "    groups: wheel, docker",
        "packages: [git, tmux]",
        "runcmd: [touch /etc/marker]",
        "write_files:",
        "  - path: /etc/motd",
        "    content: hello",
      ].join("\n"),
      "cloud.yaml",
    );
    const init = projectSpec({ env: env(), identity, sshUser: "dev", cloudConfig }).vms?.[0]?.spec.cloudInit;
    expect(init?.hostname).toBe("base");
    expect(init?.users?.map((u) => u.name)).toEqual(["dev", "av"]);
    expect(init?.users?.[0]?.sshAuthorizedKeys).toEqual(["{{ .Keys.ssh.PublicKey }}", "ssh-ed25519 AAAAmine"]);
    expect(init?.users?.[1]).toMatchObject({ groups: ["wheel", "docker"] });
    expect(init).toMatchObject({ packages: ["git", "tmux"], runcmd: ["touch /etc/marker"], writeFiles: [{ path: "/etc/motd", content: "hello" }] });
  });

  it("names the cloud-config keys it cannot carry instead of dropping them", () => {
    try {
      parseUserCloudConfig("ssh_pwauth: true\nbootcmd: [x]\n", "cloud.yaml");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TestenvError);
      expect((error as TestenvError).issues[0]?.message).toMatch(/keys ssh_pwauth, bootcmd are not supported yet/);
    }
  });
});

describe("envTemplate", () => {
  it("is itself a valid .env, and documents every key", async () => {
    const { envTemplate, envReferenceTable } = await import("../../../src/project/env-template.js");
    const { PROJECT_ENV_KEYS } = await import("../../../api/project-env.js");
    expect(parseEnvFile(envTemplate(), "template").env.INFRA_TYPE).toBe("vm");
    for (const key of PROJECT_ENV_KEYS) {
      expect(envTemplate()).toContain(`${key}=`);
      expect(envReferenceTable()).toContain(`| \`${key}\` |`);
    }
  });
});

describe("docs/project-folder.md", () => {
  it("has the .env reference generated from api/project-env.ts", async () => {
    const { readFile } = await import("node:fs/promises");
    const path = await import("node:path");
    const { withEnvReference } = await import("../../../src/project/env-template.js");
    const committed = await readFile(path.join(import.meta.dirname, "../../../docs/project-folder.md"), "utf8");
    expect(committed === withEnvReference(committed), "docs/project-folder.md is out of date with api/project-env.ts; run `npm run generate`").toBe(true);
  });
});

describe("projectSpec for INFRA_TYPE=container", () => {
  const identity = projectIdentity("/home/me/work/webapp");
  const containerEnv = (extra = "") => parseEnvFile(`INFRA_TYPE=container\nMEMORY=512\nCPUS=2\nDISK=12\n${extra}`, "/p/.env").env;

  it("is a container VM on the podman provider: no disk, podman's default network, the same key, users and SSH readiness", () => {
    const spec = projectSpec({ env: containerEnv(), identity, sshUser: "dev" });
    expect(Spec.safeParse(spec).success).toBe(true);
    expect(validateEarly(spec)).toEqual([]);
    expect(spec.providers).toEqual([{ name: "podman", engine: "testenv-vm-provider-podman" }]);
    expect(spec.networks).toEqual([{ name: "net", kind: "bridge", external: "podman", spec: {} }]);
    const vm = spec.vms?.[0];
    expect(vm?.spec).toMatchObject({ memory: 512, vcpus: 2, networks: ["net"], container: {} });
    expect(vm?.spec.disk).toBeUndefined();
    expect(vm?.spec.cloudInit?.users?.[0]).toMatchObject({ name: "dev", sudo: "ALL=(ALL) NOPASSWD:ALL" });
    expect(vm?.spec.readiness).toEqual({ ssh: { enabled: true, user: "dev", privateKey: "{{ .Keys.ssh.PrivateKeyPath }}", timeout: "600s" } });
  });

  it("names another image, a podman network and a fixed address when the .env does", () => {
    const spec = projectSpec({ env: containerEnv("IMAGE=localhost/mine:1\nNETWORK=lab\nFIXED_IP=10.88.0.50\n"), identity, sshUser: "root" });
    expect(spec.networks?.[0]?.external).toBe("lab");
    expect(spec.vms?.[0]?.spec.container).toEqual({ image: "localhost/mine:1", ip: "10.88.0.50" });
  });

  it("on a host bridge: a podman network of ours attached to the external bridge, the fixed address, no subnet to isolate", () => {
    const spec = projectSpec({ env: containerEnv("NETWORK_TYPE=bridge\nBRIDGE=br7\nFIXED_IP=192.168.1.50/24\nGATEWAY=192.168.1.1\n"), identity, sshUser: "dev" });
    expect(Spec.safeParse(spec).success).toBe(true);
    expect(validateEarly(spec)).toEqual([]);
    expect(spec.networks).toEqual([
      { name: "lan", kind: "bridge", external: "br7", spec: {} },
      { name: "net", kind: "bridge", spec: { attachTo: "lan" } },
    ]);
    expect(spec.vms?.[0]?.spec).toMatchObject({ networks: ["net"], container: { ip: "192.168.1.50" } });
    expect(computeSubnetPlan(spec)).toEqual([]);
  });
});
