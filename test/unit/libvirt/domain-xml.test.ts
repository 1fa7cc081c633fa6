import { describe, expect, it } from "vitest";
import { domainSize, domainXml, type DomainInput } from "../../../providers/libvirt/vm/domain-xml.js";
import { parseMetadata, type DomainMetadata } from "../../../providers/libvirt/vm/metadata.js";
import { parseWithRealParser } from "./xml-check.js";

const metadata: DomainMetadata = {
  version: 1,
  name: "8abab3-vm",
  testID: "test-<&>'\"",
  prefix: "8abab3",
  createdAt: "2026-01-01T00:00:00.000Z",
  accelerator: "tcg",
  vmDir: "/var/lib/testenv-vm/8abab3/vms/8abab3-vm",
  disk: "/var/lib/testenv-vm/8abab3/vms/8abab3-vm/disk.qcow2",
  seedIso: "/var/lib/testenv-vm/8abab3/vms/8abab3-vm/seed.iso",
  consoleLog: "/tmp/art/vm.console",
  networks: ["8abab3-net"],
  macs: ["52:54:00:01:02:03"],
  keys: ["8abab3-key"],
  sshUser: "</name><x>",
  staticIps: [null],
};

function input(overrides: Partial<DomainInput> = {}): DomainInput {
  return {
    name: "8abab3-vm",
    accelerator: "tcg",
    memoryMiB: 256,
    vcpus: 1,
    machine: "pc",
    cpuModel: undefined,
    firmware: "bios",
    secureBoot: false,
    nvramPath: undefined,
    tpm: false,
    bootOrder: ["hd"],
    diskPath: metadata.disk,
    seedIsoPath: metadata.seedIso,
    nics: [{ type: "network", network: "8abab3-net", mac: "52:54:00:01:02:03" }],
    consoleLog: metadata.consoleLog,
    metadata,
    ...overrides,
  };
}

describe("domain XML", () => {
  it("is well-formed, uses TCG, logs the serial console and carries metadata that survives hostile values", () => {
    const xml = domainXml(input());
    parseWithRealParser(xml);
    expect(xml).toContain('<domain type="qemu">');
    expect(xml).toContain('<log file="/tmp/art/vm.console" append="off"/>');
    expect(xml).toContain('<memory unit="MiB">256</memory>');
    expect(xml).toContain('<target dev="sda" bus="scsi"/>');
    expect(xml).toContain('model="virtio-scsi"');
    expect(parseMetadata(xml)).toEqual(metadata);
    expect(xml).not.toContain("<x>");
  });

  it("reads metadata back whatever prefix libvirt writes", () => {
    const xml = domainXml(input()).replace(/testenv:vm/g, "ns0:vm").replace(/xmlns:testenv/g, "xmlns:ns0");
    expect(parseMetadata(xml)?.name).toBe("8abab3-vm");
    expect(parseMetadata("<domain><name>x</name></domain>")).toBeUndefined();
  });

  it("uses KVM with host-passthrough only when told", () => {
    const xml = domainXml(input({ accelerator: "kvm" }));
    expect(xml).toContain('<domain type="kvm">');
    expect(xml).toContain('mode="host-passthrough"');
  });

  it("UEFI: auto-selected firmware, secure boot off, per-VM nvram", () => {
    const xml = domainXml(input({ firmware: "uefi", nvramPath: "/d/nvram.fd" }));
    expect(xml).toContain('<os firmware="efi">');
    expect(xml).toContain('<feature enabled="no" name="secure-boot"/>');
    expect(xml).toContain("<nvram>/d/nvram.fd</nvram>");
  });

  it("secure boot switches to q35 with SMM", () => {
    const xml = domainXml(input({ firmware: "uefi", secureBoot: true, nvramPath: "/d/n.fd" }));
    expect(xml).toContain('machine="q35"');
    expect(xml).toContain('<smm state="on"/>');
    expect(xml).toContain('<feature enabled="yes" name="secure-boot"/>');
  });

  it("adds an emulated TPM 2.0 when asked", () => {
    expect(domainXml(input({ tpm: true }))).toMatch(/<tpm model="tpm-crb">\s*<backend type="emulator" version="2.0"\/>/);
    expect(domainXml(input())).not.toContain("<tpm");
  });

  it("multi-NIC: libvirt networks and bridges, each with its MAC; only the first NIC network-boots", () => {
    const xml = domainXml(
      input({
        bootOrder: ["network", "hd"],
        nics: [
          { type: "bridge", bridge: "8abab3-1234", mac: "52:54:00:00:00:01" },
          { type: "network", network: "8abab3-net", mac: "52:54:00:00:00:02" },
        ],
      }),
    );
    parseWithRealParser(xml);
    const interfaces = [...xml.matchAll(/<interface[\s\S]*?<\/interface>/g)].map((m) => m[0]);
    expect(interfaces).toHaveLength(2);
    expect(interfaces[0]).toContain('<source bridge="8abab3-1234"/>');
    expect(interfaces[0]).toContain('<boot order="1"/>');
    expect(interfaces[1]).toContain('<source network="8abab3-net"/>');
    expect(interfaces[1]).not.toContain("<boot");
    expect(xml).toMatch(/<target dev="vda" bus="virtio"\/>\s*<boot order="2"\/>/);
  });

  it("PXE with a blank disk and no seed has no CD-ROM", () => {
    const xml = domainXml(input({ bootOrder: ["network"], seedIsoPath: undefined }));
    expect(xml).not.toContain('device="cdrom"');
    expect(xml).toMatch(/<interface[\s\S]*<boot order="1"\/>/);
  });
});

describe("domain size read back", () => {
  it("reads memory in MiB and vCPUs from the XML we write", () => {
    expect(domainSize(domainXml(input({ memoryMiB: 768, vcpus: 3 })))).toEqual({ memoryMiB: 768, vcpus: 3 });
  });

  it("reads libvirt's own dumpxml: KiB, single quotes, current vCPUs", () => {
    const dumped = [
      "<domain type='kvm' id='3'>",
      "  <name>8abab3-vm</name>",
      "  <metadata><testenv:vm xmlns:testenv='https://testenv-vm.dev/xmlns/libvirt-provider/1'>{&quot;memory&quot;:1}</testenv:vm></metadata>",
      "  <memory unit='KiB'>2097152</memory>",
      "  <currentMemory unit='KiB'>2097152</currentMemory>",
      "  <vcpu placement='static' current='2'>4</vcpu>",
      "</domain>",
    ].join("\n");
    expect(domainSize(dumped)).toEqual({ memoryMiB: 2048, vcpus: 2 });
    expect(domainSize("<domain><memory unit='GiB'>1</memory><vcpu>1</vcpu></domain>")).toEqual({ memoryMiB: 1024, vcpus: 1 });
    expect(domainSize("<domain><memory>524288</memory></domain>")).toEqual({ memoryMiB: 512 });
    expect(domainSize("<domain/>")).toEqual({});
  });
});
