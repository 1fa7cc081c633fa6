import { describe, expect, it } from "vitest";
import type { VMCreateRequest } from "../../../api/provider.js";
import { createLogger } from "../../../lib/log.js";
import type { LibvirtBackend } from "../../../providers/libvirt/backend.js";
import type { ResolvedConfig } from "../../../providers/libvirt/config.js";
import { hostEmulator, hostQemuArch } from "../../../providers/libvirt/host-arch.js";
import { NetworkService } from "../../../providers/libvirt/networks.js";
import { RecordStore } from "../../../providers/kit/records.js";
import { VmService } from "../../../providers/libvirt/vms.js";

// A backend that fails the test on any use: a plan must not talk to libvirt.
const untouchable = new Proxy({} as LibvirtBackend, {
  get: (_, property) => (property === "uri" ? "test:///plan" : () => Promise.reject(new Error(`plan used the backend: ${String(property)}`))),
});
// A records dir that does not exist: a plan must not read or create it.
const DATA_DIR = "/nonexistent/testenv-vm-plan-test";

const config: ResolvedConfig = {
  uri: "test:///plan",
  dataDir: DATA_DIR,
  dataDirIsDefault: false,
  accelerator: "tcg",
  machine: "pc",
  cpuModel: undefined,
  bridgePrefix: undefined,
  prefix: "abc123",
  testID: "t-1",
  artifactDir: "/art",
};

function services(): { vms: VmService; networks: NetworkService } {
  const records = new RecordStore(DATA_DIR);
  const log = createLogger("test");
  const networks = new NetworkService({ backend: untouchable, records, dataDir: DATA_DIR, prefix: "abc123", bridgePrefix: undefined, log });
  return { vms: new VmService({ backend: untouchable, records, networks, config, log }), networks };
}

const request: VMCreateRequest = {
  name: "abc123-web",
  spec: {
    memory: 512,
    vcpus: 1,
    networks: ["abc123-net"],
    disk: { size: "1G" },
    boot: { order: ["hd"], firmware: "uefi", tpm: true },
    cloudInit: { hostname: "web", users: [{ name: "u", sshAuthorizedKeys: ["(known after create: key.k.publicKey)"] }] },
  },
};

describe("the libvirt provider's plan", () => {
  it("shows the disk argv, the cloud-init files, the seed argv and the domain XML without touching libvirt or the disk", async () => {
    const steps = await services().vms.plan(request);
    expect(steps.map((s) => s.action)).toEqual(["note", "exec", "write", "write", "write", "exec", "note", "note", "define"]);
    expect(steps[1]?.argv).toEqual(["qemu-img", "create", "-q", "-f", "qcow2", `${DATA_DIR}/vms/abc123-web/disk.qcow2`, "1073741824"]);
    expect(steps[2]?.content).toMatch(/^instance-id: abc123-web-[0-9a-f]{16}\n/);
    expect(steps[3]?.content).toContain("(known after create: key.k.publicKey)");
    const xml = steps.at(-1)?.content ?? "";
    expect(xml).toContain(`<type arch="${hostQemuArch()}" machine="pc">hvm</type>`);
    expect(xml).toContain('<os firmware="efi">');
    expect(xml).toContain("/art/web.console");
    expect(xml).not.toContain("createdAt");
  });

  it("is the same bytes every time, and a changed request gets another instance-id", async () => {
    const { vms } = services();
    expect(await vms.plan(request)).toEqual(await vms.plan(structuredClone(request)));
    const bigger = await vms.plan({ ...request, spec: { ...request.spec, memory: 1024 } });
    expect(bigger[2]?.content).not.toBe((await vms.plan(request))[2]?.content);
  });

  it("shows a libvirt network's XML and a dnsmasq network's argv", () => {
    const { networks } = services();
    const nat = networks.plan({ name: "abc123-net", kind: "nat", spec: { cidr: "192.168.50.0/24" } });
    expect(nat[0]).toMatchObject({ action: "define" });
    expect(nat[0]?.content).toContain('<forward mode="nat"/>');
    const dnsmasq = networks.plan({ name: "abc123-pxe", kind: "dnsmasq", spec: { attachTo: "br0", cidr: "192.168.51.0/24", dhcp: { enabled: true } } });
    expect(dnsmasq[0]?.argv?.[0]).toBe("dnsmasq");
    expect(dnsmasq[0]?.argv).toEqual(expect.arrayContaining([expect.stringContaining("br0")]));
  });
});

describe("the host architecture", () => {
  it("picks the emulator and guest arch of the host", () => {
    expect(hostQemuArch("x64")).toBe("x86_64");
    expect(hostQemuArch("arm64")).toBe("aarch64");
    expect(hostEmulator("arm64")).toBe("qemu-system-aarch64");
  });
});
