import { unescapeXml } from "../xml.js";
import { domainSize } from "../vm/domain-xml.js";
import { parseMachineMetadata, type MachineMetadata } from "./metadata.js";

// A domain's XML read back as manifest fields: what sync compares with the manifest and capture writes out.
// Anything the manifest cannot express is listed in notRoundTripped instead of being dropped quietly.

export interface ObservedGraphics {
  type: "vnc" | "spice";
  listen: string | undefined;
  /** The port a running domain got (autoport), absent while it is off. */
  port: number | undefined;
}

export interface ObservedMachine {
  uuid: string | undefined;
  memoryMiB: number | undefined;
  vcpus: number | undefined;
  boot: "uefi" | "bios";
  secureBoot: boolean;
  tpm: "2.0" | "none";
  disk: { path: string; format: string | undefined; block: boolean } | undefined;
  isoPaths: string[];
  network: { type: "network" | "bridge"; name: string; mac: string | undefined } | undefined;
  graphics: ObservedGraphics | undefined;
  cpuModel: string | undefined;
  metadata: MachineMetadata | undefined;
  notRoundTripped: string[];
}

const attr = (tag: string, name: string): string | undefined => {
  const raw = new RegExp(`\\b${name}=(?:"([^"]*)"|'([^']*)')`).exec(tag);
  const value = raw?.[1] ?? raw?.[2];
  return value === undefined ? undefined : unescapeXml(value);
};

/** Every `<tag …>…</tag>` or `<tag …/>` block of the document, outermost only. */
function blocks(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}\\b[^>]*?(?:/>|>[\\s\\S]*?</${tag}>)`, "g"))].map((m) => m[0]);
}

/**
 * libvirt writes this model into a TCG domain defined without a <cpu>: it is the default, not a choice, so it reads
 * back as "no cpu_model" (and a manifest naming it asks for the default).
 */
export const DEFAULT_TCG_CPU_MODEL = "qemu64";

export function normalCpuModel(model: string | undefined): string | undefined {
  return model === DEFAULT_TCG_CPU_MODEL ? undefined : model;
}

const openTag = (block: string): string => /^<[^>]*>/.exec(block)?.[0] ?? block;

/** Devices the manifest has no field for: named in notRoundTripped when present. */
const FOREIGN_DEVICES = ["hostdev", "filesystem", "redirdev", "smartcard", "shmem", "sound", "watchdog", "hub", "parallel", "channel"] as const;

function observeDisks(devices: string, notes: string[]): Pick<ObservedMachine, "disk" | "isoPaths"> {
  let disk: ObservedMachine["disk"];
  const isoPaths: string[] = [];
  for (const block of blocks(devices, "disk")) {
    const head = openTag(block);
    const device = attr(head, "device") ?? "disk";
    const sourceTag = /<source\b[^>]*>/.exec(block)?.[0];
    const path = sourceTag === undefined ? undefined : (attr(sourceTag, "file") ?? attr(sourceTag, "dev"));
    const format = (() => {
      const driver = /<driver\b[^>]*>/.exec(block)?.[0];
      return driver === undefined ? undefined : attr(driver, "type");
    })();
    if (device === "cdrom") {
      if (path === undefined) notes.push("an empty CD-ROM drive");
      else isoPaths.push(path);
    } else if (device === "disk" && disk === undefined && path !== undefined) {
      disk = { path, format, block: attr(head, "type") === "block" };
    } else {
      notes.push(`${device} ${path ?? "(no source)"}`);
    }
  }
  return { disk, isoPaths };
}

function observeNetwork(devices: string, notes: string[]): ObservedMachine["network"] {
  let network: ObservedMachine["network"];
  for (const block of blocks(devices, "interface")) {
    const type = attr(openTag(block), "type");
    const sourceTag = /<source\b[^>]*>/.exec(block)?.[0] ?? "";
    const name = type === "network" ? attr(sourceTag, "network") : type === "bridge" ? attr(sourceTag, "bridge") : undefined;
    const macTag = /<mac\b[^>]*>/.exec(block)?.[0];
    if (network === undefined && (type === "network" || type === "bridge") && name !== undefined) {
      network = { type, name, mac: macTag === undefined ? undefined : attr(macTag, "address") };
    } else {
      notes.push(`a further network interface (${type ?? "?"} ${name ?? ""})`.replace(/ \)$/, ")"));
    }
  }
  return network;
}

function observeGraphics(devices: string, notes: string[]): ObservedGraphics | undefined {
  let graphics: ObservedGraphics | undefined;
  for (const block of blocks(devices, "graphics")) {
    const head = openTag(block);
    const type = attr(head, "type");
    if (graphics === undefined && (type === "vnc" || type === "spice")) {
      const listenTag = /<listen\b[^>]*>/.exec(block)?.[0];
      const listen = attr(head, "listen") ?? (listenTag === undefined ? undefined : attr(listenTag, "address"));
      const port = Number(attr(head, "port"));
      graphics = { type, listen, port: Number.isInteger(port) && port > 0 ? port : undefined };
    } else {
      notes.push(`graphics ${type ?? "?"}`);
    }
  }
  return graphics;
}

export function observeMachine(xml: string): ObservedMachine {
  const notes: string[] = [];
  const body = xml.replace(/<metadata>[\s\S]*?<\/metadata>/, "");
  const devices = /<devices>([\s\S]*?)<\/devices>/.exec(body)?.[1] ?? "";
  const os = /<os\b[^>]*?(?:\/>|>[\s\S]*?<\/os>)/.exec(body)?.[0] ?? "";
  const uefi = /\bfirmware=["']efi["']/.test(openTag(os)) || /<loader\b[^>]*\btype=["']pflash["']/.test(os);
  const secureBoot = uefi && (/<feature\b[^>]*enabled=["']yes["'][^>]*name=["']secure-boot["']/.test(os) || /<feature\b[^>]*name=["']secure-boot["'][^>]*enabled=["']yes["']/.test(os) || /<loader\b[^>]*\bsecure=["']yes["']/.test(os));
  const tpmBlocks = blocks(devices, "tpm");
  const tpm20 = tpmBlocks.some((block) => /\bversion=["']2\.0["']/.test(block) || !/\bversion=/.test(block));
  if (tpmBlocks.length > 0 && !tpm20) notes.push("a TPM other than 2.0");
  const cpu = /<cpu\b[^>]*?(?:\/>|>[\s\S]*?<\/cpu>)/.exec(body)?.[0] ?? "";
  const customModel = attr(openTag(cpu), "mode") === "custom" ? /<model\b[^>]*>([^<]+)<\/model>/.exec(cpu)?.[1]?.trim() : undefined;
  if (cpu !== "" && ["host-model"].includes(attr(openTag(cpu), "mode") ?? "")) notes.push("cpu mode host-model");
  for (const device of FOREIGN_DEVICES) {
    const count = blocks(devices, device).filter((block) => device !== "channel" || !/qemu-guest-agent|spicevmc/.test(block)).length;
    if (count > 0) notes.push(count === 1 ? `a ${device} device` : `${count} ${device} devices`);
  }
  const size = domainSize(xml);
  const disks = observeDisks(devices, notes);
  return {
    uuid: /<uuid>([^<]+)<\/uuid>/.exec(body)?.[1],
    memoryMiB: size.memoryMiB,
    vcpus: size.vcpus,
    boot: uefi ? "uefi" : "bios",
    secureBoot,
    tpm: tpm20 ? "2.0" : "none",
    ...disks,
    network: observeNetwork(devices, notes),
    graphics: observeGraphics(devices, notes),
    cpuModel: normalCpuModel(customModel),
    metadata: parseMachineMetadata(xml),
    notRoundTripped: notes,
  };
}
