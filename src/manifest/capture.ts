import { expandHome } from "../../lib/home.js";
import { VmManifest, type MachineCapture, type MachineSpec } from "../../api/vm-manifest.js";
import { TestenvError } from "../errors.js";

// Capture writes what libvirt reports back into the manifest, in the user's own spelling where it means the same
// thing (a ~ path, an ISO URL whose cached file is attached), and without defaults the user had not written, so
// that `sync` right after `capture` changes nothing and the file stays recognisably theirs.

type RawEntry = Record<string, unknown>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** One captured VM as a manifest entry; `existing` is the entry as written, `resolved` its ISOs as files. */
export function captureEntry(vm: MachineSpec, existing: RawEntry | undefined, resolved: MachineSpec | undefined, home?: string): RawEntry {
  const had = (field: string): boolean => existing !== undefined && field in existing;
  const rawIsos = Array.isArray(existing?.iso_sources) ? (existing.iso_sources as unknown[]) : [];
  const isoSources = vm.iso_sources.map(({ path }, index) => {
    const written = rawIsos[index];
    if (isRecord(written) && typeof written.path === "string" && expandHome(written.path, home) === path) return written;
    if (isRecord(written) && typeof written.url === "string" && resolved?.iso_sources[index]?.path === path) return written;
    return { path };
  });
  const diskPath = typeof existing?.disk_path === "string" && expandHome(existing.disk_path, home) === vm.disk_path ? existing.disk_path : vm.disk_path;
  const secureBoot = vm.secure_boot ?? (vm.boot === "uefi" && vm.tpm === "2.0");
  return {
    memory_gb: vm.memory_gb,
    vcpus: vm.vcpus,
    disk_path: diskPath,
    disk_size_gb: vm.disk_size_gb,
    ...(had("create_if_missing") ? { create_if_missing: existing?.create_if_missing } : {}),
    boot: vm.boot,
    ...(vm.tpm !== "none" || had("tpm") ? { tpm: vm.tpm } : {}),
    network: vm.network,
    graphics: vm.graphics,
    ...(isoSources.length > 0 || had("iso_sources") ? { iso_sources: isoSources } : {}),
    ...(vm.autostart || had("autostart") ? { autostart: vm.autostart } : {}),
    ...(vm.cpu_model !== undefined ? { cpu_model: vm.cpu_model } : {}),
    ...(vm.boot === "uefi" && (vm.secure_boot !== undefined || had("secure_boot")) ? { secure_boot: secureBoot } : {}),
  };
}

/** The manifest document with every captured VM written in; missing domains leave their entries alone. */
export function mergeCaptured(raw: unknown, captures: readonly MachineCapture[], resolved: Readonly<Record<string, MachineSpec>> = {}): { document: Record<string, unknown>; written: string[] } {
  const document: Record<string, unknown> = isRecord(raw) ? { ...raw } : {};
  const vms: Record<string, unknown> = isRecord(document.vms) ? { ...document.vms } : {};
  const written: string[] = [];
  for (const capture of captures) {
    if (capture.vm === undefined) continue;
    const existing = vms[capture.name];
    vms[capture.name] = captureEntry(capture.vm, isRecord(existing) ? existing : undefined, resolved[capture.name]);
    written.push(capture.name);
  }
  document.vms = vms;
  const check = VmManifest.safeParse(document);
  if (!check.success) {
    throw new TestenvError("INTERNAL", `captured manifest does not validate: ${check.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return { document, written };
}
