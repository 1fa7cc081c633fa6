import { execFileSync } from "node:child_process";
import { describe, it } from "vitest";

// The libvirt test host (scripts/testhost.sh): a network namespace with its own libvirtd. Tests that
// create bridges, dnsmasq or VMs must run inside it (scripts/test-libvirt.sh does that).

const LIBVIRT_URI = "qemu:///system";

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

let cachedProblem: string | null | undefined;

/** Why the libvirt test host is not usable from this process, or undefined when it is. */
export function testHostProblem(): string | undefined {
  if (cachedProblem === undefined) cachedProblem = findProblem() ?? null;
  return cachedProblem ?? undefined;
}

function findProblem(): string | undefined {
  const wanted = testHostNetns();
  const actual = currentNetns();
  if (actual !== wanted) {
    return (
      `this process is in network namespace ${actual ?? "<root>"}, not ${wanted}; run the stage with ` +
      `'bash scripts/test-libvirt.sh' or 'scripts/testhost.sh up && scripts/testhost.sh exec -- npx vitest run ...'`
    );
  }
  try {
    execFileSync("virsh", ["-q", "-c", LIBVIRT_URI, "version"], { stdio: "ignore", timeout: 15_000 });
  } catch {
    return `libvirt does not answer on ${LIBVIRT_URI}; run 'scripts/testhost.sh up' (status: 'scripts/testhost.sh status')`;
  }
  return undefined;
}

/** True when this process runs inside the test host's namespace and libvirt answers. */
export function inTestHost(): boolean {
  return testHostProblem() === undefined;
}

function required(): boolean {
  return process.env.TESTENV_VM_REQUIRE_TESTHOST === "1";
}

/**
 * `describe` for suites that need the test host. Without it the suite is skipped, except when
 * TESTENV_VM_REQUIRE_TESTHOST=1 (CI): then it fails with the reason, so a stage never passes empty.
 */
export function describeIfTestHost(name: string, fn: () => void): void {
  const problem = testHostProblem();
  if (problem === undefined) {
    describe(name, fn);
  } else if (required()) {
    describe(name, () => {
      it("needs the libvirt test host", () => {
        throw new Error(`libvirt test host required (TESTENV_VM_REQUIRE_TESTHOST=1) but unusable: ${problem}`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${problem})`, fn);
  }
}
