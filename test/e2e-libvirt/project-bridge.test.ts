import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { defaultDataDir } from "../../providers/libvirt/config.js";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { projectIdentity } from "../../src/project/identity.js";
import { findLeaks } from "../helpers/leaks.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { projectCli as cli, projectFolder, virsh } from "./project-support.js";

// NETWORK_TYPE=bridge as seed 001's user has it: a host bridge on their LAN, where a router they own serves DHCP.
// Here the LAN is a bridge inside the test host's namespace with a dnsmasq playing that router. The instance gets
// the FIXED_IP it asks for (configured by the guest itself, since nobody we control serves DHCP there), and `rm`
// leaves the bridge and the LAN's DHCP server exactly as they were.

const BRIDGE = `tvmlan${process.pid % 100_000}`;
const LAN = "192.168.254";
const FIXED_IP = `${LAN}.60`;

const ip = (...args: string[]): string => execFileSync("ip", args, { encoding: "utf8" }).trim();

describeIfTestHost("e2e_libvirt: project folder on a host bridge (NETWORK_TYPE=bridge, FIXED_IP) with a LAN DHCP server", () => {
  let images: TestImages;
  let folder: string;
  let name: string;
  let lanDir: string;
  let lanDhcpPid: number | undefined;

  beforeAll(async () => {
    images = ensureTestImages("tiny");
    ip("link", "add", BRIDGE, "type", "bridge");
    ip("addr", "add", `${LAN}.1/24`, "dev", BRIDGE);
    ip("link", "set", BRIDGE, "up");
    lanDir = mkdtempSync("/var/tmp/testenv-vm-lan-");
    const dnsmasq = spawn(
      "dnsmasq",
      [
        "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", `--interface=${BRIDGE}`, "--bind-interfaces", "--except-interface=lo",
        `--dhcp-range=${LAN}.100,${LAN}.150,255.255.255.0,1h`, `--dhcp-leasefile=${join(lanDir, "leases")}`, `--pid-file=${join(lanDir, "pid")}`,
      ],
      { stdio: "ignore" },
    );
    lanDhcpPid = dnsmasq.pid;
    await new Promise((done) => setTimeout(done, 500));
    expect(dnsmasq.exitCode, "the LAN's dnsmasq did not start").toBeNull();

    folder = projectFolder("bridged");
    name = projectIdentity(folder).name;
    writeFileSync(
      join(folder, ".env"),
      [
        "INFRA_TYPE=vm",
        "MEMORY=320",
        "CPUS=1",
        "DISK=2",
        "NETWORK_TYPE=bridge",
        `BRIDGE=${BRIDGE}`,
        `FIXED_IP=${FIXED_IP}/24`,
        `GATEWAY=${LAN}.1`,
        `IMAGE=${images.tiny}`,
        "SSH_USER=root",
        "READY_TIMEOUT=600",
        "",
      ].join("\n"),
    );
  });

  afterAll(async () => {
    if (folder !== undefined && existsSync(join(folder, ".testenv-vm"))) await cli(folder, "rm");
    if (lanDhcpPid !== undefined) process.kill(lanDhcpPid, "SIGTERM");
    try {
      ip("link", "del", BRIDGE);
    } catch {
      // never made
    }
    if (lanDir !== undefined) rmSync(lanDir, { recursive: true, force: true });
    if (folder !== undefined) rmSync(resolve(folder, ".."), { recursive: true, force: true });
  });

  it("up plugs the VM into the existing bridge with exactly the fixed address, reachable over ssh", async () => {
    const result = await cli(folder, "up", "--json");
    expect(result.code, result.stderr || result.stdout).toBe(0);
    const up = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(up).toMatchObject({ instance: name, status: "running", action: "created", ip: FIXED_IP });
    const domain = `${namePrefix(name)}-${name}`;
    expect(virsh("dumpxml", domain)).toMatch(new RegExp(`<interface type='bridge'>[\\s\\S]*?<source bridge='${BRIDGE}'/>`));
    const inside = await cli(folder, "ssh", "--", "sh", "-c", "'ip -4 -o addr show; ip route show default'");
    expect(inside.code, inside.stderr).toBe(0);
    expect(inside.stdout).toContain(`inet ${FIXED_IP}/24`);
    expect(inside.stdout).toContain(`default via ${LAN}.1`);
    // The guest took the static address, not one from the LAN's DHCP pool.
    const leases = existsSync(join(lanDir, "leases")) ? readFileSync(join(lanDir, "leases"), "utf8") : "";
    expect(leases).not.toMatch(/52:54:00/);
  });

  it("a foreign libvirt domain that has the instance's name is refused and left exactly as it was", async () => {
    const other = projectFolder("squatted");
    const otherName = projectIdentity(other).name;
    const domain = `${namePrefix(otherName)}-${otherName}`;
    const xmlFile = join(lanDir, "foreign.xml");
    writeFileSync(xmlFile, `<domain type='qemu'><name>${domain}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
    virsh("define", xmlFile);
    try {
      const before = virsh("dumpxml", domain);
      writeFileSync(join(other, ".env"), `INFRA_TYPE=vm\nMEMORY=256\nCPUS=1\nDISK=1\nNETWORK_TYPE=bridge\nBRIDGE=${BRIDGE}\nFIXED_IP=${LAN}.61/24\nGATEWAY=${LAN}.1\nIMAGE=${images.tiny}\nSSH_USER=root\n`);
      const result = await cli(other, "up");
      expect(result.code, result.stdout).toBe(1);
      expect(result.stderr).toContain(`"${domain}" already exists`);
      expect(virsh("dumpxml", domain)).toBe(before);
      expect(virsh("list", "--all", "--name").split("\n").filter((entry) => entry.startsWith(namePrefix(otherName)))).toEqual([domain]);
      const status = await cli(other, "status", "--json");
      expect(status.stdout).not.toContain('"status": "running"');
    } finally {
      virsh("undefine", domain);
      await cli(other, "rm");
      rmSync(resolve(other, ".."), { recursive: true, force: true });
    }
  });

  it("rm removes the instance and leaves the bridge and the LAN's DHCP server as they were", async () => {
    const removed = await cli(folder, "rm", "--json");
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ instance: name, removed: true });
    const prefix = namePrefix(name);
    expect(findLeaks({ prefix, artifactDir: join(folder, ".testenv-vm", "run", name), keyDirs: [], dataDir: defaultDataDir(prefix) })).toEqual([]);
    expect(ip("-o", "addr", "show", "dev", BRIDGE)).toContain(`${LAN}.1/24`);
    expect(ip("-o", "link", "show", "master", BRIDGE)).toBe("");
    expect(existsSync(`/proc/${lanDhcpPid ?? 0}`)).toBe(true);
  });
});
