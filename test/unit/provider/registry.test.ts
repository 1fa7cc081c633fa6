import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CapabilitiesResponse } from "../../../api/provider.js";
import { bundledProviderBins, providerNameOfBin } from "../../../src/provider/bundled.js";
import { parseNeeds, unmetNeeds } from "../../../src/provider/needs.js";
import { discoverProviders } from "../../../src/provider/registry.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function pathWith(names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "registry-test-"));
  dirs.push(dir);
  for (const name of names) {
    writeFileSync(join(dir, name), "#!/bin/sh\nexit 0\n");
    chmodSync(join(dir, name), 0o755);
  }
  mkdirSync(join(dir, "testenv-vm-provider-a-directory"));
  writeFileSync(join(dir, "testenv-vm-provider-not-executable"), "");
  return dir;
}

describe("the provider registry", () => {
  it("finds the bundled providers from the package's testenv-vm-provider-* bins, naming none itself", () => {
    const bins = bundledProviderBins();
    expect(Object.keys(bins)).toEqual(expect.arrayContaining(["testenv-vm-provider-stub", "testenv-vm-provider-libvirt"]));
    for (const [bin, script] of Object.entries(bins)) expect(script).toBe(`dist/providers/${providerNameOfBin(bin)}/bin.js`);
    const found = discoverProviders({ cwd: process.cwd(), env: { PATH: "" } });
    expect(found.filter((c) => c.source === "bundled").map((c) => c.name)).toEqual(Object.keys(bins).sort().map(providerNameOfBin));
  });

  it("adds every executable testenv-vm-provider-* on PATH once, and lets the bundled one win over a PATH copy", () => {
    const dir = pathWith(["testenv-vm-provider-zeta", "testenv-vm-provider-stub", "unrelated-tool"]);
    const found = discoverProviders({ cwd: "/", env: { PATH: `${dir}:${dir}` } });
    const fromPath = found.filter((c) => c.source === "path");
    expect(fromPath).toEqual([{ name: "zeta", engine: "testenv-vm-provider-zeta", source: "path" }]);
    expect(found.filter((c) => c.engine === "testenv-vm-provider-stub")).toHaveLength(1);
  });

  it("takes the spec's providers with their names and config, replacing the entry of the same engine", () => {
    const found = discoverProviders({
      cwd: "/",
      env: { PATH: "" },
      specProviders: [
        { name: "fast", engine: "testenv-vm-provider-stub", spec: { delayMs: 1 } },
        { name: "mine", engine: "./bin/my-provider" },
      ],
    });
    expect(found.find((c) => c.engine === "testenv-vm-provider-stub")).toEqual({ name: "fast", engine: "testenv-vm-provider-stub", source: "spec", config: { delayMs: 1 } });
    expect(found.at(-1)).toEqual({ name: "mine", engine: "./bin/my-provider", source: "spec" });
  });
});

describe("needs", () => {
  const capabilities: CapabilitiesResponse = {
    providerName: "x",
    version: "1",
    resources: [
      { kind: "key", operations: ["create"], keyTypes: ["ed25519"] },
      { kind: "network", operations: ["create"], networkKinds: ["nat"] },
      { kind: "vm", operations: ["create"], vmFeatures: ["uefi", "multiNic"] },
    ],
  };

  it("are met by kinds, VM features, network kinds and key types, case-insensitively, plain or qualified", () => {
    expect(unmetNeeds(capabilities, ["vm", "UEFI", "multinic", "nat", "network:nat", "key:ed25519", "ed25519"])).toEqual([]);
  });

  it("lists what is not covered, in the order asked", () => {
    expect(unmetNeeds(capabilities, ["tpm", "uefi", "container", "key:rsa"])).toEqual(["tpm", "container", "key:rsa"]);
  });

  it("parse from a comma list", () => {
    expect(parseNeeds(" uefi, tpm,,pxe ")).toEqual(["uefi", "tpm", "pxe"]);
    expect(parseNeeds(undefined)).toEqual([]);
  });
});
