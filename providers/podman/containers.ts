import { randomUUID } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ProviderVMSpec, StopMethod, VMCreateRequest, VMStartRequest, VMState, VMStopRequest } from "../../api/provider.js";
import { writeFileAtomic } from "../../lib/durable-file.js";
import type { Logger } from "../../lib/log.js";
import { clampMs, retryUntil } from "../../lib/retry.js";
import { ProviderError, alreadyExists, checkResourceName, invalidSpec, notFound, parseDuration, sshExec, tcpOpen, type VMHandlers } from "../kit/index.js";
import { ATTACHED_LABEL } from "./attached-network.js";
import { asNotFound, type PodmanCli } from "./cli.js";
import type { ImageStore } from "./image.js";
import { INIT_PATH, renderInitScript, userProblems, usersOf, type ContainerUser } from "./init-script.js";
import { LABEL, baseLabels, labelArgs, ownedFilter, resourceName, type LabelContext } from "./labels.js";

// Containers as VMs: the same vm_* tools, answered from `podman inspect`, so a fresh process sees what exists
// (a container that stopped by itself included). What a container cannot be (a disk, firmware, PXE, most of
// cloud-init) is refused with NOT_IMPLEMENTED naming the field before anything is made.

const DEFAULT_NETWORK = "podman";
const DEFAULT_READY_MS = 180_000;
const READY_FIELDS = ["ssh", "tcp", "exec"] as const;
const NAME_IN_USE = /name "[^"]+" is already in use|already in use by/i;

interface PodmanContainer {
  Id: string;
  Name: string;
  Created?: string;
  ImageName?: string;
  State: { Status: string; Running: boolean; ExitCode?: number; Pid?: number; OOMKilled?: boolean; StartedAt?: string; FinishedAt?: string };
  Config: { Hostname?: string; Labels?: Record<string, string> | null };
  HostConfig?: { Memory?: number; NanoCpus?: number };
  NetworkSettings?: {
    Networks?: Record<string, { IPAddress?: string; MacAddress?: string }> | null;
    Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null;
  };
}

type Readiness = NonNullable<ProviderVMSpec["readiness"]>;

function notForContainers(field: string, why: string): ProviderError {
  return new ProviderError("NOT_IMPLEMENTED", `${field}: ${why}; the podman provider runs containers`);
}

/** The first field of the spec a container cannot honour, as NOT_IMPLEMENTED. */
export function unsupportedField(spec: ProviderVMSpec): ProviderError | undefined {
  if (spec.disk !== undefined) return notForContainers("spec.disk", "a container has no disk of its own (its image is spec.container.image; a disk size is not applicable: overlay on ext4 has no quota)");
  if (spec.boot.firmware === "uefi") return notForContainers("spec.boot.firmware", "containers have no firmware");
  if (spec.boot.secureBoot === true) return notForContainers("spec.boot.secureBoot", "containers have no firmware");
  if (spec.boot.tpm === true) return notForContainers("spec.boot.tpm", "containers have no TPM");
  if (spec.boot.order.some((device) => device !== "hd")) return notForContainers("spec.boot.order", "containers do not boot from the network or a CD");
  for (const field of ["packages", "runcmd", "writeFiles", "networkConfig"] as const) {
    if (spec.cloudInit?.[field] !== undefined) return notForContainers(`spec.cloudInit.${field}`, "only cloud-init users and hostname apply to a container; build the rest into the image");
  }
  if (spec.readiness?.cloudInit?.enabled === true) return notForContainers("spec.readiness.cloudInit", "containers run no cloud-init");
  return undefined;
}

/** The podman networks a container joins, in order (the first gets spec.container.ip). */
function networksOf(spec: ProviderVMSpec): string[] {
  return spec.networks.length > 0 ? spec.networks : spec.network !== undefined ? [spec.network] : [DEFAULT_NETWORK];
}

function statusOf(state: PodmanContainer["State"]): string {
  if (state.Running) return "running";
  if (["exited", "stopped", "created", "configured", "initialized"].includes(state.Status)) return "stopped";
  if (state.Status === "paused") return "paused";
  return "unknown";
}

function publishedPorts(container: PodmanContainer): Array<{ containerPort: string; hostIP: string; hostPort: number }> {
  return Object.entries(container.NetworkSettings?.Ports ?? {}).flatMap(([containerPort, bindings]) =>
    (bindings ?? []).map((b) => ({ containerPort, hostIP: b.HostIp || "0.0.0.0", hostPort: Number(b.HostPort) })),
  );
}

function stateOf(container: PodmanContainer): VMState {
  const labels = container.Config.Labels ?? {};
  const networks = container.NetworkSettings?.Networks ?? {};
  const ips: Record<string, string> = {};
  const macs: Record<string, string> = {};
  for (const [network, info] of Object.entries(networks)) {
    if (info.IPAddress) ips[network] = info.IPAddress;
    if (info.MacAddress) macs[network] = info.MacAddress;
  }
  const ip = Object.values(ips)[0];
  const mac = Object.values(macs)[0];
  const sshUser = labels[LABEL.sshUser];
  const privateKey = labels[LABEL.privateKey];
  return {
    name: container.Name,
    status: statusOf(container.State),
    ...(ip !== undefined ? { ip } : {}),
    ...(mac !== undefined ? { mac } : {}),
    ips,
    macs,
    uuid: container.Id,
    ...(sshUser ? { sshUser } : {}),
    ...(sshUser && privateKey && ip ? { sshCommand: `ssh -i ${privateKey} ${sshUser}@${ip}` } : {}),
    ...(container.Created ? { createdAt: container.Created } : {}),
    providerState: {
      containerId: container.Id,
      image: container.ImageName ?? labels[LABEL.image],
      hostname: container.Config.Hostname,
      podmanStatus: container.State.Status,
      ...(container.State.Running ? { pid: container.State.Pid } : { exitCode: container.State.ExitCode }),
      ...(container.State.OOMKilled === true ? { oomKilled: true } : {}),
      memoryBytes: container.HostConfig?.Memory,
      nanoCpus: container.HostConfig?.NanoCpus,
      ports: publishedPorts(container),
      labels,
    },
  };
}

export interface RunArgsInput {
  request: VMCreateRequest;
  labels: LabelContext;
  image: string;
  users: readonly ContainerUser[];
  /** The init script's path on the host (mounted read-only) when there are users to set up. */
  script: string;
  /** What the container runs after the init script: spec.container.command or the image's own. */
  command: readonly string[];
}

/** The argv of `podman run` for a container VM: labels, limits, networks with the fixed IP, ports. Pure (create and plan). */
export function containerRunArgs({ request, labels: context, image, users, script, command }: RunArgsInput): string[] {
  const { name, spec } = request;
  const container = spec.container ?? {};
  const networks = networksOf(spec);
  const sshUser = spec.readiness?.ssh?.user ?? users[0]?.name;
  const privateKey = spec.readiness?.ssh?.privateKey;
  const labels = {
    ...baseLabels(context, name),
    [LABEL.image]: image,
    ...(spec.readiness !== undefined ? { [LABEL.readiness]: JSON.stringify(spec.readiness) } : {}),
    ...(sshUser !== undefined ? { [LABEL.sshUser]: sshUser } : {}),
    ...(privateKey !== undefined ? { [LABEL.privateKey]: privateKey } : {}),
  };
  const args = [
    "run",
    "--detach",
    "--name",
    name,
    "--hostname",
    spec.cloudInit?.hostname ?? resourceName(name, context.prefix),
    ...labelArgs(labels),
    "--memory",
    `${spec.memory}m`,
    "--cpus",
    String(spec.vcpus),
    ...networks.flatMap((network, i) => ["--network", i === 0 && container.ip !== undefined ? `${network}:ip=${container.ip}` : network]),
    ...(container.ports ?? []).flatMap((p) => ["--publish", `${p.hostIP ?? "127.0.0.1"}:${p.hostPort}:${p.containerPort}/${p.protocol ?? "tcp"}`]),
    ...Object.entries(container.env ?? {}).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
    ...(container.init === true ? ["--init"] : []),
  ];
  if (users.length === 0) return [...args, image, ...(container.command ?? [])];
  return [...args, "--volume", `${script}:${INIT_PATH}:ro`, "--entrypoint", "/bin/sh", image, INIT_PATH, ...command];
}

export interface ContainerDeps {
  podman: PodmanCli;
  images: ImageStore;
  labels: LabelContext;
  /** Where per-container init scripts live. */
  dir: string;
  log: Logger;
}

export class ContainerService {
  constructor(private readonly deps: ContainerDeps) {}

  private async inspect(name: string): Promise<PodmanContainer> {
    try {
      const [container] = await this.deps.podman.json<PodmanContainer[]>(["container", "inspect", name]);
      if (container === undefined) throw notFound("vm", name);
      return container;
    } catch (error) {
      throw asNotFound(error, "vm", name);
    }
  }

  /** A new path per create, so a create refused as ALREADY_EXISTS never touches the existing container's script. */
  private initScript(name: string): string {
    return join(this.deps.dir, name, randomUUID().slice(0, 8), "init.sh");
  }

  /** The users to set up: the cloud-init users, or root with the readiness key when there are none. */
  private async users(spec: ProviderVMSpec): Promise<ContainerUser[]> {
    const users = usersOf(spec.cloudInit);
    const problems = userProblems(users);
    if (problems.length > 0) throw invalidSpec(problems.join("; "));
    if (users.length > 0) return users;
    const key = spec.readiness?.ssh?.privateKey;
    if (spec.readiness?.ssh?.enabled !== true || key === undefined) return [];
    const publicKey = await readFile(`${key}.pub`, "utf8").catch(() => undefined);
    if (publicKey === undefined) throw invalidSpec(`spec.readiness.ssh.privateKey: ${key}.pub is missing; SSH readiness without cloud-init users authorizes that public key for root`);
    return [{ name: "root", authorizedKeys: [publicKey.trim()] }];
  }

  private async runArgs(request: VMCreateRequest, image: string, users: ContainerUser[], script: string): Promise<string[]> {
    const command = request.spec.container?.command ?? (await this.deps.images.defaultCommand(image));
    if (users.length > 0) {
      // Our init script runs first and then execs what the image (or spec.container.command) would have run.
      if (command.length === 0) throw invalidSpec(`spec.container.command: image ${image} has no command; give one`);
      await writeFileAtomic(script, renderInitScript(users), { mode: 0o755, makeDirs: 0o755 });
    }
    return containerRunArgs({ request, labels: this.deps.labels, image, users, script, command });
  }

  /**
   * On a network attached to someone else's bridge the addresses are handed out by its owner (libvirt's DHCP, the
   * LAN's router), which podman's allocator cannot see: such a NIC needs spec.container.ip, chosen outside them.
   */
  private async checkAllocatable(spec: ProviderVMSpec): Promise<void> {
    const networks = networksOf(spec);
    const allocated = (spec.container?.ip !== undefined ? networks.slice(1) : networks).filter((network) => network !== DEFAULT_NETWORK);
    if (allocated.length === 0) return;
    // A missing network is podman run's to report.
    const inspected = await this.deps.podman.json<Array<{ name: string; labels?: Record<string, string> | null }>>(["network", "inspect", ...allocated]).catch(() => []);
    const attached = inspected.find((network) => network.labels?.[ATTACHED_LABEL.bridge] !== undefined);
    if (attached === undefined) return;
    const field = networks[0] === attached.name ? "spec.container.ip" : "spec.networks";
    throw invalidSpec(
      `${field}: network ${attached.name} is on bridge ${attached.labels?.[ATTACHED_LABEL.bridge] ?? "?"}, whose addresses its owner hands out; ` +
        "put the container first on it with a fixed spec.container.ip outside that owner's DHCP range",
    );
  }

  /** PROVIDER_ERROR with the logs' tail when the container is no longer running: waiting longer would not help. */
  private async failIfExited(name: string): Promise<PodmanContainer> {
    const container = await this.inspect(name);
    if (container.State.Running) return container;
    const logs = await this.deps.podman.logsTail(name);
    throw new ProviderError(
      "PROVIDER_ERROR",
      `container ${name} exited (code ${container.State.ExitCode ?? "?"}${container.State.OOMKilled === true ? ", killed for using more memory than spec.memory" : ""}) instead of becoming ready` +
        (logs ? `; last log lines:\n${logs}` : "; it wrote no logs"),
      { details: { exited: true, exitCode: container.State.ExitCode } },
    );
  }

  private async probe(field: (typeof READY_FIELDS)[number], readiness: Readiness, name: string, ip: string | undefined, attemptMs: number): Promise<boolean> {
    if (field === "exec") {
      await this.deps.podman.run(["exec", name, ...(readiness.exec?.command ?? ["true"])], { timeoutMs: attemptMs });
      return true;
    }
    if (ip === undefined) throw new Error("the container has no IP address (its network gives it none); use readiness.exec");
    if (field === "tcp") return tcpOpen(ip, readiness.tcp?.port ?? 22, Math.min(attemptMs, 3000));
    const ssh = readiness.ssh;
    if (ssh?.user === undefined || ssh.privateKey === undefined) throw invalidSpec("spec.readiness.ssh: SSH readiness needs user and privateKey");
    const privateKey = await readFile(ssh.privateKey, "utf8");
    const result = await sshExec({ host: ip, port: 22, user: ssh.user, privateKey }, "echo testenv-ssh-ready", attemptMs);
    if (result.stdout.includes("testenv-ssh-ready")) return true;
    throw new Error(`ssh command exited ${String(result.code)}: ${result.stderr.trim()}`);
  }

  /** The readiness checks in order (ssh, tcp, exec), each with its own deadline; an exited container fails at once. */
  private async waitReady(name: string, readiness: Readiness | undefined): Promise<void> {
    const container = await this.failIfExited(name);
    const ip = stateOf(container).ip;
    for (const field of READY_FIELDS) {
      const check = readiness?.[field];
      if (check === undefined || ("enabled" in check && !check.enabled)) continue;
      const timeoutMs = parseDuration(check.timeout, DEFAULT_READY_MS, `spec.readiness.${field}.timeout`);
      const exited = (error: unknown): boolean => error instanceof ProviderError && error.details?.exited === true;
      const outcome = await retryUntil(
        async (attempt) => {
          // The probe first: on the way to ready, the exit check costs a podman call only when a probe failed.
          const ok = await this.probe(field, readiness ?? {}, name, ip, clampMs(attempt.remainingMs(), 2000, 20_000)).catch(async (error: unknown) => {
            await this.failIfExited(name);
            throw error;
          });
          if (!ok) await this.failIfExited(name);
          return ok ? true : undefined;
        },
        { timeoutMs, intervalMs: 100, backoff: 1.5, maxIntervalMs: 1000, retryable: (error) => !exited(error) && !(error instanceof ProviderError && error.code === "INVALID_SPEC") },
      );
      if (!outcome.ok) {
        const last = outcome.lastError instanceof Error ? outcome.lastError.message : "not ready";
        const logs = await this.deps.podman.logsTail(name);
        throw new ProviderError("TIMEOUT", `container ${name}: readiness.${field} not ready after ${Math.round(timeoutMs / 1000)}s (last error: ${last})${logs ? `; last log lines:\n${logs}` : ""}`);
      }
    }
  }

  private async remove(name: string): Promise<void> {
    try {
      // --volumes: anonymous volumes go with it; --time: a container being deleted gets no long grace period.
      await this.deps.podman.run(["rm", "--force", "--volumes", "--time", "2", name]);
    } finally {
      await rm(join(this.deps.dir, name), { recursive: true, force: true });
    }
  }

  async create(request: VMCreateRequest): Promise<VMState> {
    const name = checkResourceName("vm", request.name);
    const refused = unsupportedField(request.spec);
    if (refused) throw refused;
    const users = await this.users(request.spec);
    await this.checkAllocatable(request.spec);
    const image = await this.deps.images.resolve(request.spec.container?.image);
    const script = this.initScript(name);
    const args = await this.runArgs(request, image, users, script);
    try {
      await this.deps.podman.run(args);
    } catch (error) {
      // Asking podman first would cost a call on every create; its own refusal says the same.
      if (error instanceof ProviderError && NAME_IN_USE.test(String(error.details?.stderr))) {
        await rm(dirname(script), { recursive: true, force: true });
        throw alreadyExists("vm", name);
      }
      await this.remove(name).catch(() => undefined); // a failed run can leave it in Created state
      throw error;
    }
    try {
      await this.waitReady(name, request.spec.readiness);
      return stateOf(await this.inspect(name));
    } catch (error) {
      await this.remove(name).catch((cleanup: unknown) => this.deps.log.warn(`removing failed container ${name}: ${String(cleanup)}`));
      throw error;
    }
  }

  private readinessOf(container: PodmanContainer): Readiness | undefined {
    const raw = container.Config.Labels?.[LABEL.readiness];
    return raw === undefined ? undefined : (JSON.parse(raw) as Readiness);
  }

  async start(request: VMStartRequest): Promise<VMState> {
    const name = checkResourceName("vm", request.name);
    const container = await this.inspect(name);
    if (!container.State.Running) await this.deps.podman.run(["start", name]);
    if (request.waitReady) await this.waitReady(name, this.readinessOf(container));
    return stateOf(await this.inspect(name));
  }

  async stop(request: VMStopRequest): Promise<VMState> {
    const name = checkResourceName("vm", request.name);
    const before = await this.inspect(name);
    let stopMethod: StopMethod = "already-stopped";
    if (before.State.Running) {
      // podman stop: SIGTERM, then SIGKILL once the timeout passes. 137 = killed by SIGKILL.
      await this.deps.podman.run(["stop", "--time", request.force ? "0" : String(request.timeoutSeconds), name], { timeoutMs: (request.timeoutSeconds + 60) * 1000 });
      const after = await this.inspect(name);
      stopMethod = request.force || (after.State.ExitCode === 137 && after.State.OOMKilled !== true) ? "forced" : "graceful";
      return { ...stateOf(after), stopMethod };
    }
    return { ...stateOf(before), stopMethod };
  }

  handlers(): VMHandlers {
    return {
      create: (request) => this.create(request),
      get: async (name) => stateOf(await this.inspect(checkResourceName("vm", name))),
      list: async () => {
        const names = (await this.deps.podman.json<Array<{ Names?: string[] }>>(["ps", "--all", ...ownedFilter(this.deps.labels), "--format", "json"])).flatMap((c) => c.Names ?? []);
        if (names.length === 0) return [];
        return (await this.deps.podman.json<PodmanContainer[]>(["container", "inspect", ...names])).map(stateOf);
      },
      delete: async (name) => {
        checkResourceName("vm", name);
        const container = await this.inspect(name);
        try {
          // A stop (or rm) cut short, say by a SIGKILLed provider whose podman died on the broken pipe, leaves the
          // container "stopping"; a plain rm then drops podman's record but leaves conmon and the process running.
          if (container.State.Status === "stopping") await this.deps.podman.run(["kill", name]).catch(() => undefined);
          await this.remove(name);
        } catch (error) {
          throw asNotFound(error, "vm", name);
        }
      },
      start: (request) => this.start(request),
      stop: (request) => this.stop(request),
    };
  }
}
