import { describe, expect, it } from "vitest";
import type { KeyResource, NetworkResource, Spec, VMResource } from "../../../api/spec.js";
import type { ResourceRef } from "../../../api/state.js";
import { buildDag, refKey } from "../../../src/orchestrator/dag.js";
import { TestenvError } from "../../../src/errors.js";

const providers = [{ name: "stub", engine: "stub" }];

const key = (name: string, extra: Partial<KeyResource> = {}): KeyResource => ({ name, spec: { type: "ed25519" }, ...extra });
const network = (name: string, spec: NetworkResource["spec"] = {}, extra: Partial<NetworkResource> = {}): NetworkResource => ({
  name,
  kind: "bridge",
  spec,
  ...extra,
});
const vm = (name: string, spec: Partial<VMResource["spec"]> = {}, extra: Partial<VMResource> = {}): VMResource => ({
  name,
  spec: { memory: 512, vcpus: 1, disk: { size: "1G" }, ...spec },
  ...extra,
});

/** Phases as "kind:name" strings, for readable assertions. */
const phaseKeys = (spec: Spec): string[][] => buildDag(spec).phases().map((phase) => phase.map(refKey));

function dagError(spec: Spec): TestenvError {
  try {
    buildDag(spec);
  } catch (error) {
    if (error instanceof TestenvError) return error;
    throw error;
  }
  throw new Error("expected buildDag to throw");
}

describe("buildDag phases", () => {
  it("orders the design example as [vm-ssh, bridge] → [libvirt-net, dnsmasq] → [test-vm]", () => {
    const spec: Spec = {
      providers,
      keys: [key("vm-ssh")],
      networks: [
        network("bridge"),
        network("libvirt-net", { attachTo: "bridge" }, { kind: "libvirt" }),
        network("dnsmasq", { attachTo: "bridge" }, { kind: "dnsmasq" }),
      ],
      vms: [
        vm("test-vm", {
          network: "libvirt-net",
          cloudInit: { users: [{ name: "u", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
        }),
      ],
    };
    expect(phaseKeys(spec)).toEqual([
      ["key:vm-ssh", "network:bridge"],
      ["network:libvirt-net", "network:dnsmasq"],
      ["vm:test-vm"],
    ]);
  });

  it("orders the original basic_vm, multi_network, dependency_chain and templated_attachto shapes", () => {
    const basic: Spec = {
      providers,
      keys: [key("test-key")],
      networks: [network("test-network", { cidr: "192.168.100.0/24" })],
      vms: [vm("test-vm", { network: "test-network", cloudInit: { users: [{ name: "u", sshAuthorizedKeys: ["{{ .Keys.test-key.PublicKey }}"] }] } })],
    };
    expect(phaseKeys(basic)).toEqual([["key:test-key", "network:test-network"], ["vm:test-vm"]]);

    const multi: Spec = {
      providers,
      keys: [key("k")],
      networks: [network("mgmt"), network("data"), network("storage")],
      vms: [vm("v", { network: "mgmt" })],
    };
    expect(phaseKeys(multi)).toEqual([["key:k", "network:mgmt", "network:data", "network:storage"], ["vm:v"]]);

    const chain: Spec = {
      providers,
      keys: [key("ed"), key("rsa", { spec: { type: "rsa", bits: 4096 } }), key("ec", { spec: { type: "ecdsa" } })],
      networks: [network("n1"), network("n2")],
      vms: [
        vm("v1", { network: "n1", readiness: { ssh: { enabled: true, privateKey: "{{ .Keys.ed.PrivateKeyPath }}" } } }),
        vm("v2", { networks: ["n1", "n2"], cloudInit: { runcmd: ["echo '{{ .Keys.rsa.PublicKey }}' '{{ .Keys.ec.PublicKey }}'"] } }),
      ],
    };
    expect(phaseKeys(chain)).toEqual([["key:ed", "key:rsa", "key:ec", "network:n1", "network:n2"], ["vm:v1", "vm:v2"]]);

    const templated: Spec = {
      providers,
      networks: [network("child-network", { attachTo: "{{ .Networks.parent-bridge.InterfaceName }}" }), network("parent-bridge")],
      vms: [vm("v", { network: "child-network" })],
    };
    expect(phaseKeys(templated)).toEqual([["network:parent-bridge"], ["network:child-network"], ["vm:v"]]);
  });

  it("sees every reference in every string, not just the first", () => {
    const spec: Spec = {
      providers,
      keys: [key("a"), key("b"), key("c"), key("d")],
      networks: [network("n", {}, { providerSpec: { note: ["x", { deep: "{{ .Keys.d.Fingerprint }}" }] } })],
      vms: [
        vm("x", {
          cloudInit: {
            runcmd: ["echo {{ .Keys.a.PublicKey }} {{ .Keys.b.PublicKey }} {{ .Networks.n.IP }}"],
            writeFiles: [{ path: "/k", content: "{{.Keys.c.PublicKey}}" }],
          },
        }),
      ],
    };
    const dag = buildDag(spec);
    expect(dag.dependenciesOf({ kind: "vm", name: "x" }).map(refKey)).toEqual(["key:a", "key:b", "key:c", "network:n"]);
    expect(dag.dependenciesOf({ kind: "network", name: "n" }).map(refKey)).toEqual(["key:d"]);
    expect(dag.dependentsOf({ kind: "key", name: "d" }).map(refKey)).toEqual(["network:n"]);
    expect(phaseKeys(spec)).toEqual([["key:a", "key:b", "key:c", "key:d"], ["network:n"], ["vm:x"]]);
  });

  it("ignores .Env references and literal attachTo that names a host bridge", () => {
    const spec: Spec = {
      providers,
      networks: [network("n", { attachTo: "br0", cidr: "{{ .Env.CIDR }}" })],
      vms: [vm("v", { network: "n" })],
    };
    expect(phaseKeys(spec)).toEqual([["network:n"], ["vm:v"]]);
  });

  it("keeps providers on nodes and puts images first", () => {
    const spec: Spec = {
      providers,
      images: [{ name: "ubuntu", spec: { source: "ubuntu:24.04" } }],
      keys: [key("k", { provider: "stub" })],
    };
    const dag = buildDag(spec);
    expect(dag.nodes).toEqual<ResourceRef[]>([
      { kind: "image", name: "ubuntu" },
      { kind: "key", name: "k", provider: "stub" },
    ]);
  });
});

describe("buildDag images", () => {
  const images: Spec["images"] = [
    { name: "ubuntu", spec: { source: "ubuntu:24.04", alias: "u" } },
    { name: "debian", spec: { source: "debian:12" } },
  ];

  it("maps baseImage and {{ .Images.<alias>.Path }} to the image, by name or alias", () => {
    const spec: Spec = {
      providers,
      images,
      vms: [
        vm("by-alias", { disk: { size: "1G", baseImage: "u" } }),
        vm("by-name", { disk: { size: "1G", baseImage: "debian" } }),
        vm("by-template", { disk: { size: "1G", baseImage: "{{ .Images.u.Path }}" } }),
        vm("by-path", { disk: { size: "1G", baseImage: "/var/lib/images/base.qcow2" } }),
        vm("blank", { disk: { size: "1G", baseImage: "" } }),
      ],
    };
    const dag = buildDag(spec);
    const deps = (name: string) => dag.dependenciesOf({ kind: "vm", name }).map(refKey);
    expect(deps("by-alias")).toEqual(["image:ubuntu"]);
    expect(deps("by-name")).toEqual(["image:debian"]);
    expect(deps("by-template")).toEqual(["image:ubuntu"]);
    expect(deps("by-path")).toEqual([]);
    expect(deps("blank")).toEqual([]);
  });

  it("makes VMs without baseImage (or using {{ .DefaultBaseImage }}) wait for the default image", () => {
    const spec: Spec = {
      providers,
      images,
      defaultBaseImage: "u",
      vms: [
        vm("default"),
        vm("explicit", { disk: { size: "1G", baseImage: "debian" } }),
        vm("via-template", { disk: { size: "1G", baseImage: "{{ .DefaultBaseImage }}" } }),
      ],
    };
    const dag = buildDag(spec);
    const deps = (name: string) => dag.dependenciesOf({ kind: "vm", name }).map(refKey);
    expect(deps("default")).toEqual(["image:ubuntu"]);
    expect(deps("explicit")).toEqual(["image:debian"]);
    expect(deps("via-template")).toEqual(["image:ubuntu"]);
  });
});

describe("buildDag errors", () => {
  it("rejects a reference to a resource that does not exist with SPEC_INVALID and its field", () => {
    const error = dagError({
      providers,
      vms: [vm("v", { cloudInit: { runcmd: ["echo {{ .Keys.nokey.PublicKey }}"] } })],
    });
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.message).toContain('vm v refers to key "nokey" in vms[0].spec.cloudInit.runcmd[0]');
    expect(error.issues[0]?.field).toBe("vms[0].spec.cloudInit.runcmd[0]");
  });

  it("rejects a VM network that is not in the spec, and an unknown image alias", () => {
    expect(dagError({ providers, vms: [vm("v", { networks: ["n"] })] }).message).toContain(
      'vm v refers to network "n" in vms[0].spec.networks[0]',
    );
    expect(dagError({ providers, vms: [vm("v", { disk: { size: "1G", baseImage: "{{ .Images.nope.Path }}" } })] }).code).toBe(
      "SPEC_INVALID",
    );
  });

  it("rejects duplicate names", () => {
    expect(dagError({ providers, keys: [key("k"), key("k")] }).message).toContain("key k is defined twice (keys[1].name)");
  });

  it("names a two-network cycle and how it arises", () => {
    const error = dagError({
      providers,
      networks: [network("a", { attachTo: "b" }), network("b", { attachTo: "{{ .Networks.a.InterfaceName }}" })],
    });
    expect(error.code).toBe("DEPENDENCY_CYCLE");
    expect(error.message).toMatch(/^dependency cycle: network a → network b → network a\. /);
    expect(error.message).toContain("network a uses network b in networks[0].spec.attachTo");
    expect(error.message).toContain("network b uses network a in networks[1].spec.attachTo");
    expect(error.message).toContain("remove or change one of these references");
  });

  it("names a self-loop", () => {
    const error = dagError({ providers, vms: [vm("x", { cloudInit: { runcmd: ["ping {{ .VMs.x.IP }}"] } })] });
    expect(error.code).toBe("DEPENDENCY_CYCLE");
    expect(error.message).toMatch(/^dependency cycle: vm x → vm x\. /);
  });

  it("reports the cycle itself, not the resources waiting behind it, the same way every time", () => {
    const spec: Spec = {
      providers,
      keys: [key("k", { spec: { type: "ed25519", comment: "{{ .VMs.v3.IP }}" } })],
      vms: [
        vm("v1", { cloudInit: { runcmd: ["{{ .Keys.k.PublicKey }}"] } }),
        vm("v2", { cloudInit: { runcmd: ["{{ .VMs.v4.IP }}"] } }),
        vm("v3", { cloudInit: { runcmd: ["{{ .VMs.v2.IP }}"] } }),
        vm("v4", { cloudInit: { runcmd: ["{{ .VMs.v3.IP }}"] } }),
      ],
    };
    const message = dagError(spec).message;
    expect(message).toMatch(/^dependency cycle: vm v2 → vm v4 → vm v3 → vm v2\. /);
    expect(dagError(spec).message).toBe(message);
  });
});

describe("buildDag scale and determinism", () => {
  it("gives the same phases for the same spec, ordered by kind then spec order", () => {
    const spec: Spec = {
      providers,
      vms: [vm("z"), vm("a")],
      networks: [network("y"), network("b")],
      keys: [key("x"), key("c")],
      images: [{ name: "i2", spec: { source: "debian:12" } }, { name: "i1", spec: { source: "ubuntu:24.04" } }],
    };
    const expected = [["image:i2", "image:i1", "key:x", "key:c", "network:y", "network:b", "vm:z", "vm:a"]];
    for (let i = 0; i < 5; i++) expect(phaseKeys(spec)).toEqual(expected);
  });

  it("handles a 1000-resource chain (1000 phases)", () => {
    const vms = Array.from({ length: 1000 }, (_, i) =>
      vm(`v${i}`, i === 0 ? {} : { cloudInit: { runcmd: [`ping {{ .VMs.v${i - 1}.IP }}`] } }),
    );
    const phases = phaseKeys({ providers, vms });
    expect(phases).toHaveLength(1000);
    expect(phases[999]).toEqual(["vm:v999"]);
  });

  it("reports a cycle closing a 1000-resource chain", () => {
    const vms = Array.from({ length: 1000 }, (_, i) =>
      vm(`v${i}`, { cloudInit: { runcmd: [`ping {{ .VMs.v${(i + 999) % 1000}.IP }}`] } }),
    );
    const error = dagError({ providers, vms });
    expect(error.code).toBe("DEPENDENCY_CYCLE");
    expect(error.message).toMatch(/^dependency cycle: vm v0 → vm v999 → vm v998 → /);
  });

  it("handles 1000 keys, 1000 networks and 1000 VMs each using a key and a network (2 wide phases)", () => {
    const n = 1000;
    const spec: Spec = {
      providers,
      keys: Array.from({ length: n }, (_, i) => key(`k${i}`)),
      networks: Array.from({ length: n }, (_, i) => network(`n${i}`)),
      vms: Array.from({ length: n }, (_, i) =>
        vm(`v${i}`, { network: `n${i}`, cloudInit: { users: [{ name: "u", sshAuthorizedKeys: [`{{ .Keys.k${i}.PublicKey }}`] }] } }),
      ),
    };
    const phases = phaseKeys(spec);
    expect(phases.map((phase) => phase.length)).toEqual([2 * n, n]);
    expect(phases[0]?.[0]).toBe("key:k0");
    expect(phases[0]?.[n]).toBe("network:n0");
  });
});
