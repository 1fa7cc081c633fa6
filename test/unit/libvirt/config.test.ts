import { describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.js";
import { chooseAccelerator } from "../../../providers/libvirt/accel.js";
import { resolveConfig } from "../../../providers/libvirt/config.js";
import { capabilities } from "../../../providers/libvirt/provider.js";
import type { ProviderContext } from "../../../providers/kit/index.js";

function context(config: Record<string, unknown>, prefix?: string): ProviderContext {
  return { config, configName: undefined, testID: "t", prefix, artifactDir: "/art", stateDir: undefined, log: createLogger("test") };
}

describe("provider config", () => {
  it("uri: config, then TESTENV_VM_LIBVIRT_URI, then qemu:///system", () => {
    expect(resolveConfig(context({ uri: "qemu:///session" }), { TESTENV_VM_LIBVIRT_URI: "test:///default" }).uri).toBe("qemu:///session");
    expect(resolveConfig(context({}), { TESTENV_VM_LIBVIRT_URI: "test:///default" }).uri).toBe("test:///default");
    expect(resolveConfig(context({}), {}).uri).toBe("qemu:///system");
  });

  it("defaults: dataDir per prefix, accelerator auto, machine pc", () => {
    const config = resolveConfig(context({}, "8abab3"), {});
    expect(config.dataDir.endsWith("/testenv-vm/8abab3")).toBe(true);
    expect(config).toMatchObject({ accelerator: "auto", machine: "pc", prefix: "8abab3", artifactDir: "/art" });
    expect(resolveConfig(context({}), {}).dataDir.endsWith("/testenv-vm/default")).toBe(true);
  });

  it("rejects unknown fields and bad values, naming the field", () => {
    expect(() => resolveConfig(context({ acelerator: "kvm" }), {})).toThrow(/acelerator/);
    expect(() => resolveConfig(context({ accelerator: "hvf" }), {})).toThrow(/providers\[libvirt\]\.spec\.accelerator/);
    expect(() => resolveConfig(context({ bridgePrefix: "Way-Too-Long-Prefix" }), {})).toThrow(/bridgePrefix/);
  });

  it("an explicit accelerator skips the probe", async () => {
    expect(await chooseAccelerator("tcg", createLogger("test"))).toBe("tcg");
    expect(await chooseAccelerator("kvm", createLogger("test"))).toBe("kvm");
  });
});

describe("capabilities", () => {
  it("names every network kind and key type", () => {
    const caps = capabilities("1.2.3");
    expect(caps.providerName).toBe("libvirt");
    expect(caps.resources.find((r) => r.kind === "network")?.networkKinds).toEqual(["bridge", "libvirt", "dnsmasq", "nat", "isolated"]);
    expect(caps.resources.find((r) => r.kind === "key")?.keyTypes).toEqual(["ed25519", "rsa", "ecdsa"]);
  });
});
