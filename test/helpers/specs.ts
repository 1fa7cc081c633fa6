// Specs on the stub provider used by the e2e tests and the benchmarks, built in code so each test points the
// stub at its own store. Without a store each stub process keeps its state in memory.

export type StubOptions = Record<string, unknown>;

export function stubProvider(store: string | undefined, options: StubOptions = {}): Record<string, unknown> {
  return { name: "stub", engine: "testenv-vm-provider-stub", spec: { ...(store === undefined ? {} : { store }), ...options } };
}

/** The design's DAG example: phases [vm-ssh, bridge] → [libvirt-net, dnsmasq] → [test-vm]. */
export function designExample(store: string | undefined, options: StubOptions = {}): Record<string, unknown> {
  return {
    providers: [stubProvider(store, options)],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "bridge", kind: "bridge", spec: { cidr: "192.168.100.1/24" } },
      {
        name: "libvirt-net",
        kind: "libvirt",
        spec: {
          cidr: "192.168.100.1/24",
          attachTo: "bridge",
          dhcp: { enabled: true, rangeStart: "192.168.100.10", rangeEnd: "192.168.100.100" },
        },
      },
      { name: "dnsmasq", kind: "dnsmasq", spec: { attachTo: "bridge" } },
    ],
    vms: [
      {
        name: "test-vm",
        spec: {
          memory: 1024,
          vcpus: 1,
          network: "libvirt-net",
          disk: { size: "10G" },
          boot: { order: ["hd"] },
          cloudInit: {
            hostname: "test-vm",
            users: [{ name: "ubuntu", sudo: "ALL=(ALL) NOPASSWD:ALL", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }],
          },
        },
      },
    ],
  };
}

/** n keys with no dependencies between them: one phase. */
export function independentKeys(store: string | undefined, count: number, options: StubOptions = {}): Record<string, unknown> {
  return {
    providers: [stubProvider(store, options)],
    keys: Array.from({ length: count }, (_, i) => ({ name: `key-${i}`, spec: { type: "ed25519" } })),
  };
}
