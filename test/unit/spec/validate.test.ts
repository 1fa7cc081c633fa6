/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   the mutations poke at raw, untyped spec documents on purpose: that is what a user writes. */
import { describe, expect, it } from "vitest";
import type { NetworkResource, Spec, VMResource } from "../../../api/spec.js";
import type { TestenvError } from "../../../src/errors.js";
import { isWellKnownImageRef } from "../../../src/spec/images.js";
import { parseSpec, parseSpecText } from "../../../src/spec/load.js";
import {
  assertValidEarly,
  logicalNetworkName,
  resolveProviderName,
  validateEarly,
  validateLate,
  vmNetworkNames,
} from "../../../src/spec/validate.js";

type Raw = Record<string, any>;

function base(): Raw {
  return {
    providers: [{ name: "stub", engine: "testenv-vm-provider-stub" }],
    images: [{ name: "ubuntu", spec: { source: "ubuntu:24.04", alias: "base-image" } }],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      {
        name: "br0",
        kind: "bridge",
        spec: {
          cidr: "192.168.100.1/24",
          dhcp: { rangeStart: "192.168.100.10", rangeEnd: "192.168.100.100", staticLeases: [{ mac: "52:54:00:00:00:01", ip: "192.168.100.5" }] },
        },
      },
      { name: "lv", kind: "libvirt", spec: { attachTo: "br0" } },
    ],
    vms: [
      {
        name: "vm1",
        spec: {
          memory: 1024,
          vcpus: 1,
          networks: ["br0"],
          disk: { size: "10G", baseImage: "base-image" },
          cloudInit: { users: [{ name: "u", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
          readiness: { ssh: { enabled: true, timeout: "3m", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}" } },
        },
      },
    ],
  };
}

function issuesAfter(mutate: (spec: Raw) => void): ReturnType<typeof validateEarly> {
  const raw = base();
  mutate(raw);
  return validateEarly(parseSpec(raw));
}

const second = (spec: Raw, kind: string) => spec[kind].push(structuredClone(spec[kind][0]));
const HEX64 = "a".repeat(64);

// [what, mutation, field path, key phrase of the message]
const INVALID: [string, (spec: Raw) => void, string, string][] = [
  ["no providers", (s) => (s.providers = []), "providers", "at least one provider"],
  ["provider name with a space", (s) => (s.providers[0].name = "my stub"), "providers[0].name", "allowed: letters, digits"],
  ["duplicate provider", (s) => second(s, "providers"), "providers[1].name", 'duplicate provider name "stub"'],
  ["blank engine", (s) => (s.providers[0].engine = "  "), "providers[0].engine", "engine is empty"],
  ["two defaults", (s) => (s.providers = [{ name: "a", engine: "x", default: true }, { name: "b", engine: "y", default: true }]), "providers[1].default", "several providers are marked default (a, b)"],
  ["unknown defaultProvider", (s) => (s.defaultProvider = "stb"), "defaultProvider", "did you mean `stub`?"],
  ["defaultProvider disagrees with default: true", (s) => {
    s.providers = [{ name: "a", engine: "x", default: true }, { name: "b", engine: "y" }];
    s.defaultProvider = "b";
  }, "defaultProvider", "make them agree"],
  ["several providers, no default", (s) => s.providers.push({ name: "other", engine: "x" }), "providers", "none is the default"],
  ["unknown resource provider", (s) => (s.keys[0].provider = "libvirt"), "keys[0].provider", 'provider "libvirt" is not defined'],
  ["key name with a slash", (s) => (s.keys[0].name = "../etc"), "keys[0].name", "is not allowed"],
  ["key name with ..", (s) => (s.keys[0].name = "a..b"), "keys[0].name", "no '..'"],
  ["key name too long", (s) => (s.keys[0].name = "k".repeat(49)), "keys[0].name", "at most 48 characters"],
  ["duplicate key", (s) => second(s, "keys"), "keys[1].name", 'duplicate key name "vm-ssh" (also keys[0])'],
  ["unsupported key type", (s) => (s.keys[0].spec.type = "dsa"), "keys[0].spec.type", "allowed: ed25519, rsa, ecdsa"],
  ["rsa too short", (s) => (s.keys[0].spec = { type: "rsa", bits: 1024 }), "keys[0].spec.bits", "2048 to 8192"],
  ["rsa too long", (s) => (s.keys[0].spec = { type: "RSA", bits: 16384 }), "keys[0].spec.bits", "2048 to 8192"],
  ["ecdsa odd size", (s) => (s.keys[0].spec = { type: "ecdsa", bits: 300 }), "keys[0].spec.bits", "256, 384 or 521"],
  ["ed25519 with bits", (s) => (s.keys[0].spec.bits = 256), "keys[0].spec.bits", "fixed size"],
  ["network name starting with -", (s) => (s.networks[0].name = "-br"), "networks[0].name", "starting with a letter or digit"],
  ["duplicate network", (s) => second(s, "networks"), "networks[2].name", "duplicate network name"],
  ["blank kind", (s) => (s.networks[1].kind = " "), "networks[1].kind", "kind is empty"],
  ["attachTo itself", (s) => (s.networks[1].spec.attachTo = "lv"), "networks[1].spec.attachTo", "cannot attach to itself"],
  ["attachTo unknown", (s) => (s.networks[1].spec.attachTo = "br1"), "networks[1].spec.attachTo", "did you mean `br0`?"],
  [
    "a second DHCP server on one bridge",
    (s) => {
      s.networks[1].spec = { attachTo: "br0", cidr: "192.168.100.1/24", dhcp: {} };
      s.networks.push({ name: "dm", kind: "dnsmasq", spec: { attachTo: "br0", cidr: "192.168.100.1/24", dhcp: { rangeStart: "192.168.100.150", rangeEnd: "192.168.100.160" } } });
    },
    "networks[2].spec.dhcp",
    'second DHCP server on bridge "br0": network "lv" serves DHCP there already',
  ],
  ["bad cidr", (s) => (s.networks[0].spec.cidr = "192.168.100.0/33"), "networks[0].spec.cidr", "not an IPv4 CIDR"],
  ["gateway outside cidr", (s) => (s.networks[0].spec.gateway = "10.0.0.1"), "networks[0].spec.gateway", "outside the network 192.168.100.1/24"],
  ["dhcp without cidr", (s) => delete s.networks[0].spec.cidr, "networks[0].spec.cidr", "cidr is required when DHCP is enabled"],
  ["dhcp range outside", (s) => (s.networks[0].spec.dhcp.rangeStart = "192.168.101.10"), "networks[0].spec.dhcp.rangeStart", "outside the network"],
  ["dhcp range reversed", (s) => (s.networks[0].spec.dhcp.rangeEnd = "192.168.100.2"), "networks[0].spec.dhcp.rangeEnd", "comes before rangeStart"],
  ["static lease bad MAC", (s) => (s.networks[0].spec.dhcp.staticLeases[0].mac = "52:54:00:00:01"), "networks[0].spec.dhcp.staticLeases[0].mac", "not a MAC address"],
  ["static lease bad IP", (s) => (s.networks[0].spec.dhcp.staticLeases[0].ip = "192.168.100.256"), "networks[0].spec.dhcp.staticLeases[0].ip", "not an IPv4 address"],
  ["dns server not an IP", (s) => (s.networks[0].spec.dhcp.dnsServers = ["dns.google"]), "networks[0].spec.dhcp.dnsServers[0]", "not an IPv4 address"],
  ["mtu too small", (s) => (s.networks[0].spec.mtu = 20), "networks[0].spec.mtu", "between 68 and 65535"],
  ["mtu too big", (s) => (s.networks[0].spec.mtu = 70000), "networks[0].spec.mtu", "between 68 and 65535"],
  ["bad lease time", (s) => (s.networks[0].spec.dhcp.leaseTime = "forever"), "networks[0].spec.dhcp.leaseTime", "not a lease time"],
  ["bridge forward mode without attachTo", (s) => (s.networks[0].spec.forwardMode = "bridge"), "networks[0].spec.attachTo", "forwardMode bridge needs attachTo"],
  ["blank tftp root", (s) => (s.networks[0].spec.tftp = { root: " " }), "networks[0].spec.tftp.root", "tftp root is empty"],
  ["duplicate vm", (s) => second(s, "vms"), "vms[1].name", "duplicate vm name"],
  ["vm on unknown network", (s) => (s.vms[0].spec.networks = ["br0", "br9"]), "vms[0].spec.networks[1]", 'network "br9" is not defined'],
  ["vm on unknown singular network", (s) => {
    delete s.vms[0].spec.networks;
    s.vms[0].spec.network = "lvv";
  }, "vms[0].spec.network", "did you mean `lv`?"],
  ["disk size with a B", (s) => (s.vms[0].spec.disk.size = "10GB"), "vms[0].spec.disk.size", "not a disk size"],
  ["disk size zero", (s) => (s.vms[0].spec.disk.size = "0G"), "vms[0].spec.disk.size", "not a disk size"],
  ["baseImage is a source", (s) => (s.vms[0].spec.disk.baseImage = "ubuntu:24.04"), "vms[0].spec.disk.baseImage", "is an image source, not an image"],
  ["baseImage is a URL", (s) => (s.vms[0].spec.disk.baseImage = "https://example.com/x.img"), "vms[0].spec.disk.baseImage", "is a URL"],
  ["baseImage typo", (s) => (s.vms[0].spec.disk.baseImage = "base-imag"), "vms[0].spec.disk.baseImage", "did you mean image `base-image`?"],
  ["defaultBaseImage is a URL", (s) => (s.defaultBaseImage = "http://example.com/x.img"), "defaultBaseImage", "is a URL"],
  ["bad ssh timeout", (s) => (s.vms[0].spec.readiness.ssh.timeout = "3 minutes"), "vms[0].spec.readiness.ssh.timeout", "not a duration"],
  ["bad tcp timeout", (s) => (s.vms[0].spec.readiness.tcp = { port: 22, timeout: "5" }), "vms[0].spec.readiness.tcp.timeout", "not a duration"],
  ["cloud-init readiness without ssh", (s) => (s.vms[0].spec.readiness = { cloudInit: { enabled: true } }), "vms[0].spec.readiness.cloudInit.enabled", "enable readiness.ssh"],
  ["secure boot on bios", (s) => (s.vms[0].spec.boot = { secureBoot: true }), "vms[0].spec.boot.secureBoot", "needs firmware: uefi"],
  ["relative write_files path", (s) => (s.vms[0].spec.cloudInit.writeFiles = [{ path: "etc/motd", content: "x" }]), "vms[0].spec.cloudInit.writeFiles[0].path", "absolute path"],
  ["bad file mode", (s) => (s.vms[0].spec.cloudInit.writeFiles = [{ path: "/etc/motd", content: "x", permissions: "rw-r--r--" }]), "vms[0].spec.cloudInit.writeFiles[0].permissions", "octal mode"],
  ["bad ethernet MAC", (s) => (s.vms[0].spec.cloudInit.networkConfig = { ethernets: [{ name: "eth0", macAddress: "zz" }] }), "vms[0].spec.cloudInit.networkConfig.ethernets[0].macAddress", "not a MAC"],
  ["bad static address", (s) => (s.vms[0].spec.cloudInit.networkConfig = { ethernets: [{ name: "eth0", addresses: ["192.168.100.5"] }] }), "vms[0].spec.cloudInit.networkConfig.ethernets[0].addresses[0]", "not an IPv4 CIDR"],
  ["plain http image", (s) => (s.images[0].spec.source = "http://example.com/x.img"), "images[0].spec.source", "use an https:// URL (with sha256) or a local file"],
  ["https image without sha256", (s) => (s.images[0].spec.source = "https://example.com/x.img"), "images[0].spec.sha256", "needs a sha256 checksum"],
  ["short sha256", (s) => (s.images[0].spec = { source: "https://example.com/x.img", sha256: "abc" }), "images[0].spec.sha256", "64 hex characters"],
  ["unknown well-known image", (s) => (s.images[0].spec.source = "ubuntu:20.04"), "images[0].spec.source", "known: ubuntu:24.04, ubuntu:22.04, debian:12, debian:13"],
  ["ftp image", (s) => (s.images[0].spec.source = "ftp://example.com/x.img"), "images[0].spec.source", "unsupported scheme ftp://"],
  ["duplicate image", (s) => second(s, "images"), "images[1].name", "duplicate image name"],
  ["alias equal to another image", (s) => s.images.push({ name: "debian", spec: { source: "debian:12", alias: "ubuntu" } }), "images[1].spec.alias", 'already used by image "ubuntu"'],
  ["alias with a slash", (s) => (s.images[0].spec.alias = "a/b"), "images[0].spec.alias", "alias \"a/b\" is not allowed"],
  ["blank imageCacheDir", (s) => (s.imageCacheDir = "   "), "imageCacheDir", "imageCacheDir is empty"],
  ["empty stateDir", (s) => (s.stateDir = ""), "stateDir", "stateDir is empty"],
  ["blank artifactDir", (s) => (s.artifactDir = "\t"), "artifactDir", "artifactDir is empty"],
  ["template to a missing key", (s) => (s.vms[0].spec.cloudInit.users[0].sshAuthorizedKeys = ["{{ .Keys.vm-sh.PublicKey }}"]), "vms[0].spec.cloudInit.users[0].sshAuthorizedKeys[0]", 'references key "vm-sh", which is not defined; did you mean `vm-ssh`? (keys: vm-ssh)'],
  ["template to a missing field", (s) => (s.vms[0].spec.readiness.ssh.privateKey = "{{ .Keys.vm-ssh.PrivateKey }}"), "vms[0].spec.readiness.ssh.privateKey", "has no field PrivateKey; did you mean `PrivateKeyPath`?"],
  ["template to a missing network", (s) => (s.vms[0].spec.networks = ["{{ .Networks.nope.Name }}"]), "vms[0].spec.networks[0]", 'network "nope", which is not defined'],
  ["template to a missing vm", (s) => (s.networks[0].spec.dhcp.router = "{{ .VMs.gw.IP }}"), "networks[0].spec.dhcp.router", 'vm "gw", which is not defined'],
  ["template to a missing image", (s) => (s.vms[0].spec.disk.baseImage = "{{ .Images.debian.Path }}"), "vms[0].spec.disk.baseImage", "which is not defined; images: ubuntu, base-image"],
  ["unknown template variable", (s) => (s.keys[0].spec.comment = "{{ .Secrets.x.y }}"), "keys[0].spec.comment", "unknown template variable .Secrets"],
  ["template without a field", (s) => (s.keys[0].spec.comment = "{{ .VMs.vm1 }}"), "keys[0].spec.comment", "needs a resource name and a field"],
  [".DefaultBaseImage without defaultBaseImage", (s) => (s.vms[0].spec.disk.baseImage = "{{ .DefaultBaseImage }}"), "vms[0].spec.disk.baseImage", "defaultBaseImage is not set"],
  ["resource template inside images", (s) => (s.images[0].spec.source = "/srv/{{ .VMs.vm1.Name }}.qcow2"), "images[0].spec.source", "cannot be used here"],
  ["fixedIPs on a network the VM does not attach", (s) => (s.vms[0].spec.fixedIPs = { lv: "192.168.100.50" }), "vms[0].spec.fixedIPs.lv", "is not one this VM attaches"],
  ["fixedIPs on a network the spec creates", (s) => (s.vms[0].spec.fixedIPs = { br0: "192.168.100.50" }), "vms[0].spec.fixedIPs.br0", "give the address as a DHCP static lease there"],
  ["fixedIPs not an address", (s) => (s.vms[0].spec.fixedIPs = { br0: "192.168.100.500" }), "vms[0].spec.fixedIPs.br0", "not an IPv4 address"],
  ["resource template in a provider", (s) => (s.providers[0].spec = { uri: "{{ .Networks.br0.IP }}" }), "providers[0].spec.uri", "allowed: .Env"],
];

describe("validateEarly (Phase 1)", () => {
  it("the base spec is valid", () => {
    expect(validateEarly(parseSpec(base()))).toEqual([]);
  });

  it("accepts fixedIPs on an external network the VM attaches", () => {
    const spec = base();
    spec.networks.push({ name: "lan", kind: "libvirt", external: "default", spec: {} });
    spec.vms[0].spec.networks = ["br0", "lan"];
    spec.vms[0].spec.fixedIPs = { lan: "192.168.122.50" };
    expect(validateEarly(parseSpec(spec))).toEqual([]);
  });

  it(`has a table of ${INVALID.length} invalid specs`, () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(40);
  });

  it.each(INVALID)("%s", (_what, mutate, field, phrase) => {
    const issues = issuesAfter(mutate);
    expect(issues, JSON.stringify(issues, null, 1)).toContainEqual({ field, message: expect.stringContaining(phrase) });
  });

  it("lets one bridge carry one DHCP server among several networks, and DHCP on two bridges", () => {
    const issues = issuesAfter((spec) => {
      spec.networks[1].spec = { attachTo: "br0", cidr: "192.168.100.1/24", dhcp: {} };
      spec.networks.push({ name: "dm", kind: "dnsmasq", spec: { attachTo: "br0", cidr: "192.168.100.1/24", dhcp: { enabled: false }, tftp: { root: "/srv/tftp" } } });
      spec.networks.push({ name: "br1", kind: "bridge", spec: { cidr: "192.168.101.1/24" } });
      spec.networks.push({ name: "dm1", kind: "dnsmasq", spec: { attachTo: "br1", cidr: "192.168.101.1/24", dhcp: {} } });
    });
    expect(issues.filter((issue) => issue.message.includes("DHCP server"))).toEqual([]);
  });

  it("reports all errors together, with positions from the YAML source", () => {
    const text = `providers:
  - name: stub
    engine: testenv-vm-provider-stub
keys:
  - name: k
    spec: { type: dsa }
networks:
  - name: n
    kind: bridge
    spec: { cidr: 10.0.0.0/8, gateway: 11.0.0.1 }
vms:
  - name: v
    spec:
      memory: 512
      vcpus: 1
      network: m
      disk: { size: 5GB }
      cloudInit:
        users: [{ name: u, sshAuthorizedKeys: ["{{ .Keys.kk.PublicKey }}"] }]
`;
    const loaded = parseSpecText(text);
    let error: TestenvError | undefined;
    try {
      assertValidEarly(loaded.spec, loaded.locate);
    } catch (caught) {
      error = caught as TestenvError;
    }
    expect(error?.code).toBe("SPEC_INVALID");
    expect(error?.issues.map((issue) => [issue.field, issue.line])).toEqual([
      ["keys[0].spec.type", 6],
      ["networks[0].spec.gateway", 10],
      ["vms[0].spec.network", 16],
      ["vms[0].spec.disk.size", 17],
      ["vms[0].spec.cloudInit.users[0].sshAuthorizedKeys[0]", 19],
    ]);
    expect(error?.message.split("\n")[0]).toBe("spec is invalid (5 problems):");
    expect(error?.message).toContain('vms[0].spec.network (line 16:7): network "m" is not defined; did you mean `n`? (networks: n)');
  });

  it.each([
    ["key types are case-insensitive", (s: Raw) => s.keys.push({ name: "a", spec: { type: "RSA", bits: 2048 } }, { name: "b", spec: { type: "Ed25519" } }, { name: "c", spec: { type: "ECDSA", bits: 521 } })],
    ["a single provider is the default without default: true", () => undefined],
    ["several providers are fine when every resource names one", (s: Raw) => {
      s.providers.push({ name: "other", engine: "x" });
      for (const kind of ["keys", "networks", "vms"]) for (const r of s[kind]) r.provider = "stub";
    }],
    ["defaultProvider picks among several", (s: Raw) => {
      s.providers.push({ name: "other", engine: "x" });
      s.defaultProvider = "other";
    }],
    ["a key and a VM may share a name", (s: Raw) => s.keys.push({ name: "vm1", spec: { type: "rsa" } })],
    ["templated VM networks and attachTo wait for Phase 2", (s: Raw) => {
      s.vms[0].spec.networks = ["{{ .Networks.br0.Name }}"];
      s.networks[1].spec.attachTo = "{{ .Networks.br0.InterfaceName }}";
    }],
    ["image aliases work in templates and baseImage", (s: Raw) => {
      s.vms[0].spec.disk.baseImage = "{{ .Images.base-image.Path }}";
      s.defaultBaseImage = "ubuntu";
    }],
    ["Env references are not checked", (s: Raw) => (s.vms[0].spec.disk.baseImage = "{{ .Env.TESTENV_VM_BASE_IMAGE }}")],
    ["network and networks may both be given", (s: Raw) => (s.vms[0].spec.network = "lv")],
    ["local, file:// and https+sha256 image sources", (s: Raw) => {
      s.images = [
        { name: "a", spec: { source: "./images/a.qcow2" } },
        { name: "b", spec: { source: "/srv/b.qcow2" } },
        { name: "c", spec: { source: "file:///srv/c.qcow2" } },
        { name: "d", spec: { source: "https://example.com/d.img", sha256: HEX64 } },
        { name: "e", spec: { source: "debian:13" } },
      ];
      s.vms[0].spec.disk.baseImage = "/var/lib/images/base.qcow2";
    }],
    ["durations like 90s, 1m30s, 1h", (s: Raw) => (s.vms[0].spec.readiness = { ssh: { enabled: true, timeout: "1m30s" }, tcp: { port: 22, timeout: "90s" }, cloudInit: { enabled: true, timeout: "1h" } })],
    ["DHCP disabled needs no cidr", (s: Raw) => {
      delete s.networks[0].spec.cidr;
      s.networks[0].spec.dhcp = { enabled: false };
    }],
    ["a VM may reference another VM", (s: Raw) => s.vms.push({ name: "vm2", spec: { memory: 256, vcpus: 1, disk: { size: "1G" }, cloudInit: { runcmd: ["ping {{ .VMs.vm1.IP }}"] } } })],
  ])("accepts: %s", (_what, mutate) => {
    expect(issuesAfter(mutate)).toEqual([]);
  });
});

describe("validateLate (Phase 2)", () => {
  const spec = (): Spec => parseSpec(base());
  const vm = (networks: string[]): VMResource => ({ ...structuredClone(spec().vms![0]!), spec: { ...structuredClone(spec().vms![0]!.spec), networks } });

  it("accepts a rendered VM network that is a logical name or the provider-level name", () => {
    expect(validateLate("vm", vm(["br0", "lv"]), spec())).toEqual([]);
    expect(validateLate("vm", vm(["a1b2c3-br0"]), spec())).toEqual([]);
    expect(validateLate("vm", vm(["a1b2c3-br0"]), spec(), { prefix: "a1b2c3" })).toEqual([]);
  });

  it("rejects a rendered VM network that is no network of the spec", () => {
    expect(validateLate("vm", vm(["a1b2c3-br0"]), spec(), { prefix: "ffffff" })).toEqual([
      { field: "vms[0].spec.networks[0]", message: expect.stringContaining('rendered network "a1b2c3-br0" is not a network of this spec') },
    ]);
    expect(validateLate("vm", vm(["virbr0"]), spec())[0]?.message).toContain("networks: br0, lv");
  });

  it("accepts any rendered attachTo except the network itself", () => {
    const network = (attachTo: string): NetworkResource => ({ name: "lv", kind: "libvirt", spec: { attachTo } });
    expect(validateLate("network", network("tvm-br0"), spec())).toEqual([]);
    expect(validateLate("network", network(""), spec())).toEqual([]);
    expect(validateLate("network", network("lv"), spec())).toEqual([{ field: "networks[1].spec.attachTo", message: expect.stringContaining("cannot attach to itself") }]);
  });

  it("re-runs literal checks on rendered values", () => {
    const rendered = vm(["br0"]);
    if (rendered.spec.disk) rendered.spec.disk.size = "10 G";
    rendered.spec.readiness = { ssh: { enabled: true, timeout: "soon" } };
    expect(validateLate("vm", rendered, spec()).map((issue) => issue.field)).toEqual(["vms[0].spec.disk.size", "vms[0].spec.readiness.ssh.timeout"]);
    const network: NetworkResource = { name: "br0", kind: "bridge", spec: { cidr: "192.168.7.1/24", gateway: "192.168.8.1" } };
    expect(validateLate("network", network, spec())).toEqual([{ field: "networks[0].spec.gateway", message: expect.stringContaining("outside the network") }]);
    expect(validateLate("key", { name: "vm-ssh", spec: { type: "dsa" } }, spec())[0]?.field).toBe("keys[0].spec.type");
  });

  it("maps provider-level names back to logical ones", () => {
    expect(logicalNetworkName("br0", spec())).toBe("br0");
    expect(logicalNetworkName("abcdef-lv", spec(), "abcdef")).toBe("lv");
    expect(logicalNetworkName("abcdef-zz", spec(), "abcdef")).toBeUndefined();
  });
});

describe("helpers", () => {
  it("resolveProviderName: resource → defaultProvider → default: true → the only provider", () => {
    const two = parseSpec({ providers: [{ name: "a", engine: "x" }, { name: "b", engine: "y", default: true }] });
    expect(resolveProviderName(two, { provider: "a" })).toBe("a");
    expect(resolveProviderName(two, {})).toBe("b");
    expect(resolveProviderName({ ...two, defaultProvider: "a" }, {})).toBe("a");
    expect(resolveProviderName(parseSpec({ providers: [{ name: "only", engine: "x" }] }), {})).toBe("only");
    expect(() => resolveProviderName(parseSpec({ providers: [{ name: "a", engine: "x" }, { name: "b", engine: "y" }] }), {})).toThrow(/no default provider/);
  });

  it("vmNetworkNames: networks wins, then network", () => {
    const vm = (spec: Partial<VMResource["spec"]>): VMResource => ({ name: "v", spec: { memory: 1, vcpus: 1, disk: { size: "1G" }, ...spec } });
    expect(vmNetworkNames(vm({ network: "a", networks: ["b", "c"] }))).toEqual(["b", "c"]);
    expect(vmNetworkNames(vm({ network: "a", networks: [] }))).toEqual(["a"]);
    expect(vmNetworkNames(vm({}))).toEqual([]);
  });

  it("isWellKnownImageRef", () => {
    expect(["ubuntu:24.04", "ubuntu:22.04", "debian:12", "debian:13"].every(isWellKnownImageRef)).toBe(true);
    expect(isWellKnownImageRef("ubuntu:20.04")).toBe(false);
  });
});
