import { describe, it } from "vitest";
import { probeTestHost } from "./testhost-probe.js";

// The libvirt test host (scripts/testhost.sh): a network namespace with its own libvirtd. Tests that
// create bridges, dnsmasq or VMs must run inside it (scripts/test-libvirt.sh does that).

let cachedProblem: string | null | undefined;

/** Why the libvirt test host is not usable from this process, or undefined when it is. */
export function testHostProblem(): string | undefined {
  if (cachedProblem === undefined) cachedProblem = findProblem() ?? null;
  return cachedProblem ?? undefined;
}

function findProblem(): string | undefined {
  const problem = probeTestHost();
  if (problem?.kind === "outside-namespace") {
    return (
      `this process is in network namespace ${problem.actual ?? "<root>"}, not ${problem.wanted}; run the stage with ` +
      `'bash scripts/test-libvirt.sh' or 'scripts/testhost.sh up && scripts/testhost.sh exec -- npx vitest run ...'`
    );
  }
  if (problem?.kind === "libvirt-down") return `libvirt does not answer on ${problem.uri}; run 'scripts/testhost.sh up' (status: 'scripts/testhost.sh status')`;
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
