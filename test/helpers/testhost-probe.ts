import { execFileSync } from "node:child_process";

// Whether this process can use the libvirt test host (scripts/testhost.sh): the test host's network namespace
// and a libvirtd that answers. No vitest here: the benchmark runner asks the same question.

export const LIBVIRT_URI = "qemu:///system";

export function testHostNetns(): string {
  return process.env.TESTENV_VM_NETNS ?? "tvmtest";
}

/** Name of the network namespace this process is in, or undefined for the root/unnamed one. */
export function currentNetns(): string | undefined {
  try {
    const name = execFileSync("ip", ["netns", "identify", String(process.pid)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5_000,
    }).trim();
    return name === "" ? undefined : name;
  } catch {
    return undefined;
  }
}

/** What keeps this process from the test host; each caller words its own advice. */
export type TestHostProblem = { kind: "outside-namespace"; actual: string | undefined; wanted: string } | { kind: "libvirt-down"; uri: string };

export function probeTestHost(): TestHostProblem | undefined {
  const wanted = testHostNetns();
  const actual = currentNetns();
  if (actual !== wanted) return { kind: "outside-namespace", actual, wanted };
  try {
    execFileSync("virsh", ["-q", "-c", LIBVIRT_URI, "version"], { stdio: "ignore", timeout: 15_000 });
  } catch {
    return { kind: "libvirt-down", uri: LIBVIRT_URI };
  }
  return undefined;
}
