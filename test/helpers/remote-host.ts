import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { JumpHost } from "../../providers/kit/index.js";
import { carriesPrefix } from "./leaks.js";

// The second libvirt host of the test host (scripts/testhost-remote.sh): started by the tests that need it and
// ended by them. Everything the tests ask of it goes over SSH, as the provider's own requests do.

// From the sources (test/helpers) or from a build (dist/test/helpers, a benchmark): the repository's scripts/.
const SCRIPT = [join(import.meta.dirname, "..", "..", "scripts", "testhost-remote.sh"), join(import.meta.dirname, "..", "..", "..", "scripts", "testhost-remote.sh")].find((path) => existsSync(path)) ?? "scripts/testhost-remote.sh";

export interface RemoteHost {
  /** qemu+ssh://root@<address>/system */
  uri: string;
  address: string;
  key: string;
  knownHosts: string;
}

function parseEnv(output: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of output.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) values[match[1]] = match[2];
  }
  return values;
}

/** Starts the second host (or finds it up) and says how to reach it; also returns how long `up` took. */
export function startRemoteHost(): RemoteHost & { startMs: number } {
  const started = Date.now();
  const output = execFileSync("bash", [SCRIPT, "up"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 180_000 });
  const env = parseEnv(output);
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined) throw new Error(`testhost-remote.sh up printed no ${name}:\n${output}`);
    return value;
  };
  return {
    uri: need("TESTENV_VM_REMOTE_URI"),
    address: need("TESTENV_VM_REMOTE_ADDRESS"),
    key: need("TESTENV_VM_REMOTE_SSH_KEY"),
    knownHosts: need("TESTENV_VM_REMOTE_KNOWN_HOSTS"),
    startMs: Date.now() - started,
  };
}

/** Kills the host's libvirtd (SIGKILL, a crash) or starts it again. */
export function remoteLibvirtd(action: "kill" | "start"): void {
  execFileSync("bash", [SCRIPT, "libvirtd", action], { stdio: ["ignore", "inherit", "inherit"], timeout: 120_000 });
}

export function stopRemoteHost(): void {
  execFileSync("bash", [SCRIPT, "down"], { stdio: ["ignore", "inherit", "inherit"], timeout: 120_000 });
}

/** The provider config of a libvirt provider on this host. */
export function remoteProviderSpec(host: RemoteHost): Record<string, unknown> {
  return { uri: host.uri, ssh: { key: host.key, knownHosts: host.knownHosts }, accelerator: "tcg" };
}

/** The jump host readiness uses, for a test's own SSH to a guest there. */
export function remoteJump(host: RemoteHost): JumpHost {
  return { host: host.address, port: 22, user: "root", privateKey: readFileSync(host.key, "utf8"), knownHosts: readFileSync(host.knownHosts, "utf8") };
}

/** Runs a shell command line on the host (test code: the line is ours). */
export function remoteShell(host: RemoteHost, line: string): string {
  return execFileSync(
    "ssh",
    ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", host.key, "-o", `UserKnownHostsFile=${host.knownHosts}`, "-o", "StrictHostKeyChecking=yes", `root@${host.address}`, "--", line],
    { encoding: "utf8", timeout: 60_000 },
  );
}

// As findLeaks here, plus the definitions libvirt keeps and the provider's data dir on that host.
const REMOTE_FILE_DIRS = ["/etc/libvirt/qemu", "/var/lib/libvirt/qemu/nvram", "/var/lib/libvirt/dnsmasq", "/run/libvirt/qemu", "/run/libvirt/network", "/var/lib/testenv-vm"];

/** What carries the prefix on the remote host: domains, networks, links, files (as findLeaks does here). */
export function remoteLeaks(host: RemoteHost, prefix: string): string[] {
  const sections = remoteShell(
    host,
    [
      "echo '#domains'; virsh -q -c qemu:///system list --all --name",
      "echo '#networks'; virsh -q -c qemu:///system net-list --all --name",
      "echo '#links'; ip -o link show | awk -F': ' '{print $2}'",
      `echo '#files'; find ${REMOTE_FILE_DIRS.join(" ")} -mindepth 1 2>/dev/null`,
    ].join("; "),
  );
  const found: string[] = [];
  let section = "";
  for (const line of sections.split("\n").map((l) => l.trim()).filter(Boolean)) {
    if (line.startsWith("#")) section = line.slice(1);
    else if (carriesPrefix(line, prefix)) found.push(`${section} ${line}`);
  }
  return found;
}
