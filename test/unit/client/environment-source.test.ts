import { describe, expect, it } from "vitest";
import type { TestEnvArtifact } from "../../../api/forge.js";
import { flatFromArtifact, flatFromForgeEnv, forgeEnvKey, parseSshCommand, toEnvVarName } from "../../../src/client/environment-source.js";
import { targetFromFlat } from "../../../src/client/vm-target.js";

const artifact: TestEnvArtifact = {
  testID: "test-e2e-20250101-abcd1234",
  files: { "testenv-vm.key.vm-ssh": "test-e2e-20250101-abcd1234/keys/8abab3-vm-ssh" },
  metadata: {
    "testenv-vm.stateDir": "/var/state",
    "testenv-vm.key.vm-ssh.fingerprint": "SHA256:abc",
    "testenv-vm.vm.test-vm.ip": "192.168.236.57",
    "testenv-vm.vm.test-vm.mac": "52:54:00:00:00:01",
  },
  managedResources: ["testenv-vm://key/vm-ssh", "testenv-vm://vm/test-vm"],
  env: {
    TESTENV_VM_NAME_PREFIX: "8abab3",
    TESTENV_KEY_VM_SSH_PRIVATE_PATH: "/tmp/forge/test-e2e-20250101-abcd1234/keys/8abab3-vm-ssh",
    TESTENV_VM_TEST_VM_IP: "192.168.236.57",
    TESTENV_VM_TEST_VM_SSH: "ssh -i /tmp/forge/test-e2e-20250101-abcd1234/keys/8abab3-vm-ssh -p 2222 ubuntu@192.168.236.57",
  },
};

describe("parseSshCommand", () => {
  it.each([
    ["ssh -i /k ubuntu@1.2.3.4", { identityFile: "/k", user: "ubuntu", host: "1.2.3.4" }],
    ["ssh -i /k -p 2222 root@10.0.0.1", { identityFile: "/k", port: 2222, user: "root", host: "10.0.0.1" }],
    ["ssh -o StrictHostKeyChecking=no -i '/a b/k' u@h", { identityFile: "/a b/k", user: "u", host: "h" }],
    ["ssh -o Port=2200 -l admin host", { port: 2200, user: "admin", host: "host" }],
    ["ssh 1.2.3.4", { host: "1.2.3.4" }],
  ])("%s", (line, expected) => {
    expect(parseSshCommand(line)).toEqual(expected);
  });
});

describe("names", () => {
  it("artifact env names and Forge's normalised keys", () => {
    expect(toEnvVarName("test-vm.a")).toBe("TEST_VM_A");
    expect(forgeEnvKey("testenv-vm.vm.test-vm.ip")).toBe("TESTENV_VM_VM_TEST_VM_IP");
    expect(forgeEnvKey("testenv-vm.stateDir")).toBe("TESTENV_VM_STATEDIR");
  });
});

describe("flatFromArtifact", () => {
  it("resolves artifact files against the tmpDir given, never the cwd", () => {
    const flat = flatFromArtifact(artifact, { tmpDir: "/tmp/forge" });
    expect(flat.testID).toBe(artifact.testID);
    expect(flat.stateDir).toBe("/var/state");
    expect(flat.prefix).toBe("8abab3");
    expect(flat.privateKeys.get("VM_SSH")).toBe("/tmp/forge/test-e2e-20250101-abcd1234/keys/8abab3-vm-ssh");
    expect(flat.vms.get("TEST_VM")).toEqual({ name: "test-vm", ip: "192.168.236.57", sshCommand: artifact.env.TESTENV_VM_TEST_VM_SSH });
  });

  it("without a tmpDir, a relative file is not guessed; the absolute env path is used", () => {
    const flat = flatFromArtifact(artifact);
    expect([...flat.privateKeys.values()]).toEqual(["/tmp/forge/test-e2e-20250101-abcd1234/keys/8abab3-vm-ssh"]);
  });

  it("gives an SSH target with user, port and key from the ssh command", () => {
    const target = targetFromFlat(flatFromArtifact(artifact, { tmpDir: "/tmp/forge" }), "test-vm");
    expect(target).toMatchObject({ name: "test-vm", host: "192.168.236.57", port: 2222, user: "ubuntu" });
    expect(target.privateKeyPath).toBe("/tmp/forge/test-e2e-20250101-abcd1234/keys/8abab3-vm-ssh");
  });

  it("names the known VMs when asked for an unknown one", () => {
    expect(() => targetFromFlat(flatFromArtifact(artifact), "web")).toThrow(/vm "web" is not in .*known: test-vm/);
  });
});

describe("flatFromForgeEnv", () => {
  // What a Forge test runner sets for the artifact above (contract §1.4).
  const env: NodeJS.ProcessEnv = {
    ...artifact.env,
    FORGE_TESTENV_TMPDIR: "/proj/.forge/tmp/test-e2e-20250101-abcd1234",
    FORGE_ARTIFACT_TESTENV_VM_KEY_VM_SSH: "/proj/.forge/tmp/test-e2e-20250101-abcd1234/test-e2e-20250101-abcd1234/keys/8abab3-vm-ssh",
    FORGE_METADATA_TESTENV_VM_STATEDIR: "/proj/.forge/testenv-vm",
    FORGE_METADATA_TESTENV_VM_VM_TEST_VM_IP: "192.168.236.57",
    FORGE_METADATA_TESTENV_VM_VM_TEST_VM_MAC: "52:54:00:00:00:01",
    PATH: "/usr/bin",
  };

  it("finds testID (from the tmpDir name), stateDir, prefix, VMs and keys", () => {
    const flat = flatFromForgeEnv(env);
    expect(flat.testID).toBe("test-e2e-20250101-abcd1234");
    expect(flat.stateDir).toBe("/proj/.forge/testenv-vm");
    expect(flat.tmpDir).toBe("/proj/.forge/tmp/test-e2e-20250101-abcd1234");
    expect(flat.prefix).toBe("8abab3");
    expect(flat.vms.get("TEST_VM")?.ip).toBe("192.168.236.57");
    expect(targetFromFlat(flat, "test-vm")).toMatchObject({ host: "192.168.236.57", port: 2222, user: "ubuntu" });
  });

  it("prefers an explicit testID in metadata", () => {
    expect(flatFromForgeEnv({ ...env, FORGE_METADATA_TESTENV_VM_TESTID: "other-id" }).testID).toBe("other-id");
  });

  it("falls back to the only key when a VM has no ssh command", () => {
    const { TESTENV_VM_TEST_VM_SSH: _ssh, ...withoutSsh } = env;
    const target = targetFromFlat(flatFromForgeEnv(withoutSsh), "test-vm");
    expect(target.user).toBe("root");
    expect(target.port).toBe(22);
    expect(target.privateKeyPath).toMatch(/8abab3-vm-ssh$/);
  });
});
