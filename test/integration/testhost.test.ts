import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { Client } from "ssh2";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";

// Proof that the test host and the tiny image work, with plain virsh/qemu-img/xorriso (not the provider):
// boot on a NAT network, SSH in, check what the NoCloud seed asked for, clean up everything.

const run = promisify(execFile);
const URI = "qemu:///system";
const SUFFIX = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const NET = `tvmth-${SUFFIX}`;
const BRIDGE = `tvth${SUFFIX.slice(-8)}`; // at most 15 characters

async function virsh(...args: string[]): Promise<string> {
  const { stdout } = await run("virsh", ["-q", "-c", URI, ...args], { timeout: 60_000 });
  return stdout;
}

async function virshQuiet(...args: string[]): Promise<void> {
  await virsh(...args).catch(() => undefined);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(250);
  }
}

function sshExec(host: string, user: string, key: Buffer, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = new Client();
    conn
      .on("ready", () => {
        conn.exec(command, (err, stream) => {
          if (err) {
            conn.end();
            reject(err);
            return;
          }
          let out = "";
          let errOut = "";
          stream
            .on("data", (d: Buffer) => (out += d.toString()))
            .on("close", (code: number | null) => {
              conn.end();
              if (code === 0) resolve(out);
              else reject(new Error(`'${command}' on ${host} exited ${String(code)}: ${errOut}`));
            });
          stream.stderr.on("data", (d: Buffer) => (errOut += d.toString()));
        });
      })
      .on("error", reject)
      .connect({ host, port: 22, username: user, privateKey: key, readyTimeout: 10_000 });
  });
}

interface Booted {
  ip: string;
  secondsToIp: number;
  secondsToSsh: number;
}

describeIfTestHost("libvirt test host + tiny image (plain virsh)", () => {
  let images: TestImages;
  let work: string;
  let key: Buffer;
  let publicKey: string;
  const domains: string[] = [];
  let subnet = ""; // "192.168.N" of the test network

  beforeAll(async () => {
    images = ensureTestImages(["tiny", "pxe"]);
    // qemu runs as libvirt-qemu: the work dir must be traversable, so not a 0700 mkdtemp under /tmp.
    work = mkdtempSync("/var/tmp/testenv-vm-testhost-");
    chmodSync(work, 0o755);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "testhost", "-f", path.join(work, "id")]);
    key = readFileSync(path.join(work, "id"));
    publicKey = readFileSync(path.join(work, "id.pub"), "utf8").trim();
    await defineNetwork();
  });

  // Each test stops its VM when done: idle TCG guests still cost CPU on a small host.
  afterEach(async () => {
    for (const dom of domains.splice(0)) {
      await virshQuiet("destroy", dom);
      await virshQuiet("undefine", "--nvram", dom);
    }
  });

  afterAll(async () => {
    await virshQuiet("net-destroy", NET);
    await virshQuiet("net-undefine", NET);
    if (work) rmSync(work, { recursive: true, force: true });
    const left = `${await virsh("list", "--all", "--name")}\n${await virsh("net-list", "--all", "--name")}`;
    expect(left).not.toContain(SUFFIX);
    const { stdout: links } = await run("ip", ["-o", "link", "show"]);
    expect(links).not.toContain(BRIDGE);
    expect(existsSync(work)).toBe(false);
  });

  // A free /24 in 192.168.200-249 (other suites may have networks up in the same libvirtd).
  async function defineNetwork(): Promise<void> {
    const tftp = images.pxeRoot;
    let lastError: unknown;
    for (let attempt = 0; attempt < 8; attempt++) {
      const octet = 200 + Math.floor(Math.random() * 50);
      const xml = `<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>${NET}</name>
  <forward mode='nat'/>
  <bridge name='${BRIDGE}' stp='off' delay='0'/>
  <ip address='192.168.${octet}.1' netmask='255.255.255.0'>
    <tftp root='${tftp}'/>
    <dhcp>
      <range start='192.168.${octet}.10' end='192.168.${octet}.250'/>
      <bootp file='boot.ipxe'/>
    </dhcp>
  </ip>
  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>
</network>`;
      const file = path.join(work, "net.xml");
      writeFileSync(file, xml);
      try {
        await virsh("net-define", file);
        await virsh("net-start", NET);
        subnet = `192.168.${octet}`;
        return;
      } catch (err) {
        lastError = err;
        await virshQuiet("net-undefine", NET);
      }
    }
    throw new Error(`could not start a libvirt network for the test: ${String(lastError)}`);
  }

  // networkConfig: optional network-config (v2) file content
  async function makeSeed(name: string, hostname: string, networkConfig?: string): Promise<string> {
    const seedDir = mkdtempSync(path.join(work, `seed-${name}-`));
    writeFileSync(path.join(seedDir, "meta-data"), `instance-id: iid-${name}\nlocal-hostname: ignored-${name}\n`);
    writeFileSync(
      path.join(seedDir, "user-data"),
      [
        "#cloud-config",
        `hostname: ${hostname}`,
        "disable_root: false", // real cloud-init would otherwise put a "login as debian" command on root's key
        "ssh_authorized_keys:", // real cloud-init gives root only the top-level keys (the tiny image: all keys)
        `  - ${publicKey}`,
        "users:",
        "  - default",
        "  - name: tester",
        "    ssh_authorized_keys:",
        `      - ${publicKey}`,
        "write_files:",
        "  - path: /etc/testenv/hello.txt",
        "    permissions: '0600'",
        "    content: |",
        "      written by write_files",
        "runcmd:",
        "  - echo \"runcmd ran on $(hostname)\" > /root/runcmd-ok",
        "",
      ].join("\n"),
    );
    const files = [path.join(seedDir, "user-data"), path.join(seedDir, "meta-data")];
    if (networkConfig !== undefined) {
      writeFileSync(path.join(seedDir, "network-config"), networkConfig);
      files.push(path.join(seedDir, "network-config"));
    }
    const iso = path.join(work, `${name}-seed.iso`);
    await run("xorriso", ["-as", "genisoimage", "-output", iso, "-volid", "CIDATA", "-joliet", "-rock", ...files]);
    return iso;
  }

  async function boot(
    firmware: "bios" | "efi" | "pxe",
    image: "tiny" | "debian-ci" = "tiny",
    secondNic?: { mac: string; networkConfig: string },
  ): Promise<Booted> {
    const name = image === "tiny" ? firmware : image;
    const dom = `tvmth-${name}-${SUFFIX}`;
    domains.push(dom);
    const seed = await makeSeed(name, `th-${name}`, secondNic?.networkConfig);
    let disk = "";
    if (firmware !== "pxe") {
      const overlay = path.join(work, `${name}.qcow2`);
      const base = image === "tiny" ? images.tiny : images.debianCi;
      await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, overlay]);
      disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${overlay}'/><target dev='vda' bus='virtio'/></disk>`;
    }
    const os =
      firmware === "efi"
        ? `<os firmware='efi'><type arch='x86_64' machine='pc'>hvm</type>
             <firmware><feature enabled='no' name='secure-boot'/></firmware>
             <nvram>${path.join(work, `${name}_VARS.fd`)}</nvram><boot dev='hd'/></os>`
        : `<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='${firmware === "pxe" ? "network" : "hd"}'/></os>`;
    const xml = `<domain type='qemu'>
  <name>${dom}</name>
  <memory unit='MiB'>${image === "tiny" ? 256 : 1024}</memory>
  <vcpu>${image === "tiny" ? 1 : 2}</vcpu>
  ${os}
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    ${disk}
    <controller type='scsi' model='virtio-scsi'/>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${seed}'/>
      <target dev='sda' bus='scsi'/><readonly/></disk>
    <interface type='network'><source network='${NET}'/><model type='virtio'/></interface>
    ${secondNic ? `<interface type='network'><mac address='${secondNic.mac}'/><source network='${NET}'/><model type='virtio'/></interface>` : ""}
    <serial type='pty'><log file='${path.join(work, `${name}.serial.log`)}' append='off'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>`;
    const file = path.join(work, `${name}.xml`);
    writeFileSync(file, xml);
    await virsh("define", file);
    const t0 = Date.now();
    await virsh("start", dom);
    const ip = await waitFor(`an IPv4 lease for ${dom}`, 900_000, async () => {
      const out = await virsh("domifaddr", dom).catch(() => "");
      return /ipv4\s+([\d.]+)\//.exec(out)?.[1];
    });
    const secondsToIp = (Date.now() - t0) / 1000;
    await waitFor(`SSH on ${ip}`, 900_000, () =>
      sshExec(ip, "root", key, "true").then(
        () => true,
        () => undefined,
      ),
    );
    const secondsToSsh = (Date.now() - t0) / 1000;
    process.stderr.write(`testhost: ${firmware} ${image} VM: IP after ${secondsToIp.toFixed(1)} s, SSH after ${secondsToSsh.toFixed(1)} s\n`);
    return { ip, secondsToIp, secondsToSsh };
  }

  async function expectSeedApplied(ip: string, hostname: string): Promise<void> {
    expect((await sshExec(ip, "root", key, "hostname")).trim()).toBe(hostname);
    expect((await sshExec(ip, "root", key, "cloud-init status --wait")).trim()).toContain("status: done");
    expect(await sshExec(ip, "root", key, "cat /etc/testenv/hello.txt")).toBe("written by write_files\n");
    expect((await sshExec(ip, "root", key, "stat -c %a /etc/testenv/hello.txt")).trim()).toBe("600");
    expect((await sshExec(ip, "root", key, "cat /root/runcmd-ok")).trim()).toBe(`runcmd ran on ${hostname}`);
    const result = JSON.parse(await sshExec(ip, "root", key, "cat /run/cloud-init/result.json")) as {
      v1: { errors: unknown[] };
    };
    expect(result.v1.errors).toEqual([]);
    // the non-root user got the key too
    expect((await sshExec(ip, "tester", key, "id -un")).trim()).toBe("tester");
  }

  it("boots the tiny image with BIOS and applies the NoCloud seed (DHCP eth0, static eth1)", async () => {
    const mac = "52:54:00:7e:57:01";
    // eth0: no entry, so DHCP; the second NIC is matched by MAC and gets a static address below the DHCP range
    const networkConfig = `version: 2\nethernets:\n  second:\n    match:\n      macaddress: "${mac}"\n    addresses: [${subnet}.5/24]\n`;
    const { ip } = await boot("bios", "tiny", { mac, networkConfig });
    await expectSeedApplied(ip, "th-bios");
    const addrs = await sshExec(ip, "root", key, "ip -4 -o addr show");
    expect(addrs).toMatch(new RegExp(`eth0\\s+inet ${ip.replace(/\./g, "\\.")}/24`));
    expect(addrs).toMatch(new RegExp(`eth1\\s+inet ${subnet.replace(/\./g, "\\.")}\\.5/24`));
  });

  it("boots the tiny image with UEFI (OVMF, secure boot off)", async () => {
    const { ip } = await boot("efi");
    expect((await sshExec(ip, "root", key, "test -d /sys/firmware/efi && echo efi")).trim()).toBe("efi");
    await expectSeedApplied(ip, "th-efi");
  });

  it("PXE-boots the tiny kernel + initramfs from the TFTP root (iPXE) and finds its seed", async () => {
    const { ip } = await boot("pxe");
    expect((await sshExec(ip, "root", key, "cat /proc/cmdline"))).toContain("console=ttyS0");
    await expectSeedApplied(ip, "th-pxe");
  });

  it("boots the debian-ci image and real cloud-init applies the same NoCloud seed", async () => {
    images = ensureTestImages("debian-ci");
    const { ip } = await boot("bios", "debian-ci");
    expect(await sshExec(ip, "root", key, "cloud-init --version 2>&1")).toMatch(/cloud-init \d+/);
    await expectSeedApplied(ip, "th-debian-ci");
  }, 1_500_000); // real cloud-init under TCG: ~75 s to SSH on an idle host, ~5 min on a loaded one
});
