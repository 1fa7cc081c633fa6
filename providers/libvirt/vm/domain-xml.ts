import type { z } from "zod";
import type { BootDevice } from "../../../api/spec.js";
import { el, renderXml, type XmlElement } from "../xml.js";
import { hostQemuArch } from "../host-arch.js";
import { metadataElement, type DomainMetadata } from "./metadata.js";

export type Boot = z.infer<typeof BootDevice>;

export type NicAttachment = { type: "network"; network: string; mac: string } | { type: "bridge"; bridge: string; mac: string };

export interface DomainInput {
  name: string;
  accelerator: "kvm" | "tcg";
  memoryMiB: number;
  vcpus: number;
  machine: string;
  cpuModel: string | undefined;
  firmware: "bios" | "uefi";
  secureBoot: boolean;
  nvramPath: string | undefined;
  tpm: boolean;
  bootOrder: readonly Boot[];
  diskPath: string;
  seedIsoPath: string | undefined;
  nics: readonly NicAttachment[];
  consoleLog: string;
  metadata: DomainMetadata;
  /** QEMU architecture of the guest; default the host's. */
  arch?: string;
}

function bootIndex(order: readonly Boot[], device: Boot): number | undefined {
  const index = order.indexOf(device);
  return index < 0 ? undefined : index + 1;
}

function osElement(input: DomainInput): XmlElement {
  // Secure boot needs SMM, which only q35 offers.
  const machine = input.secureBoot && input.machine === "pc" ? "q35" : input.machine;
  const type = el("type", { arch: input.arch ?? hostQemuArch(), machine }, "hvm");
  if (input.firmware === "bios") return el("os", {}, type);
  return el(
    "os",
    { firmware: "efi" },
    type,
    el(
      "firmware",
      {},
      el("feature", { enabled: input.secureBoot ? "yes" : "no", name: "enrolled-keys" }),
      el("feature", { enabled: input.secureBoot ? "yes" : "no", name: "secure-boot" }),
    ),
    input.nvramPath ? el("nvram", {}, input.nvramPath) : undefined,
  );
}

function cpuElement(input: DomainInput): XmlElement | undefined {
  if (input.cpuModel) return el("cpu", { mode: "custom", match: "exact", check: "none" }, el("model", { fallback: "allow" }, input.cpuModel));
  return input.accelerator === "kvm" ? el("cpu", { mode: "host-passthrough", check: "none" }) : undefined;
}

function nicElement(nic: NicAttachment, boot: number | undefined): XmlElement {
  const source = nic.type === "network" ? el("source", { network: nic.network }) : el("source", { bridge: nic.bridge });
  return el("interface", { type: nic.type }, source, el("mac", { address: nic.mac }), el("model", { type: "virtio" }), boot ? el("boot", { order: boot }) : undefined);
}

export function domainXml(input: DomainInput): string {
  const order = input.bootOrder.length > 0 ? input.bootOrder : (["hd"] as const);
  const hdBoot = bootIndex(order, "hd");
  const cdBoot = bootIndex(order, "cdrom");
  const netBoot = bootIndex(order, "network");
  const devices = el(
    "devices",
    {},
    el(
      "disk",
      { type: "file", device: "disk" },
      el("driver", { name: "qemu", type: "qcow2", discard: "unmap" }),
      el("source", { file: input.diskPath }),
      el("target", { dev: "vda", bus: "virtio" }),
      hdBoot ? el("boot", { order: hdBoot }) : undefined,
    ),
    // The seed CD-ROM sits on virtio-scsi: OVMF + i440fx cannot see IDE CD-ROMs and the cloud kernel has no AHCI.
    el("controller", { type: "scsi", index: 0, model: "virtio-scsi" }),
    input.seedIsoPath
      ? el(
          "disk",
          { type: "file", device: "cdrom" },
          el("driver", { name: "qemu", type: "raw" }),
          el("source", { file: input.seedIsoPath }),
          el("target", { dev: "sda", bus: "scsi" }),
          el("readonly"),
          cdBoot ? el("boot", { order: cdBoot }) : undefined,
        )
      : undefined,
    // Only the first NIC network-boots; the others would just repeat the same PXE attempt.
    ...input.nics.map((nic, index) => nicElement(nic, index === 0 ? netBoot : undefined)),
    el("serial", { type: "pty" }, el("log", { file: input.consoleLog, append: "off" }), el("target", { port: 0 })),
    el("console", { type: "pty" }, el("target", { type: "serial", port: 0 })),
    el("rng", { model: "virtio" }, el("backend", { model: "random" }, "/dev/urandom")),
    input.tpm ? el("tpm", { model: "tpm-crb" }, el("backend", { type: "emulator", version: "2.0" })) : undefined,
    el("memballoon", { model: "none" }),
  );
  return renderXml(
    el(
      "domain",
      { type: input.accelerator === "kvm" ? "kvm" : "qemu" },
      el("name", {}, input.name),
      metadataElement(input.metadata),
      el("memory", { unit: "MiB" }, input.memoryMiB),
      el("vcpu", { placement: "static" }, input.vcpus),
      osElement(input),
      el("features", {}, el("acpi"), el("apic"), input.secureBoot ? el("smm", { state: "on" }) : undefined),
      cpuElement(input),
      el("clock", { offset: "utc" }),
      el("on_poweroff", {}, "destroy"),
      el("on_reboot", {}, "restart"),
      el("on_crash", {}, "destroy"),
      devices,
    ),
  );
}

/** Bytes per unit of libvirt's `unit` attribute (libvirt's own table: powers of 1000 for KB/MB/..., else of 1024). */
const MEMORY_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  bytes: 1,
  KB: 1e3,
  k: 1024,
  KiB: 1024,
  MB: 1e6,
  M: 1024 ** 2,
  MiB: 1024 ** 2,
  GB: 1e9,
  G: 1024 ** 3,
  GiB: 1024 ** 3,
  TB: 1e12,
  T: 1024 ** 4,
  TiB: 1024 ** 4,
};

export interface DomainSize {
  memoryMiB?: number;
  vcpus?: number;
}

/**
 * Memory (MiB) and vCPUs a domain's XML gives it, as libvirt reports them (dumpxml of a running domain shows what
 * it runs with): what a live status compares with the request. A field libvirt's XML lacks stays undefined.
 */
export function domainSize(xml: string): DomainSize {
  // Our metadata is escaped JSON and holds no tags, but it is cut out anyway: only the domain's own elements count.
  const body = xml.replace(/<metadata>[\s\S]*?<\/metadata>/, "");
  const size: DomainSize = {};
  const memory = /<memory\b([^>]*)>\s*(\d+)\s*<\/memory>/.exec(body);
  if (memory?.[2] !== undefined) {
    const unit = /\bunit=["']([A-Za-z]+)["']/.exec(memory[1] ?? "")?.[1] ?? "KiB";
    const bytes = MEMORY_UNITS[unit];
    if (bytes !== undefined) size.memoryMiB = Math.round((Number(memory[2]) * bytes) / 1024 ** 2);
  }
  const vcpu = /<vcpu\b([^>]*)>\s*(\d+)\s*<\/vcpu>/.exec(body);
  if (vcpu?.[2] !== undefined) {
    // `current` is how many are online when fewer than the maximum are.
    const current = /\bcurrent=["'](\d+)["']/.exec(vcpu[1] ?? "")?.[1];
    size.vcpus = Number(current ?? vcpu[2]);
  }
  return size;
}
