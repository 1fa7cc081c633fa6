import { describe, expect, it } from "vitest";
import { providerEnvironment } from "../../../src/provider/env.js";
import { supportsIn } from "../../../src/provider/client.js";

describe("providerEnvironment", () => {
  it("passes only allowlisted variables, TESTENV_VM_* and FORGE_*, plus extras", () => {
    const env = providerEnvironment(
      {
        HOME: "/home/u",
        PATH: "/bin",
        LANG: "C.UTF-8",
        LIBVIRT_DEFAULT_URI: "qemu:///system",
        AWS_SECRET_ACCESS_KEY: "secret",
        GITHUB_TOKEN: "t",
        TESTENV_VM_LOG: "debug",
        FORGE_RUN_LOCAL_ENABLED: "true",
        BASH_FUNC_x: "() { :; }",
        TERM: "() { evil; }",
      },
      { TESTENV_VM_PROVIDER_CONFIG: "{}", PATH: "/override" },
    );
    expect(env).toEqual({
      HOME: "/home/u",
      PATH: "/override",
      LANG: "C.UTF-8",
      LIBVIRT_DEFAULT_URI: "qemu:///system",
      TESTENV_VM_LOG: "debug",
      FORGE_RUN_LOCAL_ENABLED: "true",
      TESTENV_VM_PROVIDER_CONFIG: "{}",
    });
  });
});

describe("supportsIn", () => {
  const capabilities = {
    providerName: "p",
    version: "1",
    resources: [
      { kind: "network" as const, operations: ["create" as const, "delete" as const], networkKinds: ["nat", "bridge"] },
      { kind: "key" as const, operations: ["create" as const] },
    ],
  };

  it("checks kind, operation and declared network kinds", () => {
    expect(supportsIn(capabilities, "network", "create", { networkKind: "NAT" })).toBe(true);
    expect(supportsIn(capabilities, "network", "create", { networkKind: "dnsmasq" })).toBe(false);
    expect(supportsIn(capabilities, "network", "get")).toBe(false);
    expect(supportsIn(capabilities, "vm", "create")).toBe(false);
  });

  it("accepts any key type when the provider lists none (original providers)", () => {
    expect(supportsIn(capabilities, "key", "create", { keyType: "ecdsa" })).toBe(true);
  });
});
