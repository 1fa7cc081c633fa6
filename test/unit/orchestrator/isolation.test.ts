import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Spec } from "../../../api/spec.js";
import {
  computeSubnetPlan,
  isolateSpec,
  namePrefix,
  prefixName,
  rewriteAddresses,
  subnetOctet,
} from "../../../src/orchestrator/isolation.js";
import { releaseSubnets, reserveSubnets } from "../../../src/orchestrator/subnet-reservations.js";
import { TestenvError } from "../../../src/errors.js";
import { StateStore } from "../../../src/state/index.js";
import { sampleState } from "../../helpers/sample-state.js";
import { spawnTs, waitForExit, waitForOutput } from "../state/children.js";

/** IEEE 802.3 CRC-32, bit by bit: an implementation independent of zlib's. */
function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, "utf8")) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe("name prefix and subnet octet", () => {
  it("prefix is the first 6 hex chars of SHA-256(testID)", () => {
    expect(namePrefix("")).toBe("e3b0c4");
    expect(namePrefix("test-e2e-20250101-abcd1234")).toBe("8abab3"); // the original's 8-char prefix is 8abab361
    for (const id of ["a", "e2e-20260101-120000", "x".repeat(128)]) {
      expect(namePrefix(id)).toBe(createHash("sha256").update(id).digest("hex").slice(0, 6));
    }
  });

  it("octet is IEEE CRC32(testID) % 200 + 20", () => {
    expect(crc32("123456789")).toBe(0xcbf43926); // the CRC-32 check value
    expect(subnetOctet("123456789")).toBe((0xcbf43926 % 200) + 20);
    for (const id of ["a", "test-e2e-20250101-abcd1234", "env-7"]) {
      expect(subnetOctet(id)).toBe((crc32(id) % 200) + 20);
    }
    for (let i = 0; i < 500; i++) {
      const octet = subnetOctet(`id-${i}`);
      expect(octet).toBeGreaterThanOrEqual(20);
      expect(octet).toBeLessThanOrEqual(219);
    }
  });

  it("prefixName joins with a hyphen, and leaves names alone without a prefix", () => {
    expect(prefixName("abc123", "vm")).toBe("abc123-vm");
    expect(prefixName("", "vm")).toBe("vm");
  });
});

const provider = { name: "stub", engine: "stub" };

function net(name: string, spec: Record<string, unknown>): NonNullable<Spec["networks"]>[number] {
  return { name, kind: "bridge", spec };
}

describe("computeSubnetPlan", () => {
  it("lists each /24-or-smaller subnet once, in spec order, from cidr or else gateway/DHCP", () => {
    const spec: Spec = {
      providers: [provider],
      networks: [
        net("a", { cidr: "192.168.100.1/24" }),
        net("b", { cidr: "10.0.0.0/24" }),
        net("c", { cidr: "192.168.100.128/25" }),
        net("d", { cidr: "172.16.0.0/16" }),
        net("e", { gateway: "10.9.8.1" }),
        net("f", { dhcp: { rangeStart: "10.7.7.10", rangeEnd: "10.7.7.20" } }),
        net("g", { cidr: "{{ .Env.CIDR }}" }),
        net("h", {}),
      ],
    };
    expect(computeSubnetPlan(spec)).toEqual(["192.168.100", "10.0.0", "10.9.8", "10.7.7"]);
  });
});

describe("rewriteAddresses", () => {
  const map = { "192.168.1": "192.168.57", "10.0.0": "10.0.58" };

  it("rewrites whole addresses only", () => {
    expect(rewriteAddresses("ip 192.168.1.5, gw 192.168.1.1.", map)).toBe("ip 192.168.57.5, gw 192.168.57.1.");
    expect(rewriteAddresses("10.0.0.0/24 via 10.0.0.1", map)).toBe("10.0.58.0/24 via 10.0.58.1");
    expect(rewriteAddresses("192.168.1001", map)).toBe("192.168.1001");
    expect(rewriteAddresses("1192.168.1.5", map)).toBe("1192.168.1.5");
    expect(rewriteAddresses("192.168.1.50000", map)).toBe("192.168.1.50000");
    expect(rewriteAddresses("1.192.168.1.5", map)).toBe("1.192.168.1.5");
    expect(rewriteAddresses("192.168.1.5.7", map)).toBe("192.168.1.5.7");
    expect(rewriteAddresses("192.168.1.300", map)).toBe("192.168.1.300");
    expect(rewriteAddresses("192.168.2.5 10.0.1.1", map)).toBe("192.168.2.5 10.0.1.1");
    expect(rewriteAddresses("http://192.168.1.1:8080/boot", map)).toBe("http://192.168.57.1:8080/boot");
  });

  it("never touches template expressions, closed or not", () => {
    expect(rewriteAddresses('{{ .Env.X }} 192.168.1.2 {{ index . "192.168.1.3" }}', map)).toBe(
      '{{ .Env.X }} 192.168.57.2 {{ index . "192.168.1.3" }}',
    );
    expect(rewriteAddresses("192.168.1.2 {{ .Env.192.168.1.3", map)).toBe("192.168.57.2 {{ .Env.192.168.1.3");
  });

  it("does not chain: an address moved onto another mapped subnet is not moved again", () => {
    expect(rewriteAddresses("10.0.0.1 10.0.58.1", { "10.0.0": "10.0.58", "10.0.58": "10.0.59" })).toBe(
      "10.0.58.1 10.0.59.1",
    );
  });
});

describe("isolateSpec", () => {
  const spec: Spec = {
    providers: [provider],
    networks: [
      {
        name: "mgmt",
        kind: "dnsmasq",
        spec: {
          cidr: "192.168.100.1/24",
          gateway: "192.168.100.1",
          attachTo: "br0",
          dhcp: {
            rangeStart: "192.168.100.10",
            rangeEnd: "192.168.100.100",
            router: "192.168.100.1",
            nextServer: "192.168.100.1",
            dnsServers: ["192.168.100.1", "8.8.8.8"],
            staticLeases: [{ mac: "52:54:00:00:00:01", ip: "192.168.100.5" }],
          },
          dns: { servers: ["192.168.100.1", "1.1.1.1"], hosts: [{ hostname: "pxe", ip: "192.168.100.2" }] },
          tftp: { root: "/srv/tftp", ipxeScript: "http://192.168.100.1/boot.ipxe" },
        },
      },
      { name: "storage", kind: "bridge", spec: { cidr: "10.0.0.0/24" } },
      { name: "wide", kind: "bridge", spec: { cidr: "172.16.0.1/16" } },
    ],
    vms: [
      {
        name: "vm",
        spec: {
          memory: 512,
          vcpus: 1,
          networks: ["mgmt", "storage"],
          disk: { size: "1G" },
          cloudInit: {
            runcmd: ["ping -c1 192.168.100.1", "echo {{ .VMs.other.IP }} 10.0.0.9", "curl 172.16.0.1"],
            writeFiles: [{ path: "/etc/hosts", content: "192.168.100.2 pxe\n10.0.0.3 nas\n" }],
            networkConfig: {
              ethernets: [
                {
                  name: "eth0",
                  addresses: ["192.168.100.50/24"],
                  gateway4: "192.168.100.1",
                  nameservers: { addresses: ["192.168.100.1"] },
                },
                { name: "eth1", addresses: ["10.0.0.50/24"] },
              ],
            },
          },
        },
      },
    ],
  };
  const map = { "192.168.100": "192.168.57", "10.0.0": "10.0.58" };

  it("moves every listed address field to its own subnet and keeps the first two octets", () => {
    const before = structuredClone(spec);
    const out = isolateSpec(spec, map);
    expect(spec).toEqual(before); // the input is not modified
    const [mgmt, storage, wide] = out.networks ?? [];
    expect(mgmt?.spec).toEqual({
      cidr: "192.168.57.1/24",
      gateway: "192.168.57.1",
      attachTo: "br0",
      dhcp: {
        rangeStart: "192.168.57.10",
        rangeEnd: "192.168.57.100",
        router: "192.168.57.1",
        nextServer: "192.168.57.1",
        dnsServers: ["192.168.57.1", "8.8.8.8"],
        staticLeases: [{ mac: "52:54:00:00:00:01", ip: "192.168.57.5" }],
      },
      dns: { servers: ["192.168.57.1", "1.1.1.1"], hosts: [{ hostname: "pxe", ip: "192.168.57.2" }] },
      tftp: { root: "/srv/tftp", ipxeScript: "http://192.168.57.1/boot.ipxe" },
    });
    expect(storage?.spec.cidr).toBe("10.0.58.0/24");
    expect(wide?.spec.cidr).toBe("172.16.0.1/16");
    const cloudInit = out.vms?.[0]?.spec.cloudInit;
    expect(cloudInit?.runcmd).toEqual(["ping -c1 192.168.57.1", "echo {{ .VMs.other.IP }} 10.0.58.9", "curl 172.16.0.1"]);
    expect(cloudInit?.writeFiles?.[0]?.content).toBe("192.168.57.2 pxe\n10.0.58.3 nas\n");
    expect(cloudInit?.networkConfig?.ethernets).toEqual([
      { name: "eth0", addresses: ["192.168.57.50/24"], gateway4: "192.168.57.1", nameservers: { addresses: ["192.168.57.1"] } },
      { name: "eth1", addresses: ["10.0.58.50/24"] },
    ]);
  });

  it("moves a container's fixed address with its network, and leaves one on an unmapped network alone", () => {
    const mixed: Spec = {
      providers: [{ name: "podman", engine: "testenv-vm-provider-podman" }],
      networks: [{ name: "lan", kind: "bridge", spec: { cidr: "192.168.100.1/24" } }],
      vms: [
        { name: "c1", spec: { memory: 64, vcpus: 1, networks: ["lan"], container: { ip: "192.168.100.60" } } },
        { name: "c2", spec: { memory: 64, vcpus: 1, networks: ["lan"], container: { ip: "10.88.0.9" } } },
      ],
    };
    const out = isolateSpec(mixed, { "192.168.100": "192.168.57" });
    expect(out.vms?.map((vm) => vm.spec.container?.ip)).toEqual(["192.168.57.60", "10.88.0.9"]);
  });

  it("returns an equal copy when there is nothing to move", () => {
    const out = isolateSpec(spec, {});
    expect(out).toEqual(spec);
    expect(out).not.toBe(spec);
  });
});

describe("subnet reservations", () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "testenv-subnets-"));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  const reservationDir = () => join(stateDir, "state", "subnets");
  const octetOf = (target: string) => Number(target.split(".")[2]);
  async function backdate(octet: number): Promise<void> {
    const old = new Date(Date.now() - 3_600_000);
    await utimes(join(reservationDir(), String(octet)), old, old);
  }

  it("gives the first subnet the testID's own octet, the next ones the following free octets", async () => {
    const map = await reserveSubnets(stateDir, "env-a", ["192.168.100", "10.0.0", "192.168.1"]);
    const first = subnetOctet("env-a");
    expect(map["192.168.100"]).toBe(`192.168.${first}`);
    const next = (n: number) => 20 + ((first - 20 + n) % 200);
    expect(map["10.0.0"]).toBe(`10.0.${next(1)}`);
    expect(map["192.168.1"]).toBe(`192.168.${next(2)}`);
    const content = JSON.parse(await readFile(join(reservationDir(), String(first)), "utf8"));
    expect(content).toMatchObject({ testID: "env-a", prefix: "192.168.100" });
  });

  it("is idempotent for the same testID", async () => {
    const once = await reserveSubnets(stateDir, "env-a", ["192.168.100", "10.0.0"]);
    const twice = await reserveSubnets(stateDir, "env-a", ["192.168.100", "10.0.0"]);
    expect(twice).toEqual(once);
    expect(await readdir(reservationDir())).toHaveLength(2);
  });

  it("never hands out an octet twice to 10 environments reserving at once", async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `par-${i}`);
    const maps = await Promise.all(ids.map((id) => reserveSubnets(stateDir, id, ["10.0.0", "192.168.100"])));
    const octets = maps.flatMap((map) => Object.values(map).map(octetOf));
    expect(new Set(octets).size).toBe(20);
    expect(await readdir(reservationDir())).toHaveLength(20);
  });

  it("never hands out an octet twice to two processes reserving at once", async () => {
    const children = [
      spawnTs("../orchestrator/reserve-child.ts", [stateDir, "p1-a", "p1-b", "p1-c", "p1-d", "p1-e"]),
      spawnTs("../orchestrator/reserve-child.ts", [stateDir, "p2-a", "p2-b", "p2-c", "p2-d", "p2-e"]),
    ];
    try {
      const outputs = await Promise.all(children.map((child) => waitForOutput(child, "}\n")));
      await Promise.all(children.map(waitForExit));
      const maps = outputs.flatMap((out) => Object.values(JSON.parse(out) as Record<string, Record<string, string>>));
      const octets = maps.flatMap((map) => Object.values(map).map(octetOf));
      expect(octets).toHaveLength(20);
      expect(new Set(octets).size).toBe(20);
    } finally {
      for (const child of children) child.kill("SIGKILL");
    }
  });

  it("skips an octet held by a live environment, even an old reservation", async () => {
    const live = await reserveSubnets(stateDir, "live-env", ["10.0.0"]);
    const liveOctet = octetOf(live["10.0.0"]!);
    await backdate(liveOctet);
    await new StateStore(stateDir).save({ ...sampleState("live-env"), status: "ready" });
    // A testID whose own octet is the live one must move on to the next.
    const clash = findIdWithOctet(liveOctet, "clash");
    const map = await reserveSubnets(stateDir, clash, ["10.0.0"]);
    expect(octetOf(map["10.0.0"]!)).not.toBe(liveOctet);
  });

  it("reclaims reservations of environments that are gone or destroyed", async () => {
    const gone = await reserveSubnets(stateDir, "gone-env", ["10.0.0"]);
    const destroyed = await reserveSubnets(stateDir, "destroyed-env", ["10.0.0"]);
    await backdate(octetOf(gone["10.0.0"]!));
    await backdate(octetOf(destroyed["10.0.0"]!));
    await new StateStore(stateDir).save({ ...sampleState("destroyed-env"), status: "destroyed" });

    const a = await reserveSubnets(stateDir, findIdWithOctet(octetOf(gone["10.0.0"]!), "a"), ["10.0.0"]);
    const b = await reserveSubnets(stateDir, findIdWithOctet(octetOf(destroyed["10.0.0"]!), "b"), ["10.0.0"]);
    expect(a["10.0.0"]).toBe(gone["10.0.0"]);
    expect(b["10.0.0"]).toBe(destroyed["10.0.0"]);
  });

  it("keeps a fresh reservation whose environment has not saved its state yet", async () => {
    const fresh = await reserveSubnets(stateDir, "fresh-env", ["10.0.0"]);
    const octet = octetOf(fresh["10.0.0"]!);
    const map = await reserveSubnets(stateDir, findIdWithOctet(octet, "other"), ["10.0.0"]);
    expect(octetOf(map["10.0.0"]!)).not.toBe(octet);
  });

  it("keeps an old reservation whose environment is being created (its lock is held, no state file yet)", async () => {
    const store = new StateStore(stateDir);
    await store.withLock("creating-env", async () => {
      const held = await reserveSubnets(stateDir, "creating-env", ["10.0.0"]);
      const octet = octetOf(held["10.0.0"]!);
      await backdate(octet);
      const map = await reserveSubnets(stateDir, findIdWithOctet(octet, "racer"), ["10.0.0"]);
      expect(octetOf(map["10.0.0"]!)).not.toBe(octet);
    });
  });

  it("release frees only the environment's own octets", async () => {
    const mine = await reserveSubnets(stateDir, "mine", ["10.0.0", "10.0.1"]);
    const theirs = await reserveSubnets(stateDir, "theirs", ["10.0.0"]);
    await releaseSubnets(stateDir, "mine");
    expect(await readdir(reservationDir())).toEqual([String(octetOf(theirs["10.0.0"]!))]);
    const again = await reserveSubnets(stateDir, "mine", ["10.0.0", "10.0.1"]);
    expect(again).toEqual(mine);
  });

  it("fails with RESOURCE_BUSY when every octet is held by a live environment", async () => {
    await mkdir(reservationDir(), { recursive: true });
    for (let octet = 20; octet < 220; octet++) {
      await writeFile(join(reservationDir(), String(octet)), JSON.stringify({ testID: `held-${octet}`, prefix: "10.0.0" }));
    }
    const error = await reserveSubnets(stateDir, "late", ["10.0.0"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestenvError);
    expect((error as TestenvError).code).toBe("RESOURCE_BUSY");
    expect((error as TestenvError).message).toContain("no free subnet octet for environment late");
  });
});

function findIdWithOctet(octet: number, stem: string): string {
  for (let i = 0; ; i++) if (subnetOctet(`${stem}-${i}`) === octet) return `${stem}-${i}`;
}
