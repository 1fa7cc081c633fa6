import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../lib/package.js";
import { startProviderProcess, type ProviderProcess } from "../helpers/provider-stdio.js";

// Real podman for the `podman` test project. Every test file gets its own network namespace (tvmpod-<pid>):
// podman and the provider run in it through `nsenter --net` (never `ip netns exec`, which remounts /sys and
// hides the cgroups), and containers are reached only from inside it. Storage lives at a stable path outside the
// clone, so the base image is built once (by global-setup.ts) and reused.

// From the package root, so that benchmarks (built to dist/bench/) find the same bins as the tests.
export const PODMAN_BIN = join(packageRoot(), "dist/providers/podman/bin.js");
export const PODMAN_ROOT = process.env.TESTENV_VM_PODMAN_ROOT ?? "/var/cache/testenv-vm/podman";
/** A benchmark that re-runs itself inside the namespace names it here; a test file uses its own pid. */
export const NETNS = process.env.TESTENV_VM_PODMAN_NETNS ?? `tvmpod-${process.pid}`;
export const NSENTER = ["nsenter", `--net=/run/netns/${NETNS}`] as const;

export function createNetns(): void {
  execFileSync("ip", ["netns", "add", NETNS]);
  execFileSync(NSENTER[0], [NSENTER[1], "ip", "link", "set", "lo", "up"]);
}

export function deleteNetns(): void {
  execFileSync("ip", ["netns", "delete", NETNS], { stdio: "ignore" });
}

/** The provider config every test uses: the shared cached storage. */
export const providerConfig = (): Record<string, unknown> => ({ root: PODMAN_ROOT });

/** podman's own environment for the tests' checks, with the provider's config files. */
export const podmanEnv = (): NodeJS.ProcessEnv => ({ ...process.env, CONTAINERS_CONF: `${PODMAN_ROOT}/containers.conf`, CONTAINERS_STORAGE_CONF: `${PODMAN_ROOT}/storage.conf` });

/** Runs a command inside the test's namespace; stdout. */
export function inNetns(command: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(NSENTER[0], [NSENTER[1], command, ...args], { encoding: "utf8", env: options.env ?? podmanEnv(), timeout: options.timeoutMs ?? 60_000, stdio: ["ignore", "pipe", "pipe"] });
}

export const podman = (...args: string[]): string => inNetns("podman", args);

export interface PodEnv {
  prefix: string;
  testID: string;
  root: string;
  artifactDir: string;
  name: (logical: string) => string;
}

export function newEnv(tag: string): PodEnv {
  const prefix = `p${(Date.now() % 0xfffff).toString(16).padStart(5, "0")}${process.pid % 100}`;
  const root = `/tmp/testenv-vm-podman-it/${prefix}-${tag}`;
  return { prefix, testID: `pod-${tag}-${prefix}`, root, artifactDir: `${root}/artifacts`, name: (logical) => `${prefix}-${logical}` };
}

export function startPodmanProvider(env: PodEnv, extra: Record<string, string> = {}): Promise<ProviderProcess> {
  mkdirSync(env.artifactDir, { recursive: true });
  return startProviderProcess({
    command: NSENTER[0],
    args: [NSENTER[1], process.execPath, PODMAN_BIN, "--mcp"],
    env: {
      ...(process.env as Record<string, string>),
      TESTENV_VM_LOG: "debug",
      TESTENV_VM_TEST_ID: env.testID,
      TESTENV_VM_NAME_PREFIX: env.prefix,
      TESTENV_VM_ARTIFACT_DIR: env.artifactDir,
      TESTENV_VM_PROVIDER_CONFIG: JSON.stringify(providerConfig()),
      ...extra,
    },
    logFile: process.env.PODMAN_IT_LOG ? `${process.env.PODMAN_IT_LOG}/${env.prefix}.log` : undefined,
    clientName: "podman-integration",
  });
}

const lines = (text: string): string[] => text.split("\n").map((s) => s.trim()).filter(Boolean);

/** conmon processes whose argv mentions `text` (a container name or ID). */
export function conmonProcesses(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.split("\0")[0]?.endsWith("conmon") === true && cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return pids;
}

/** Everything podman holds that carries the env's prefix (plus volumes and images other than the base); empty: no leak. */
export function leaks(env: PodEnv, allowedImages: readonly string[] = []): string[] {
  const found: string[] = [];
  for (const c of lines(podman("ps", "--all", "--format", "{{.Names}}"))) if (c.startsWith(env.prefix)) found.push(`container ${c}`);
  for (const n of lines(podman("network", "ls", "--format", "{{.Name}}"))) if (n.startsWith(env.prefix)) found.push(`network ${n}`);
  for (const v of lines(podman("volume", "ls", "--filter", `label=testenv-vm.prefix=${env.prefix}`, "--format", "{{.Name}}"))) found.push(`volume ${v}`);
  for (const p of conmonProcesses(env.prefix)) found.push(`conmon pid ${p}`);
  const images = lines(podman("images", "--format", "{{.Repository}}:{{.Tag}}"));
  for (const image of images) if (!image.startsWith("localhost/testenv-vm-base:") && !allowedImages.includes(image)) found.push(`image ${image}`);
  return found;
}

export function removeEnvFiles(env: PodEnv): void {
  rmSync(env.root, { recursive: true, force: true });
}

const ignore = (fn: () => void): void => {
  try {
    fn();
  } catch {
    // best effort
  }
};

/** Best-effort removal of everything of the env, for afterAll after a failed test; never throws, so the namespace is still deleted. */
export function forceRemoveAll(env: Pick<PodEnv, "prefix">): void {
  ignore(() => {
    for (const c of lines(podman("ps", "--all", "--format", "{{.Names}}"))) if (c.startsWith(env.prefix)) ignore(() => podman("rm", "--force", "--volumes", "--time", "0", c));
  });
  ignore(() => {
    for (const n of lines(podman("network", "ls", "--format", "{{.Name}}"))) if (n.startsWith(env.prefix)) ignore(() => podman("network", "rm", "--force", n));
  });
}

/** afterAll of a project-folder test: `rm` through the CLI while the folder still has its state, then whatever carries the prefix. */
export async function removeProjectFolder(folder: string | undefined, prefix: string | undefined): Promise<void> {
  if (folder !== undefined && existsSync(join(folder, ".testenv-vm"))) await cliInNetns(folder, "rm");
  if (prefix !== undefined) forceRemoveAll({ prefix });
}

/** Objects a test plants to look foreign carry this label instead of ours, so that the sweep below can still find them. */
export const PLANTED_LABEL = ["--label", "testenv-vm-tests=planted"] as const;

const STALE_AGE = "30m";
const hostPodman = (...args: string[]): string => execFileSync("podman", args, { encoding: "utf8", env: podmanEnv(), timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });
const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The test storage outlives runs (it caches the base image), so a run that was killed leaves its objects there. podman
 * 4.3 then fails every `ps` while a container it believes running lost its network namespace file, naming that
 * file: recreating it empty lets `rm --force` through. Objects older than STALE_AGE and the namespaces of test
 * processes that are gone are removed; a run in progress on this machine keeps everything it owns. Returns what went.
 */
export function sweepStaleTestObjects(): string[] {
  const removed: string[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    let failure = "";
    try {
      hostPodman("ps", "--all", "--quiet");
      break;
    } catch (error) {
      failure = String((error as { stderr?: unknown }).stderr ?? error);
    }
    const stale = /container ([0-9a-f]{64}): retrieving network namespace at \/run\/netns\/([\w.-]+)/.exec(failure);
    if (stale?.[1] === undefined || stale[2] === undefined) throw new Error(`podman ps fails in the test storage, and not for a lost network namespace: ${failure}`);
    const [, id, netns] = stale;
    execFileSync("ip", ["netns", "add", netns]);
    ignore(() => hostPodman("rm", "--force", "--volumes", "--time", "0", id));
    ignore(() => execFileSync("ip", ["netns", "delete", netns], { stdio: "ignore" }));
    removed.push(`container ${id.slice(0, 12)} (its namespace ${netns} was gone)`);
  }
  for (const filter of ["label=managed-by=testenv-vm", "label=testenv-vm-tests=planted"]) {
    for (const id of lines(hostPodman("ps", "--all", "--quiet", "--filter", filter, "--filter", `until=${STALE_AGE}`))) {
      ignore(() => hostPodman("rm", "--force", "--volumes", "--time", "0", id));
      removed.push(`container ${id}`);
    }
    for (const name of lines(hostPodman("network", "prune", "--force", "--filter", filter, "--filter", `until=${STALE_AGE}`))) removed.push(`network ${name}`);
  }
  for (const line of lines(execFileSync("ip", ["netns", "list"], { encoding: "utf8" }))) {
    const pid = /^tvmpod-(\d+)/.exec(line)?.[1];
    if (pid === undefined || processAlive(Number(pid))) continue;
    const name = line.split(" ")[0] ?? "";
    ignore(() => execFileSync("ip", ["netns", "delete", name], { stdio: "ignore" }));
    removed.push(`namespace ${name}`);
  }
  return removed;
}

export const CLI_BIN = join(packageRoot(), "dist/src/bin.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `testenv-vm <verb> --dir <folder> <rest...>` in a fresh process inside the test's namespace. */
export async function cliInNetns(folder: string, verb: string, ...rest: string[]): Promise<CliResult> {
  const { execFile } = await import("node:child_process");
  return new Promise((done) => {
    execFile(
      NSENTER[0],
      [NSENTER[1], process.execPath, CLI_BIN, verb, "--dir", folder, ...rest],
      { timeout: 600_000, encoding: "utf8", env: { ...process.env, TESTENV_VM_LOG: "warn", TESTENV_VM_PODMAN_ROOT: PODMAN_ROOT } },
      (error, stdout, stderr) => done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr }),
    );
  });
}
