import type { MachineSpec } from "../../../api/vm-manifest.js";
import { el, renderXml, type XmlElement } from "../xml.js";
import { machineMetadataElement, type MachineMetadata } from "./metadata.js";

// The domain XML a manifest VM asks for. Only fields the manifest names are set; what libvirt fills in (PCI
// addresses, controllers) is left to it, so an unchanged manifest compares equal however libvirt expands it.

/** Graphics and the serial console listen here only: never on the host's other interfaces. */
export const GRAPHICS_LISTEN = "127.0.0.1";

export type NetworkAttachment = { type: "network"; network: string } | { type: "bridge"; bridge: string };

export interface MachineXmlInput {
  name: string;
  spec: MachineSpec;
  accelerator: "kvm" | "tcg";
  /** Kept from the existing domain, so a redefinition updates it instead of failing. */
  uuid: string | undefined;
  /** Kept from the existing domain, so the guest's NIC (and its DHCP lease) stays the same. */
  mac: string | undefined;
  diskFormat: string;
  diskIsBlock: boolean;
  attachment: NetworkAttachment;
  metadata: MachineMetadata;
}

/** Secure boot as the manifest asks for it: explicit, else on for a Windows-11-style UEFI VM with TPM 2.0. */
export function wantsSecureBoot(spec: Pick<MachineSpec, "boot" | "tpm" | "secure_boot">): boolean {
  if (spec.boot !== "uefi") return false;
  return spec.secure_boot ?? spec.tpm === "2.0";
}

function osElement(spec: MachineSpec): XmlElement {
  const type = el("type", { arch: "x86_64", machine: "q35" }, "hvm");
  if (spec.boot === "bios") return el("os", {}, type);
  const secure = wantsSecureBoot(spec) ? "yes" : "no";
  // Firmware auto-selection: libvirt picks the OVMF build and gives the domain its own NVRAM file.
  return el("os", { firmware: "efi" }, type, el("firmware", {}, el("feature", { enabled: secure, name: "enrolled-keys" }), el("feature", { enabled: secure, name: "secure-boot" })));
}

function cpuElement(spec: MachineSpec, accelerator: "kvm" | "tcg"): XmlElement | undefined {
  if (spec.cpu_model) return el("cpu", { mode: "custom", match: "exact", check: "none" }, el("model", { fallback: "allow" }, spec.cpu_model));
  return accelerator === "kvm" ? el("cpu", { mode: "host-passthrough", check: "none" }) : undefined;
}

function diskElement(input: MachineXmlInput): XmlElement {
  const path = input.spec.disk_path;
  return el(
    "disk",
    { type: input.diskIsBlock ? "block" : "file", device: "disk" },
    el("driver", { name: "qemu", type: input.diskFormat }),
    input.diskIsBlock ? el("source", { dev: path }) : el("source", { file: path }),
    el("target", { dev: "vda", bus: "virtio" }),
    el("boot", { order: 1 }),
  );
}

/** sda, sdb, …: SATA, which every installer (Windows included) finds without extra drivers. */
function cdromTarget(index: number): string {
  return `sd${String.fromCharCode(97 + index)}`;
}

function graphicsElements(spec: MachineSpec): XmlElement[] {
  if (spec.graphics === "none") return [];
  return [
    el("graphics", { type: spec.graphics, port: -1, autoport: "yes", listen: GRAPHICS_LISTEN }, el("listen", { type: "address", address: GRAPHICS_LISTEN })),
    el("video", {}, el("model", { type: spec.graphics === "spice" ? "qxl" : "virtio" })),
    el("input", { type: "tablet", bus: "usb" }),
  ];
}

export function machineXml(input: MachineXmlInput): string {
  const { spec } = input;
  const memoryMiB = spec.memory_gb * 1024;
  const source = input.attachment.type === "network" ? el("source", { network: input.attachment.network }) : el("source", { bridge: input.attachment.bridge });
  const devices = el(
    "devices",
    {},
    diskElement(input),
    ...spec.iso_sources.map((iso, index) =>
      el(
        "disk",
        { type: "file", device: "cdrom" },
        el("driver", { name: "qemu", type: "raw" }),
        el("source", { file: iso.path }),
        el("target", { dev: cdromTarget(index), bus: "sata" }),
        el("readonly"),
        el("boot", { order: index + 2 }),
      ),
    ),
    el("interface", { type: input.attachment.type }, source, input.mac ? el("mac", { address: input.mac }) : undefined, el("model", { type: "virtio" })),
    el("serial", { type: "pty" }, el("target", { port: 0 })),
    el("console", { type: "pty" }, el("target", { type: "serial", port: 0 })),
    ...graphicsElements(spec),
    spec.tpm === "2.0" ? el("tpm", { model: "tpm-crb" }, el("backend", { type: "emulator", version: "2.0" })) : undefined,
    el("rng", { model: "virtio" }, el("backend", { model: "random" }, "/dev/urandom")),
  );
  return renderXml(
    el(
      "domain",
      { type: input.accelerator === "kvm" ? "kvm" : "qemu" },
      el("name", {}, input.name),
      input.uuid ? el("uuid", {}, input.uuid) : undefined,
      machineMetadataElement(input.metadata),
      el("memory", { unit: "MiB" }, memoryMiB),
      el("currentMemory", { unit: "MiB" }, memoryMiB),
      el("vcpu", { placement: "static" }, spec.vcpus),
      osElement(spec),
      // Secure boot needs SMM.
      el("features", {}, el("acpi"), el("apic"), wantsSecureBoot(spec) ? el("smm", { state: "on" }) : undefined),
      cpuElement(spec, input.accelerator),
      el("clock", { offset: "utc" }),
      el("on_poweroff", {}, "destroy"),
      el("on_reboot", {}, "restart"),
      el("on_crash", {}, "destroy"),
      devices,
    ),
  );
}
