import type { MachineChange, MachineSpec } from "../../../api/vm-manifest.js";
import { invalidSpec } from "../../kit/index.js";
import { GRAPHICS_LISTEN, wantsSecureBoot } from "./desired-xml.js";
import { normalCpuModel, type ObservedMachine } from "./observe.js";

// The plan for one manifest VM: each manifest field whose live value differs, old and new, and whether it waits for
// a power cycle. An empty plan means sync leaves the domain alone (no define at all).

export const GIB = 1024 ** 3;
const NONE = "(none)";

/** Changes carried out by defining the domain anew; the others are autostart and the disk's size. */
const DOMAIN_FIELDS = new Set(["memory_gb", "vcpus", "boot", "secure_boot", "tpm", "disk_path", "network", "graphics", "graphics.listen", "iso_sources", "cpu_model", "owner"]);

export function needsDefine(changes: readonly MachineChange[]): boolean {
  return changes.some((change) => DOMAIN_FIELDS.has(change.field));
}

export interface LiveFacts {
  /** undefined: the domain does not exist. */
  observed: ObservedMachine | undefined;
  autostart: boolean | undefined;
  /** The disk's virtual size in bytes; undefined when disk_path does not exist yet. */
  diskBytes: number | undefined;
}

/** A disk within its last GiB counts as that many GiB: capture writes the size rounded up, and it must compare equal. */
export function diskGiB(bytes: number): number {
  return Math.ceil(bytes / GIB);
}

function change(field: string, from: string | undefined, to: string, needsRestart = true): MachineChange | undefined {
  const before = from ?? NONE;
  return before === to ? undefined : { field, from: before, to, needsRestart };
}

const gib = (mib: number | undefined): string | undefined => (mib === undefined ? undefined : `${Number((mib / 1024).toFixed(3))} GiB`);

export function planMachine(name: string, spec: MachineSpec, manifestPath: string, live: LiveFacts): MachineChange[] {
  const seen = live.observed;
  const graphicsNow = seen === undefined ? undefined : (seen.graphics?.type ?? "none");
  const changes = [
    change("memory_gb", gib(seen?.memoryMiB), `${spec.memory_gb} GiB`),
    change("vcpus", seen?.vcpus?.toString(), String(spec.vcpus)),
    change("boot", seen?.boot, spec.boot),
    spec.boot === "uefi" ? change("secure_boot", seen === undefined ? undefined : String(seen.secureBoot), String(wantsSecureBoot(spec))) : undefined,
    change("tpm", seen?.tpm, spec.tpm),
    change("disk_path", seen?.disk?.path, spec.disk_path),
    change("network", seen?.network?.name, spec.network),
    change("graphics", graphicsNow, spec.graphics),
    spec.graphics !== "none" && seen?.graphics !== undefined && seen.graphics.type === spec.graphics
      ? change("graphics.listen", seen.graphics.listen ?? "(all interfaces)", GRAPHICS_LISTEN)
      : undefined,
    change("iso_sources", seen === undefined ? undefined : seen.isoPaths.join(", ") || "[]", spec.iso_sources.map((iso) => iso.path).join(", ") || "[]"),
    change("cpu_model", seen === undefined ? undefined : (seen.cpuModel ?? "(default)"), normalCpuModel(spec.cpu_model) ?? "(default)"),
    change("owner", seen === undefined ? undefined : (seen.metadata?.manifest ?? "(not managed: adopted now)"), manifestPath, false),
    change("autostart", live.autostart?.toString(), String(spec.autostart), false),
    diskSizeChange(name, spec, live.diskBytes),
  ];
  return changes.filter((c): c is MachineChange => c !== undefined);
}

function diskSizeChange(name: string, spec: MachineSpec, bytes: number | undefined): MachineChange | undefined {
  if (bytes === undefined) return { field: "disk_size_gb", from: "(no disk)", to: `${spec.disk_size_gb} GiB (new qcow2)`, needsRestart: false };
  const current = diskGiB(bytes);
  if (spec.disk_size_gb < current) {
    throw invalidSpec(`vms.${name}.disk_size_gb: ${spec.disk_size_gb} GiB is smaller than ${spec.disk_path} (${current} GiB); disks are grown, never shrunk`);
  }
  return spec.disk_size_gb > current ? { field: "disk_size_gb", from: `${current} GiB`, to: `${spec.disk_size_gb} GiB`, needsRestart: true } : undefined;
}
