import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { VmManifest } from "../../api/vm-manifest.js";
import { retryUntil } from "../../lib/retry.js";
import { startServer, type TestServer } from "../helpers/https-server.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { buildBootIso, ISO_BOOT_MARKER } from "./boot-iso.js";
import { BIN, defineNatNetwork, projectFolder, virsh, type CliResult } from "./project-support.js";
import { sshRun } from "./support.js";

// Seed 004 with real libvirt: a manifest of three VMs (BIOS headless on an existing disk; UEFI + TPM 2.0 + vnc with a
// created disk and an ISO by path; an ISO by URL from a loopback HTTPS server), and the flow of issue 10 part 2:
// sync, sync again (no changes), start/status, a memory edit that waits for a restart, a domain undefined behind
// the tool's back, capture, prune (ours only), vnc on 127.0.0.1 only, and nothing of ours left behind.

const run = promisify(execFile);
const NETWORK = `tvm-default-${process.pid}`;
const VM1 = `tvm-m1-${process.pid}`;
const VM2 = `tvm-m2-${process.pid}`;
const VM3 = `tvm-m3-${process.pid}`;
const HANDMADE = `tvm-hand-${process.pid}`;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON read back

/** The IPv4 address libvirt's DHCP leased to a domain's NIC, once it has one. */
async function leaseAddress(domain: string, timeoutMs: number): Promise<string> {
  const leased = await retryUntil(() => Promise.resolve(/(\d+\.\d+\.\d+\.\d+)\/\d+/.exec(virsh("domifaddr", domain, "--source", "lease"))?.[1]), { timeoutMs, intervalMs: 2_000 });
  if (!leased.ok) throw new Error(`${domain} got no DHCP lease within ${timeoutMs} ms`);
  return leased.value;
}

describeIfTestHost("e2e_libvirt: the VM manifest (vm sync | status | start | stop | capture)", () => {
  let images: TestImages;
  let folder: string;
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  let removeNetwork: (() => void) | undefined;
  let manifest: Json;
  let isoSha: string;
  let sshKey: string;
  const manifestPath = (): string => join(folder, "manifests", "vms.json");
  const writeManifest = (document: Json): void => writeFileSync(manifestPath(), `${JSON.stringify(document, null, 2)}\n`);

  async function cli(...args: string[]): Promise<CliResult> {
    try {
      const { stdout, stderr } = await run("node", [BIN, ...args], { cwd: folder, timeout: 900_000, env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  }
  const ok = (result: CliResult): CliResult => {
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    return result;
  };
  const statusOf = async (): Promise<Record<string, Json>> =>
    Object.fromEntries(((JSON.parse(ok(await cli("vm", "status", "--json")).stdout) as Json).machines as Json[]).map((m): [string, Json] => [String(m.name), m]));

  beforeAll(async () => {
    images = ensureTestImages("tiny");
    removeNetwork = defineNatNetwork(NETWORK, 252);
    folder = projectFolder("vm-manifest");
    mkdirSync(join(folder, "manifests"));
    // The tiny image as a user's existing disk, used in place.
    copyFileSync(images.tiny, join(folder, "vm1.qcow2"));
    // A UEFI-bootable ISO (the tiny kernel and initramfs, with a seed authorizing a test key) for VM 2, by path, and
    // the same bytes by URL for VM 3.
    sshKey = join(folder, "vm2-key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vm-manifest-test", "-f", sshKey]);
    buildBootIso({
      kernel: images.tinyKernel,
      initrd: images.tinyInitrd,
      authorizedKey: readFileSync(`${sshKey}.pub`, "utf8").trim(),
      hostname: "manifest-iso",
      workDir: join(folder, "iso-build"),
      output: join(folder, "boot.iso"),
    });
    const iso = readFileSync(join(folder, "boot.iso"));
    isoSha = createHash("sha256").update(iso).digest("hex");
    server = await startServer();
    server.route("/boot.iso", { body: iso });
    server.route("/other.iso", { body: Buffer.concat([iso, Buffer.from("other")]) });
    const caFile = join(folder, "ca.pem");
    writeFileSync(caFile, server.ca);
    env = { ...process.env, NODE_EXTRA_CA_CERTS: caFile, TESTENV_VM_IMAGE_CACHE_DIR: join(folder, "images"), TESTENV_VM_LOG: "warn" };
    manifest = {
      vms: {
        [VM1]: { memory_gb: 1, vcpus: 1, disk_path: join(folder, "vm1.qcow2"), disk_size_gb: 1, boot: "bios", network: NETWORK, graphics: "none" },
        [VM2]: {
          memory_gb: 1,
          vcpus: 1,
          disk_path: join(folder, "vm2.qcow2"),
          disk_size_gb: 2,
          create_if_missing: true,
          boot: "uefi",
          tpm: "2.0",
          // syslinux.efi is not signed for secure boot, which tpm 2.0 turns on by default.
          secure_boot: false,
          network: NETWORK,
          graphics: "vnc",
          iso_sources: [{ path: join(folder, "boot.iso") }],
        },
        [VM3]: {
          memory_gb: 1,
          vcpus: 1,
          disk_path: join(folder, "vm3.qcow2"),
          disk_size_gb: 1,
          create_if_missing: true,
          boot: "bios",
          network: NETWORK,
          graphics: "none",
          iso_sources: [{ url: `${server.origin}/boot.iso` }],
        },
      },
    };
  });

  afterAll(async () => {
    for (const name of [VM1, VM2, VM3, HANDMADE]) {
      for (const args of [["destroy", name], ["undefine", name, "--nvram", "--tpm"]]) {
        try {
          virsh(...args);
        } catch {
          // not there
        }
      }
    }
    removeNetwork?.();
    await server?.close();
    if (folder) rmSync(dirname(folder), { recursive: true, force: true });
    const left = virsh("list", "--all", "--name").split("\n").filter((name) => name.includes(`-${process.pid}`));
    expect(left).toEqual([]);
  });

  it("refuses an ISO URL without sha256 or --allow-download; --allow-download fetches it (dry run: nothing defined)", async () => {
    writeManifest(manifest);
    const refused = await cli("vm", "sync");
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`vms.${VM3}.iso_sources[0]: an ISO URL is downloaded only when the manifest pins its sha256 or you pass --allow-download`);
    expect(server.hitsFor("/boot.iso")).toEqual([]);

    const other = join(folder, "other.json");
    writeFileSync(other, JSON.stringify({ vms: { [VM3]: { ...manifest.vms[VM3], iso_sources: [{ url: `${server.origin}/other.iso` }] } } }));
    const plan = ok(await cli("vm", "sync", "--manifest", other, "--allow-download", "--dry-run"));
    expect(plan.stdout).toContain(`create    ${VM3}`);
    expect(server.hitsFor("/other.iso").length).toBeGreaterThan(0);
    expect(virsh("list", "--all", "--name")).not.toContain(VM3);
  });

  it("sync defines all three (the pinned ISO URL fetched and verified); sync again changes nothing", async () => {
    manifest.vms[VM3].iso_sources = [{ url: `${server.origin}/boot.iso`, sha256: isoSha }];
    writeManifest(manifest);
    const first = ok(await cli("vm", "sync"));
    for (const name of [VM1, VM2, VM3]) expect(first.stdout).toContain(`create    ${name}`);
    expect(first.stdout).toContain("applied:");
    const domains = virsh("list", "--all", "--name");
    for (const name of [VM1, VM2, VM3]) expect(domains).toContain(name);
    expect(execFileSync("qemu-img", ["info", "--output=json", join(folder, "vm2.qcow2")], { encoding: "utf8" })).toContain(`"virtual-size": ${2 * 1024 ** 3}`);
    const xml2 = virsh("dumpxml", "--inactive", VM2);
    expect(xml2).toMatch(/<os firmware=['"]efi['"]/);
    expect(xml2).toMatch(/<tpm model=['"]tpm-crb['"]>/);
    expect(xml2).toContain(join(folder, "boot.iso"));
    expect(virsh("dumpxml", "--inactive", VM3)).toContain(join(folder, "images"));

    const again = ok(await cli("vm", "sync"));
    expect(again.stdout).toContain("no changes");
    expect(again.stdout).not.toContain("applied:");
  });

  it("vm start runs a VM; status shows running and stopped; vnc listens on 127.0.0.1 only", async () => {
    expect(ok(await cli("vm", "start", VM2)).stdout).toBe(`vm ${VM2} started\n`);
    expect(ok(await cli("vm", "start", VM2)).stdout).toBe(`vm ${VM2} was already running\n`);
    const status = await statusOf();
    expect(status[VM1]).toMatchObject({ state: "stopped", managed: true, drift: [] });
    expect(status[VM2]).toMatchObject({ state: "running", managed: true, drift: [], pendingRestart: false });
    const uri = status[VM2]?.graphicsUri as string;
    expect(uri).toMatch(/^vnc:\/\/127\.0\.0\.1:59\d\d$/);
    const port = uri.split(":").pop();
    const listening = execFileSync("ss", ["-Hltn"], { encoding: "utf8" }).split("\n").filter((line) => line.includes(`:${port} `));
    expect(listening.length).toBeGreaterThan(0);
    for (const line of listening) expect(line).toContain(`127.0.0.1:${port}`);
  });

  it("VM 2 boots from its ISO to SSH: the seeded key logs in, on the created 2 GiB disk's machine", async () => {
    const address = await leaseAddress(VM2, 360_000);
    const login = await retryUntil(
      async () => {
        const out = await sshRun(address, sshKey, "hostname; cat /proc/cmdline; cat /sys/block/vda/size; cat /run/tiny-seed");
        return out.code === 0 ? out : undefined;
      },
      { timeoutMs: 360_000, intervalMs: 3_000 },
    );
    expect(login.ok, `ssh login with the seeded key: ${login.ok ? "" : String(login.lastError)}`).toBe(true);
    const [hostname, cmdline, vdaSectors, seed] = (login.ok ? login.value.stdout : "").trim().split("\n");
    expect(hostname).toBe("manifest-iso");
    expect(cmdline).toContain(ISO_BOOT_MARKER);
    expect(Number(vdaSectors) * 512).toBe(2 * 1024 ** 3);
    expect(seed).toBe("initramfs");
  });

  it("a memory edit is synced for the next boot and says it needs a restart; the running VM is not destroyed", async () => {
    manifest.vms[VM2].memory_gb = 2;
    writeManifest(manifest);
    const update = ok(await cli("vm", "sync"));
    expect(update.stdout).toContain(`update    ${VM2} (restart needed`);
    expect(update.stdout).toContain("memory_gb: 1 GiB -> 2 GiB  [needs restart]");
    expect(update.stdout).toContain(`restart needed for: ${VM2}`);
    expect(virsh("domstate", VM2)).toBe("running");
    expect((await statusOf())[VM2]).toMatchObject({ state: "running", drift: [], pendingRestart: true });
    expect(ok(await cli("vm", "sync")).stdout).toContain("no changes");
  });

  it("a domain undefined behind the tool's back is missing", async () => {
    virsh("undefine", VM3);
    expect((await statusOf())[VM3]).toMatchObject({ state: "missing" });
  });

  it("capture writes back what was synced: the manifest equals the input after normalisation", async () => {
    const captured = ok(await cli("vm", "capture"));
    expect(captured.stdout).toContain(`${VM3}: not defined in libvirt`);
    const written = JSON.parse(readFileSync(manifestPath(), "utf8")) as unknown;
    expect(VmManifest.parse(written)).toEqual(VmManifest.parse(manifest));
    expect(ok(await cli("vm", "sync", VM1, VM2)).stdout).toContain("no changes");
  });

  it("--prune removes only the domains this manifest made and no longer lists", async () => {
    ok(await cli("vm", "sync", VM3));
    const handmadeXml = join(folder, "handmade.xml");
    writeFileSync(handmadeXml, `<domain type="qemu"><name>${HANDMADE}</name><memory unit="MiB">64</memory><os><type arch="x86_64">hvm</type></os></domain>`);
    virsh("define", handmadeXml);
    const { [VM3]: _dropped, ...rest } = manifest.vms as Record<string, Json>;
    writeManifest({ vms: rest });
    const pruned = ok(await cli("vm", "sync", "--prune"));
    expect(pruned.stdout).toContain(`prune     ${VM3}`);
    const domains = virsh("list", "--all", "--name");
    expect(domains).not.toContain(VM3);
    for (const name of [VM1, VM2, HANDMADE]) expect(domains).toContain(name);
    expect(readFileSync(join(folder, "vm3.qcow2")).length).toBeGreaterThan(0); // disk kept
  });

  it("vm stop stops a manifest VM and keeps its disk", async () => {
    const stopped = ok(await cli("vm", "stop", VM2, "--force"));
    expect(stopped.stdout).toBe(`vm ${VM2} was forced off; its disk is kept\n`);
    expect((await statusOf())[VM2]).toMatchObject({ state: "stopped", pendingRestart: false });
  });
});
