import { CommandError, run } from "../../lib/run.js";
import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { constants } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../../lib/log.js";
import { hostEmulator } from "./host-arch.js";

// KVM only when it really works. /dev/kvm can exist and still hang guests (nested virtualisation), so the
// probe boots a 512-byte payload that leaves through isa-debug-exit and must finish within a short
// time. The answer is cached per boot (keyed by the kernel's boot_id).

export type Accelerator = "kvm" | "tcg";

export interface ProbeResult {
  bootId: string;
  kvm: boolean;
  reason: string;
}

// mov al, 1; out 0xf4, al; hlt; jmp $-1 — then the boot signature. QEMU exits with (1 << 1) | 1 = 3.
export function probeBootSector(): Buffer {
  const sector = Buffer.alloc(512);
  Buffer.from([0xb0, 0x01, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]).copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

const PROBE_TIMEOUT_MS = 3_000; // a working KVM finishes in ~0.1 s, TCG in ~0.2 s; the broken one here takes 7 s+

async function runProbe(imagePath: string): Promise<{ ok: boolean; reason: string }> {
  const args = [
    "-accel", "kvm", "-nodefaults", "-no-user-config", "-display", "none", "-m", "16",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
    "-drive", `file=${imagePath},format=raw,if=floppy`, "-boot", "a",
  ];
  try {
    await run(hostEmulator(), args, { timeoutMs: PROBE_TIMEOUT_MS, killSignal: "SIGKILL" });
    return { ok: false, reason: "KVM probe exited 0 without running the payload" };
  } catch (error) {
    // The payload writes 1 to isa-debug-exit, which makes qemu exit with (1 << 1) | 1 = 3.
    if (error instanceof CommandError && error.exitCode === 3) return { ok: true, reason: "KVM ran the probe payload" };
    if (error instanceof CommandError && error.timedOut) return { ok: false, reason: `KVM probe did not finish within ${PROBE_TIMEOUT_MS} ms` };
    return { ok: false, reason: `KVM probe failed: ${(error as Error).message.split("\n").slice(-2).join(" ")}` };
  }
}

async function bootId(): Promise<string> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return "unknown";
  }
}

function cachePath(): string {
  return process.getuid?.() === 0 ? "/run/testenv-vm/kvm-probe.json" : join(tmpdir(), `testenv-vm-${process.getuid?.() ?? "user"}-kvm-probe.json`);
}

export async function probeKvm(log: Logger): Promise<ProbeResult> {
  const id = await bootId();
  const cache = cachePath();
  try {
    const cached = JSON.parse(await readFile(cache, "utf8")) as ProbeResult;
    if (cached.bootId === id && typeof cached.kvm === "boolean") return cached;
  } catch {
    // no cache yet
  }
  let result: ProbeResult;
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
    const image = join(tmpdir(), `testenv-vm-kvm-probe-${process.pid}.img`);
    await writeFile(image, probeBootSector());
    try {
      const outcome = await runProbe(image);
      result = { bootId: id, kvm: outcome.ok, reason: outcome.reason };
    } finally {
      await rm(image, { force: true });
    }
  } catch {
    result = { bootId: id, kvm: false, reason: "/dev/kvm is missing or not accessible" };
  }
  log.info(`accelerator probe: ${result.kvm ? "KVM usable" : "using TCG"} (${result.reason})`);
  try {
    await mkdir(join(cache, ".."), { recursive: true });
    await writeFile(cache, JSON.stringify(result));
  } catch {
    // caching is an optimisation only
  }
  return result;
}

/** What the KVM probe of this boot found, read from its cache without probing (a plan runs nothing). */
export async function cachedAccelerator(): Promise<{ accelerator: Accelerator; reason: string } | undefined> {
  try {
    const cached = JSON.parse(await readFile(cachePath(), "utf8")) as ProbeResult;
    if (cached.bootId !== (await bootId()) || typeof cached.kvm !== "boolean") return undefined;
    return { accelerator: cached.kvm ? "kvm" : "tcg", reason: cached.reason };
  } catch {
    return undefined;
  }
}

let pending: Promise<ProbeResult> | undefined;

/** The accelerator to use for a configured preference; `auto` probes once per process (and per boot via cache). */
export async function chooseAccelerator(preference: "auto" | "kvm" | "tcg", log: Logger): Promise<Accelerator> {
  if (preference !== "auto") return preference;
  pending ??= probeKvm(log);
  return (await pending).kvm ? "kvm" : "tcg";
}
