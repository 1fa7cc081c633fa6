import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { VmManifest, type MachineSpec } from "../../../api/vm-manifest.js";
import { TestenvError } from "../../../src/errors.js";
import { captureEntry, mergeCaptured } from "../../../src/manifest/capture.js";
import { resolveIsoSources } from "../../../src/manifest/isos.js";
import { findManifest, parseManifestText } from "../../../src/manifest/load.js";
import { VM_MANIFEST_SCHEMA_FILE, renderVmManifestSchema } from "../../../src/manifest/schema-export.js";
import { createLogger } from "../../../lib/log.js";

// The VM manifest on the engine side: the schema (errors that name the field), finding and loading the file, ISO
// URLs only with a sha256 or --allow-download, capture written back in the user's spelling, and the generated schema.

const ROOT = join(import.meta.dirname, "../../..");

/** The seed's Windows 11 example, as its user wrote it. */
const SEED_EXAMPLE = {
  vms: {
    win11: {
      memory_gb: 8,
      vcpus: 4,
      disk_path: "/var/lib/libvirt/images/win11.qcow2",
      disk_size_gb: 80,
      boot: "uefi",
      tpm: "2.0",
      network: "default",
      graphics: "spice",
      iso_sources: [{ path: "~/Downloads/Win11_25H2_English_x64.iso" }, { url: "https://fedorapeople.org/groups/virt/virtio-win/direct-downloads/stable-virtio/virtio-win.iso" }],
    },
  },
};

const vm = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({ ...SEED_EXAMPLE.vms.win11, ...overrides });

function issuesOf(document: unknown): string[] {
  try {
    parseManifestText(JSON.stringify(document), "/m/vms.json");
  } catch (error) {
    if (error instanceof TestenvError) return error.issues.map((issue) => `${issue.field}: ${issue.message}`);
    throw error;
  }
  return [];
}

describe("the manifest schema", () => {
  it("accepts the seed's example and fills the defaults", () => {
    const parsed = VmManifest.parse(SEED_EXAMPLE);
    expect(parsed.vms.win11).toMatchObject({ create_if_missing: false, tpm: "2.0", autostart: false });
    expect(VmManifest.parse({ vms: { a: vm({ tpm: undefined, iso_sources: undefined }) } }).vms.a).toMatchObject({ tpm: "none", iso_sources: [] });
  });

  it.each([
    ["memory_gb as a string", { vms: { w: vm({ memory_gb: "8" }) } }, "vms.w.memory_gb"],
    ["zero vcpus", { vms: { w: vm({ vcpus: 0 }) } }, "vms.w.vcpus"],
    ["fractional memory", { vms: { w: vm({ memory_gb: 1.5 }) } }, "vms.w.memory_gb"],
    ["an unknown boot", { vms: { w: vm({ boot: "coreboot" }) } }, "vms.w.boot"],
    ["tpm 1.2", { vms: { w: vm({ tpm: "1.2" }) } }, "vms.w.tpm"],
    ["graphics sdl", { vms: { w: vm({ graphics: "sdl" }) } }, "vms.w.graphics"],
    ["a missing disk_path", { vms: { w: vm({ disk_path: undefined }) } }, "vms.w.disk_path"],
    ["a missing network", { vms: { w: vm({ network: undefined }) } }, "vms.w.network"],
    ["an unknown field", { vms: { w: vm({ memory: 8 }) } }, "vms.w"],
    ["an ISO with path and url", { vms: { w: vm({ iso_sources: [{ path: "/a.iso", url: "https://x/a.iso" }] }) } }, "vms.w.iso_sources[0]"],
    ["an http ISO URL", { vms: { w: vm({ iso_sources: [{ url: "http://x/a.iso" }] }) } }, "vms.w.iso_sources[0]"],
    ["a bad sha256", { vms: { w: vm({ iso_sources: [{ url: "https://x/a.iso", sha256: "abc" }] }) } }, "vms.w.iso_sources[0]"],
    ["a bad domain name", { vms: { "bad name": vm() } }, "vms"],
    ["no vms", {}, "vms"],
    ["a top-level typo", { vms: {}, vm: {} }, "(root)"],
  ])("refuses %s, naming the field", (_label, document, field) => {
    const issues = issuesOf(document);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.some((issue) => issue.startsWith(field === "(root)" ? "" : field)), issues.join("\n")).toBe(true);
  });

  it("names the line of a bad field in a YAML manifest", () => {
    try {
      parseManifestText("vms:\n  w:\n    memory_gb: lots\n", "/m/vms.yaml");
      expect.unreachable();
    } catch (error) {
      expect((error as TestenvError).code).toBe("SPEC_INVALID");
      expect((error as TestenvError).issues[0]).toMatchObject({ field: "vms.w.memory_gb", line: 3 });
      expect((error as Error).message).toContain("VM manifest /m/vms.yaml is invalid");
    }
  });
});

describe("finding the manifest", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("takes ./manifests/vms.json, then ./vms.json; --manifest wins; none is SPEC_NOT_FOUND", () => {
    dir = mkdtempSync(join(tmpdir(), "vm-manifest-"));
    expect(() => findManifest(dir!, undefined)).toThrow(/no VM manifest: looked for \.\/manifests\/vms\.json/);
    writeFileSync(join(dir, "vms.json"), "{}");
    expect(findManifest(dir, undefined)).toBe(join(dir, "vms.json"));
    mkdirSync(join(dir, "manifests"));
    writeFileSync(join(dir, "manifests", "vms.json"), "{}");
    expect(findManifest(dir, undefined)).toBe(join(dir, "manifests", "vms.json"));
    expect(findManifest(dir, "other.yaml")).toBe(join(dir, "other.yaml"));
  });
});

describe("ISO URLs", () => {
  const options = { rootDir: "/", env: {}, log: createLogger("test"), fetch: true };

  it("are refused without sha256 or --allow-download, naming the entry", async () => {
    const definition = VmManifest.parse(SEED_EXAMPLE).vms.win11!;
    await expect(resolveIsoSources("win11", definition, { ...options, allowDownload: false })).rejects.toThrow(
      /vms\.win11\.iso_sources\[1\]: an ISO URL is downloaded only when the manifest pins its sha256 or you pass --allow-download/,
    );
  });

  it("leave path sources as they are", async () => {
    const definition = VmManifest.parse({ vms: { a: vm({ iso_sources: [{ path: "~/a.iso" }] }) } }).vms.a!;
    expect((await resolveIsoSources("a", definition, { ...options, allowDownload: false })).iso_sources).toEqual([{ path: "~/a.iso" }]);
  });
});

describe("capture", () => {
  const captured: MachineSpec = {
    memory_gb: 8,
    vcpus: 4,
    disk_path: "/home/u/vms/win11.qcow2",
    disk_size_gb: 80,
    create_if_missing: false,
    boot: "uefi",
    tpm: "2.0",
    network: "default",
    graphics: "spice",
    iso_sources: [{ path: "/home/u/Downloads/win.iso" }, { path: "/cache/abc/virtio-win.iso" }],
    autostart: false,
  };

  it("keeps the user's spelling: ~ paths, ISO URLs whose cached file is attached, create_if_missing", () => {
    const existing = {
      memory_gb: 4,
      vcpus: 4,
      disk_path: "~/vms/win11.qcow2",
      disk_size_gb: 80,
      create_if_missing: true,
      boot: "uefi",
      tpm: "2.0",
      network: "default",
      graphics: "spice",
      iso_sources: [{ path: "~/Downloads/win.iso" }, { url: "https://example.org/virtio-win.iso", sha256: "a".repeat(64) }],
    };
    const resolved = { ...captured, iso_sources: [{ path: "/home/u/Downloads/win.iso" }, { path: "/cache/abc/virtio-win.iso" }] };
    const entry = captureEntry(captured, existing, resolved, "/home/u");
    expect(entry).toEqual({ ...existing, memory_gb: 8 });
  });

  it("writes no defaults the user did not write, and adds a domain the manifest lacks", () => {
    const minimal = { ...captured, tpm: "none" as const, boot: "bios" as const, iso_sources: [] };
    const { document, written } = mergeCaptured({ $schema: "./vms.schema.json", vms: {} }, [{ name: "new", vm: minimal, notRoundTripped: [] }, { name: "gone", notRoundTripped: [] }]);
    expect(written).toEqual(["new"]);
    expect(document).toEqual({
      $schema: "./vms.schema.json",
      vms: { new: { memory_gb: 8, vcpus: 4, disk_path: "/home/u/vms/win11.qcow2", disk_size_gb: 80, boot: "bios", network: "default", graphics: "spice" } },
    });
  });
});

describe("vms.schema.json", () => {
  it(`${VM_MANIFEST_SCHEMA_FILE} matches api/vm-manifest.ts`, async () => {
    const committed = await readFile(join(ROOT, VM_MANIFEST_SCHEMA_FILE), "utf8").catch(() => "(missing)");
    expect(committed === renderVmManifestSchema(), `${VM_MANIFEST_SCHEMA_FILE} is out of date with api/vm-manifest.ts; run \`npm run generate\` and commit the result`).toBe(true);
  });

  it("is the seed's shape: vms of VmDefinition with the seed's required fields", () => {
    const schema = JSON.parse(renderVmManifestSchema()) as { required: string[]; $defs: { VmDefinition: { required: string[]; additionalProperties: boolean } } };
    expect(schema.required).toEqual(["vms"]);
    expect(schema.$defs.VmDefinition.required).toEqual(["memory_gb", "vcpus", "disk_path", "disk_size_gb", "boot", "network", "graphics"]);
    expect(schema.$defs.VmDefinition.additionalProperties).toBe(false);
  });
});
