import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildSeedIso, guestHostname, metaData, networkConfig, staticAddress, userData } from "../../../providers/libvirt/vm/cloudinit.js";

const nasty = `it's "quoted": {x} [y] # not a comment\n  - not: a list\n`;

describe("user-data", () => {
  const text = userData(
    {
      hostname: "vm1",
      users: [
        { name: "ubuntu", sudo: "ALL=(ALL) NOPASSWD:ALL", shell: "/bin/bash", groups: ["wheel", "adm"], sshAuthorizedKeys: ["ssh-ed25519 AAAA key1 me@x\n"] },
        { name: "root", sshAuthorizedKeys: ["ssh-ed25519 BBBB"] },
      ],
      packages: ["curl"],
      runcmd: ["echo one", "set -e\nprintf '%s\\n' \"multi\"\necho three", nasty],
      writeFiles: [{ path: "/etc/x.conf", content: `line1\n${nasty}last`, permissions: "755", owner: "root:root" }],
    },
    "vm1",
  );

  it("starts with #cloud-config and round-trips through a YAML parser", () => {
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = parse(text) as Record<string, unknown>;
    expect(doc.hostname).toBe("vm1");
    expect(doc.runcmd).toEqual(["echo one", "set -e\nprintf '%s\\n' \"multi\"\necho three", nasty]);
    expect(doc.packages).toEqual(["curl"]);
    expect(doc.write_files).toEqual([{ path: "/etc/x.conf", content: `line1\n${nasty}last`, permissions: "0755", owner: "root:root" }]);
    expect(doc.users).toEqual([
      { name: "ubuntu", sudo: "ALL=(ALL) NOPASSWD:ALL", shell: "/bin/bash", groups: "wheel, adm", lock_passwd: true, ssh_authorized_keys: ["ssh-ed25519 AAAA key1 me@x"] },
      { name: "root", lock_passwd: true, ssh_authorized_keys: ["ssh-ed25519 BBBB"] },
    ]);
    expect(doc.disable_root).toBe(false);
  });

  it("rejects relative write_files paths and bad modes", () => {
    expect(() => userData({ writeFiles: [{ path: "etc/x", content: "" }] }, "h")).toThrow(/must be absolute/);
    expect(() => userData({ writeFiles: [{ path: "/x", content: "", permissions: "rw" }] }, "h")).toThrow(/octal/);
  });
});

describe("meta-data and hostname", () => {
  it("meta-data carries the instance id and hostname", () => {
    expect(parse(metaData("vm-123", "host"))).toEqual({ "instance-id": "vm-123", "local-hostname": "host" });
  });
  it("hostname comes from the spec or a cleaned VM name, and bad ones are refused", () => {
    expect(guestHostname(undefined, "My_VM.1")).toBe("my-vm-1");
    expect(guestHostname({ hostname: "web-1" }, "x")).toBe("web-1");
    expect(() => guestHostname({ hostname: "a<b>" }, "x")).toThrow(/host name/);
  });
});

describe("network-config", () => {
  it("defaults to DHCP on every NIC matched by MAC", () => {
    const doc = parse(networkConfig(undefined, [{ mac: "52:54:00:00:00:01", network: "a" }, { mac: "52:54:00:00:00:02", network: "b" }])!) as unknown;
    expect(doc).toEqual({
      version: 2,
      ethernets: { nic0: { match: { macaddress: "52:54:00:00:00:01" }, dhcp4: true }, nic1: { match: { macaddress: "52:54:00:00:00:02" }, dhcp4: true } },
    });
    expect(networkConfig(undefined, [])).toBeUndefined();
  });

  it("static addresses, gateway and nameservers per NIC; globs become matches", () => {
    const spec = {
      networkConfig: {
        ethernets: [
          { name: "eth0", addresses: ["192.168.5.10/24"], gateway4: "192.168.5.1", nameservers: { addresses: ["192.168.5.1"] } },
          { name: "en*", dhcp4: true },
        ],
      },
    };
    expect(parse(networkConfig(spec, [])!)).toEqual({
      version: 2,
      ethernets: {
        eth0: { dhcp4: false, addresses: ["192.168.5.10/24"], routes: [{ to: "default", via: "192.168.5.1" }], nameservers: { addresses: ["192.168.5.1"] } },
        enall: { match: { name: "en*" }, dhcp4: true },
      },
    });
    expect(staticAddress(spec, "52:54:00:00:00:09", 0)).toBe("192.168.5.10");
    expect(staticAddress(spec, "52:54:00:00:00:09", 1)).toBeUndefined();
  });
});

describe("seed ISO", () => {
  const dir = mkdtempSync(join(tmpdir(), "seed-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("has volume id cidata and the three files", async () => {
    const iso = join(dir, "seed.iso");
    await buildSeedIso({ metaData: metaData("i-1", "h"), userData: userData(undefined, "h"), networkConfig: "version: 2\n" }, iso);
    const listing = execFileSync("xorriso", ["-indev", iso, "-pvd_info", "-ls", "/"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(listing).toMatch(/Volume Id\s*:\s*cidata/);
    for (const name of ["meta-data", "user-data", "network-config"]) expect(listing).toContain(name);
    expect(readFileSync(iso).subarray(32769, 32774).toString()).toBe("CD001");
  });
});
