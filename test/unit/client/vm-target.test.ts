import { describe, expect, it } from "vitest";
import type { EnvironmentState, ResourceRecord } from "../../../api/state.js";
import { targetFromState } from "../../../src/client/vm-target.js";
import { TestenvError } from "../../../src/errors.js";

const at = "2026-01-01T00:00:00.000Z";
const keyRecord = (name: string, publicKey: string, privateKeyPath: string): ResourceRecord => ({
  kind: "key",
  name,
  providerName: `abc123-${name}`,
  provider: "stub",
  engine: "stub",
  status: "ready",
  state: { name, type: "ed25519", publicKey, publicKeyPath: `${privateKeyPath}.pub`, privateKeyPath, fingerprint: "SHA256:x" },
  updatedAt: at,
});

function environment(vm: Partial<ResourceRecord>): EnvironmentState {
  return {
    version: 1,
    id: "env-1",
    stage: "e2e",
    status: "ready",
    createdAt: at,
    updatedAt: at,
    specHash: "h",
    spec: { providers: [{ name: "stub", engine: "stub" }] },
    providers: [{ name: "stub", engine: "stub" }],
    prefix: "abc123",
    subnetOctet: 42,
    stateDir: "/state",
    artifactDir: "/forge/tmp/env-1",
    tmpDir: "/forge/tmp",
    rootDir: "/project",
    resources: {
      keys: {
        admin: keyRecord("admin", "ssh-ed25519 AAAAadmin admin", "/keys/admin"),
        deploy: keyRecord("deploy", "ssh-ed25519 AAAAdeploy deploy@host", "/keys/deploy"),
      },
      networks: {},
      vms: {
        web: { kind: "vm", name: "web", providerName: "abc123-web", provider: "stub", engine: "stub", status: "ready", updatedAt: at, ...vm },
      },
    },
    executionPlan: { phases: [] },
    errors: [],
  };
}

const request = (spec: Record<string, unknown>): Record<string, unknown> => ({ name: "abc123-web", spec });

describe("targetFromState", () => {
  it("uses the VM's reported ip, port and user, and the key authorized for that user", () => {
    const state = environment({
      state: { name: "abc123-web", status: "running", ip: "192.168.42.10", sshUser: "ops", sshPort: 2222 },
      request: request({ cloudInit: { users: [{ name: "other", sshAuthorizedKeys: ["ssh-ed25519 AAAAadmin admin"] }, { name: "ops", sshAuthorizedKeys: ["ssh-ed25519 AAAAdeploy different-comment"] }] } }),
    });
    expect(targetFromState(state, "web")).toEqual({
      name: "web",
      providerName: "abc123-web",
      host: "192.168.42.10",
      port: 2222,
      user: "ops",
      privateKeyPath: "/keys/deploy",
      cloudInit: true,
      runtime: false,
    });
  });

  it("prefers readiness.ssh (user and key), then defaults to port 22", () => {
    const state = environment({
      state: { name: "abc123-web", status: "running", ip: "10.0.0.5" },
      request: request({ readiness: { ssh: { enabled: true, user: "ubuntu", privateKey: "keys/custom" } } }),
      runtime: true,
    });
    const target = targetFromState(state, "web");
    expect(target).toMatchObject({ host: "10.0.0.5", port: 22, user: "ubuntu", cloudInit: false, runtime: true });
    // A relative key path is relative to Forge's tmpDir, never to the cwd.
    expect(target.privateKeyPath).toBe("/forge/tmp/keys/custom");
  });

  it("falls back to the ssh command's -i/-p/user when nothing else says", () => {
    const state = environment({ state: { name: "abc123-web", status: "running", ip: "10.0.0.6", sshCommand: "ssh -i /k/web -p 2200 core@10.0.0.6" } });
    expect(targetFromState(state, "web")).toMatchObject({ user: "core", port: 2200, privateKeyPath: "/k/web" });
  });

  it("accepts overrides", () => {
    const state = environment({ state: { name: "abc123-web", status: "running", ip: "10.0.0.6", sshCommand: "ssh -i /k/web core@10.0.0.6" } });
    expect(targetFromState(state, "web", { user: "root", port: 2022, privateKeyPath: "/other" })).toMatchObject({ user: "root", port: 2022, privateKeyPath: "/other" });
  });

  it.each([
    ["an unknown VM", {}, "db", /vm "db" is not part of environment env-1 \(known: web\)/],
    ["a VM that is not ready", { status: "failed", error: "boom" }, "web", /vm "web" of environment env-1 is failed, not ready: boom/],
    ["a VM without an IP", { state: { name: "abc123-web", status: "running" } }, "web", /has no IP address recorded/],
    ["a VM with no way to pick among two keys", { state: { name: "abc123-web", status: "running", ip: "10.0.0.7" } }, "web", /no private key known for vm "web"/],
  ] as const)("explains %s", (_label, vm, name, message) => {
    const error = (() => {
      try {
        targetFromState(environment(vm), name);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TestenvError);
    expect((error as TestenvError).message).toMatch(message);
  });
});
