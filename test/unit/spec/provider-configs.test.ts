import { describe, expect, it } from "vitest";
import { BUNDLED_PROVIDER_CONFIGS } from "../../../api/provider-configs.js";
import { LibvirtProviderConfig } from "../../../providers/libvirt/config.js";
import { PodmanProviderConfig } from "../../../providers/podman/config.js";
import { StubConfig } from "../../../providers/stub/config.js";
import { bundledProviderBins } from "../../../src/provider/bundled.js";
import { parseSpec, parseSpecText } from "../../../src/spec/load.js";
import { validateEarly } from "../../../src/spec/validate.js";
import { validateSpec } from "../../../src/orchestrator/validate.js";

// A bundled provider's config is checked in phase 1, against the very schema the provider parses when it starts.

function specWith(engine: string, config: Record<string, unknown>): Record<string, unknown> {
  return {
    providers: [{ name: "p", engine, spec: config }],
    networks: [{ name: "lan", kind: "bridge", spec: { cidr: "10.70.0.0/24" } }],
  };
}

const fieldsOf = (raw: Record<string, unknown>): string[] => validateEarly(parseSpec(raw)).map((issue) => issue.field).sort();

describe("bundled provider config in phase 1", () => {
  it("covers every provider this package ships, with the schema the provider itself parses", () => {
    expect(Object.keys(BUNDLED_PROVIDER_CONFIGS).sort()).toEqual(Object.keys(bundledProviderBins()).sort());
    expect(BUNDLED_PROVIDER_CONFIGS["testenv-vm-provider-libvirt"]).toBe(LibvirtProviderConfig);
    expect(BUNDLED_PROVIDER_CONFIGS["testenv-vm-provider-podman"]).toBe(PodmanProviderConfig);
    expect(BUNDLED_PROVIDER_CONFIGS["testenv-vm-provider-stub"]).toBe(StubConfig);
  });

  it("names each refused field under providers[i].spec, with what was expected and given", () => {
    const issues = validateEarly(parseSpec(specWith("testenv-vm-provider-libvirt", { uri: 5, bogus: true, accelerator: "fast" })));
    expect(issues.map(({ field, message }) => [field, message])).toEqual(
      expect.arrayContaining([
        ["providers[0].spec.uri", "expected a string, got the number 5"],
        ["providers[0].spec.accelerator", 'must be one of: auto, kvm, tcg; got the string "fast"'],
        ["providers[0].spec.bogus", expect.stringMatching(/^unknown field `bogus`; allowed: uri, dataDir, accelerator/)],
      ]),
    );
    expect(issues).toHaveLength(3);
  });

  it("checks podman and stub too, nested fields included", () => {
    expect(fieldsOf(specWith("testenv-vm-provider-podman", { baseImage: { suite: "Bookworm!" }, ulimits: ["nofile"] }))).toEqual([
      "providers[0].spec.baseImage.suite",
      "providers[0].spec.ulimits[0]",
    ]);
    expect(fieldsOf(specWith(" testenv-vm-provider-stub ", { store: 5, faults: [{ tool: "no_such_tool" }] }))).toEqual([
      "providers[0].spec.faults[0].tool",
      "providers[0].spec.store",
    ]);
  });

  it("accepts valid configs, an absent one, and leaves other engines' configs to their provider", () => {
    expect(fieldsOf(specWith("testenv-vm-provider-libvirt", { uri: "qemu:///system", accelerator: "tcg", ssh: { key: "/k" } }))).toEqual([]);
    expect(fieldsOf({ providers: [{ name: "p", engine: "testenv-vm-provider-podman" }], networks: [] })).toEqual([]);
    expect(fieldsOf(specWith("testenv-vm-provider-external", { anything: [1, 2] }))).toEqual([]);
    expect(fieldsOf(specWith("/opt/libvirt/testenv-vm-provider-libvirt", { uri: 5 }))).toEqual([]);
  });

  it("points at the line of the refused field", () => {
    const text = "providers:\n  - name: lv\n    engine: testenv-vm-provider-libvirt\n    spec:\n      uri: 5\nnetworks: []\n";
    const { spec, locate } = parseSpecText(text);
    expect(validateEarly(spec, locate)).toEqual([expect.objectContaining({ field: "providers[0].spec.uri", line: 5 })]);
  });

  it("makes validateSpec (validate and config-validate) refuse the spec", () => {
    expect(validateSpec(specWith("testenv-vm-provider-libvirt", { uri: 5 }))).toEqual({
      valid: false,
      errors: [{ field: "providers[0].spec.uri", message: "expected a string, got the number 5" }],
    });
  });
});

describe("engines that do not resolve", () => {
  const lookup = { cwd: "/nonexistent-dir-for-test", env: { PATH: "/nonexistent-dir-for-test/bin" } };

  it("are refused by validate when it is told where a create would look, without running anything", () => {
    const result = validateSpec(specWith("./bin/missing-provider", {}), { engineLookup: lookup });
    expect(result.errors).toEqual([{ field: "providers[0].engine", message: expect.stringContaining("does not exist") as string }]);
    const onPath = validateSpec(specWith("testenv-vm-provider-nowhere", {}), { engineLookup: lookup });
    expect(onPath.errors).toEqual([{ field: "providers[0].engine", message: expect.stringContaining("not found in PATH") as string }]);
  });

  it("accept a bundled provider wherever PATH points, and report an engine the policy refuses once", () => {
    expect(validateSpec(specWith("testenv-vm-provider-stub", {}), { engineLookup: lookup })).toEqual({ valid: true });
    const refused = validateSpec(specWith("./bin/missing-provider", {}), { engineLookup: lookup, enginePolicy: "installed" });
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors?.[0]?.message).toContain("this server runs only installed providers");
  });
});
