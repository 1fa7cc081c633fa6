import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestEnvArtifact } from "../../api/forge.js";
import type { VMState } from "../../api/provider.js";
import type { EnvironmentState } from "../../api/state.js";
import { readTextIfExists, writeJsonAtomic } from "../../lib/durable-file.js";
import { TestenvError, errorMessage } from "../errors.js";
import type { Orchestrator, ProgressListener } from "../orchestrator/orchestrator.js";
import { isRunning } from "../../lib/process-identity.js";
import { hostCapacityIssues } from "./host-capacity.js";
import { portIssues, startForwarder, stopForwarder, type ForwarderRecord } from "./port-forward.js";
import type { Project } from "./load.js";
import { appendMetric, StepTimer, type MetricRecord } from "./metrics.js";
import { provision as runProvision, type ProvisionKind } from "./provision.js";
import { sshCommandLine, type SshEndpoint } from "./ssh-command.js";

// The verbs of a project folder as use cases over the engine: `up` creates or starts, `stop`/`start` keep the
// disk, `rm` removes everything the instance made and nothing else. What the engine does not record (what the
// instance was created from, whether it was provisioned) lives in .testenv-vm/project.json.

/** The engine operations a project needs; the Orchestrator, or a double in tests. */
export type ProjectEngine = Pick<Orchestrator, "create" | "delete" | "status" | "vmPower" | "vmLive">;

export type LiveStatus = "running" | "stopped" | "absent" | "missing";

interface ProjectRecord {
  version: 1;
  instance: string;
  createdAt: string;
  /** The .env keys the instance was created from. */
  createdWith: Record<string, string>;
  provision?: { status: "ok" | "failed"; at: string; kind: ProvisionKind; step?: string; error?: string };
  /** The running port forwarder (PORTS), while the instance runs. */
  forwarder?: ForwarderRecord;
}

export interface InstanceStatus {
  instance: string;
  status: LiveStatus;
  ip?: string;
  ssh?: string;
  provision?: ProjectRecord["provision"];
  /** PORTS, each with whether its forward is up now. */
  ports?: { host: string; guest: number; protocol: string; active: boolean }[];
}

export interface UpResult extends InstanceStatus {
  action: "created" | "started" | "already-running";
  steps: Record<string, number>;
  durationMs: number;
}

export interface ProjectIo {
  /** One line of progress for a person (a TTY), or nothing. */
  progress?: (line: string) => void;
  /** Where provisioning output streams (the terminal), or nothing with --json. */
  echo?: NodeJS.WritableStream;
  onEngineProgress?: ProgressListener;
  signal?: AbortSignal;
}

const STAGE = "project";

export class ProjectInstance {
  constructor(
    readonly project: Project,
    private readonly engine: ProjectEngine,
    private readonly io: ProjectIo = {},
  ) {}

  private get name(): string {
    return this.project.identity.name;
  }

  /** The VM `ssh`, `status` and provisioning mean: the instance's own, or a forge.yaml spec's first. */
  private get vmName(): string {
    return this.project.vms[0] ?? this.name;
  }

  private get stateDir(): string {
    return this.project.layout.stateDir;
  }

  private recordPath(): string {
    return join(this.project.layout.root, "project.json");
  }

  private async readRecord(): Promise<ProjectRecord | undefined> {
    const text = await readTextIfExists(this.recordPath());
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as ProjectRecord;
    } catch (error) {
      throw new TestenvError("STATE_CORRUPT", `${this.recordPath()} is not valid JSON (${errorMessage(error)}); fix it, or run testenv-vm rm and up again`, {
        details: { path: this.recordPath() },
      });
    }
  }

  private async writeRecord(record: ProjectRecord): Promise<void> {
    await writeJsonAtomic(this.recordPath(), record, { mode: 0o600 });
  }

  /** Re-reads project.json and changes only `patch`, so steps of one verb never undo each other's entries. */
  private async patchRecord(patch: Partial<Omit<ProjectRecord, "version" | "instance">>): Promise<void> {
    const current = (await this.readRecord()) ?? { version: 1, instance: this.name, createdAt: new Date().toISOString(), createdWith: this.project.given };
    await this.writeRecord({ ...current, ...patch });
  }

  /** .testenv-vm/ exists and keeps itself out of git. */
  private async ensureLayout(): Promise<void> {
    await mkdir(this.project.layout.root, { recursive: true, mode: 0o700 });
    await writeFile(this.project.layout.gitignore, "# testenv-vm's per-instance state, keys and logs\n*\n", { mode: 0o644 });
  }

  private async environment(): Promise<EnvironmentState | undefined> {
    try {
      return await this.engine.status(this.name, { stateDir: this.stateDir });
    } catch (error) {
      if (error instanceof TestenvError && error.code === "STATE_NOT_FOUND") return undefined;
      throw error;
    }
  }

  private async live(): Promise<{ status: LiveStatus; vm?: VMState; privateKeyPath?: string }> {
    const environment = await this.environment();
    if (environment === undefined) return { status: "absent" };
    const key = environment.resources.keys[this.project.sshKey]?.state?.privateKeyPath;
    const keyPath = typeof key === "string" ? { privateKeyPath: key } : {};
    if (environment.status !== "ready") return { status: "missing", ...keyPath };
    const live = await this.engine.vmLive(this.name, this.vmName, { stateDir: this.stateDir });
    return { status: live.status, ...(live.state === undefined ? {} : { vm: live.state }), ...keyPath };
  }

  private endpoint(live: { vm?: VMState; privateKeyPath?: string }): SshEndpoint | undefined {
    if (live.vm?.ip === undefined || live.privateKeyPath === undefined) return undefined;
    return {
      host: live.vm.ip,
      port: live.vm.sshPort ?? 22,
      user: this.project.sshUser,
      privateKeyPath: live.privateKeyPath,
      knownHostsPath: join(this.project.layout.root, "known_hosts"),
    };
  }

  /**
   * Where the state file says the instance's VM was last seen running, without asking its provider (that costs a
   * provider process). `ssh` tries it first and asks the provider only when ssh itself fails.
   */
  async recordedSshEndpoint(): Promise<SshEndpoint | undefined> {
    const environment = await this.environment();
    if (environment?.status !== "ready") return undefined;
    const vm = environment.resources.vms[this.vmName]?.state;
    const key = environment.resources.keys[this.project.sshKey]?.state?.privateKeyPath;
    if (vm?.status !== "running" || typeof vm.ip !== "string" || typeof key !== "string") return undefined;
    return this.endpoint({ vm: { ...vm, name: this.vmName, status: vm.status, ip: vm.ip }, privateKeyPath: key });
  }

  /** What `ssh` and the provisioner log in to; a clear error when the instance is not running. */
  async sshEndpoint(): Promise<SshEndpoint> {
    const live = await this.live();
    if (live.status !== "running") {
      throw new TestenvError("NOT_FOUND", `instance ${this.name} is ${live.status}; run testenv-vm up first`, { details: { instance: this.name, status: live.status } });
    }
    const endpoint = this.endpoint(live);
    if (endpoint === undefined) throw new TestenvError("NOT_FOUND", `instance ${this.name} is running but has no IP address yet; wait a moment and retry, or see testenv-vm status`);
    return endpoint;
  }

  async status(): Promise<InstanceStatus> {
    const [live, record] = await Promise.all([this.live(), this.readRecord()]);
    const endpoint = this.endpoint(live);
    const forwarding = record?.forwarder !== undefined && live.status === "running" && (await isRunning(record.forwarder));
    const ports = this.project.env.PORTS.map((port) => ({ host: `${port.hostIP}:${port.hostPort}`, guest: port.guestPort, protocol: port.protocol, active: forwarding }));
    return {
      instance: this.name,
      status: live.status,
      ...(live.vm?.ip === undefined ? {} : { ip: live.vm.ip }),
      ...(endpoint === undefined || live.status !== "running" ? {} : { ssh: sshCommandLine(endpoint) }),
      ...(record?.provision === undefined ? {} : { provision: record.provision }),
      ...(ports.length === 0 ? {} : { ports }),
    };
  }

  /** Keys whose values differ from what the instance was created with. */
  private changedKeys(record: ProjectRecord | undefined): string[] {
    if (record === undefined) return [];
    const keys = new Set([...Object.keys(record.createdWith), ...Object.keys(this.project.given)]);
    return [...keys]
      .filter((key) => (record.createdWith[key] ?? "") !== (this.project.given[key] ?? ""))
      .map((key) => `${key}: ${JSON.stringify(record.createdWith[key] ?? "(unset)")} → ${JSON.stringify(this.project.given[key] ?? "(unset)")}`);
  }

  async up(options: { recreate?: boolean; keepOnFailure?: boolean } = {}): Promise<UpResult> {
    const timer = new StepTimer();
    return this.metered("up", timer, async () => {
      await this.ensureLayout();
      let record = await this.readRecord();
      let live = await this.live();
      const changed = live.status === "absent" ? [] : this.changedKeys(record);
      if (changed.length > 0) {
        if (!options.recreate) {
          throw new TestenvError(
            "STATE_CONFLICT",
            `instance ${this.name} was created from a different ${this.project.source === "env" ? ".env" : "forge.yaml"}:\n  ${changed.join("\n  ")}\n` +
              `nothing was changed; run testenv-vm up --recreate to remove it and create it anew (its disk is lost), or restore the old values`,
            { details: { instance: this.name, changed } },
          );
        }
        this.io.progress?.(`.env changed (${changed.length} key(s)): removing ${this.name} to recreate it`);
        await timer.time("remove", () => this.removeAll());
        await this.ensureLayout();
        record = undefined;
        live = { status: "absent" };
      }
      let action: UpResult["action"];
      if (live.status === "running") {
        action = "already-running";
        this.io.progress?.(`${this.name} is already running; nothing changed`);
      } else if (live.status === "stopped") {
        this.io.progress?.(`starting ${this.name}`);
        await timer.time("start", () => this.powerAll("start"));
        action = "started";
      } else {
        if (live.status === "missing") {
          this.io.progress?.(`${this.name}'s VM is gone (state says it exists): removing what is left, then creating it again`);
          await timer.time("remove", () => this.removeAll());
          await this.ensureLayout();
        }
        const short = [...(await hostCapacityIssues(this.project.env, this.project.folder)), ...(await portIssues(this.project.env.PORTS))];
        if (short.length > 0) {
          throw new TestenvError("SPEC_INVALID", `this host cannot hold ${this.name}; nothing was created`, { issues: short, details: { path: this.project.envPath } });
        }
        const env = this.project.env;
        const disk = env.INFRA_TYPE === "container" ? "container: DISK not applicable, overlay storage has no quota" : `${env.DISK} GiB`;
        const from = this.project.source === "forge.yaml" ? ` from forge.yaml, ${this.project.vms.length} VM(s),` : "";
        this.io.progress?.(`creating ${this.name}${from} (${env.MEMORY} MiB, ${env.CPUS} vCPU, ${disk})`);
        if (env.INFRA_TYPE === "container" && env.NETWORK_TYPE === "bridge" && env.FIXED_IP !== undefined) {
          this.io.progress?.(`container on bridge ${env.BRIDGE}: ${env.FIXED_IP} on the bridge's subnet; GATEWAY and DNS not applied (no default route: podman would NAT your LAN otherwise)`);
        }
        await timer.time("create", () => this.create(options.keepOnFailure === true));
        record = { version: 1, instance: this.name, createdAt: new Date().toISOString(), createdWith: this.project.given };
        await this.writeRecord(record);
        action = "created";
      }
      if (this.project.env.PORTS.length > 0) await timer.time("ports", () => this.ensureForwards());
      if (this.project.provisionScript !== undefined && record?.provision?.status !== "ok") {
        await timer.time("provision", () => this.provisionOnce());
      }
      const status = await this.status();
      return { ...status, action, steps: timer.steps, durationMs: timer.elapsedMs() };
    });
  }

  /** PORTS forwarded to the running guest: a forwarder started, kept, or replaced when the guest's address moved. */
  private async ensureForwards(): Promise<void> {
    const ports = this.project.env.PORTS;
    if (ports.length === 0) return;
    const [live, record] = await Promise.all([this.live(), this.readRecord()]);
    const ip = live.vm?.ip;
    if (live.status !== "running" || ip === undefined || record === undefined) return;
    const current = record.forwarder;
    if (current !== undefined && current.guestIP === ip && (await isRunning(current))) return;
    await stopForwarder(current);
    this.io.progress?.(`forwarding ${ports.map((p) => `${p.hostIP}:${p.hostPort} → ${p.guestPort}`).join(", ")}`);
    const forwarder = await startForwarder(ports, ip, this.project.layout.root);
    await this.patchRecord({ forwarder });
  }

  private async dropForwards(): Promise<void> {
    const record = await this.readRecord();
    if (record?.forwarder === undefined) return;
    await stopForwarder(record.forwarder);
    const { forwarder: _stopped, ...rest } = record;
    await this.writeRecord(rest);
  }

  private async create(keepOnFailure: boolean): Promise<TestEnvArtifact> {
    return this.engine.create(
      { testID: this.name, stage: STAGE, tmpDir: this.project.layout.tmpDir, rootDir: this.project.folder, spec: this.project.spec },
      { keepOnFailure, ...(this.io.onEngineProgress ? { onProgress: this.io.onEngineProgress } : {}), ...(this.io.signal ? { signal: this.io.signal } : {}) },
    );
  }

  /** Runs provisioning and records its outcome; a failure keeps the instance and is rethrown. */
  private async provisionOnce(): Promise<void> {
    const script = this.project.provisionScript;
    const scriptName = this.project.env.PROVISION_SCRIPT;
    if (script === undefined || scriptName === undefined) return;
    this.io.progress?.(`provisioning ${this.name} with ${scriptName}`);
    const endpoint = await this.sshEndpoint();
    try {
      const kind = await runProvision({
        scriptPath: script,
        scriptName,
        instance: this.name,
        endpoint,
        workDir: this.project.layout.root,
        logPath: this.project.layout.provisionLog,
        ...(this.io.echo ? { echo: this.io.echo } : {}),
        ...(this.io.signal ? { signal: this.io.signal } : {}),
      });
      await this.patchRecord({ provision: { status: "ok", at: new Date().toISOString(), kind } });
    } catch (error) {
      const step = error instanceof TestenvError && typeof error.details.step === "string" ? error.details.step : scriptName;
      const kind = scriptName.match(/\.ya?ml$/i) ? "ansible" : "script";
      await this.patchRecord({ provision: { status: "failed", at: new Date().toISOString(), kind, step, error: errorMessage(error).split("\n")[0] ?? "" } });
      throw error;
    }
  }

  async provision(): Promise<InstanceStatus> {
    const timer = new StepTimer();
    return this.metered("provision", timer, async () => {
      if (this.project.provisionScript === undefined) {
        throw new TestenvError("SPEC_INVALID", `${this.project.envPath} sets no PROVISION_SCRIPT; add PROVISION_SCRIPT=<script or playbook> to provision`, {
          issues: [{ field: "PROVISION_SCRIPT", message: "not set" }],
        });
      }
      await timer.time("provision", () => this.provisionOnce());
      return this.status();
    });
  }

  async stop(): Promise<InstanceStatus & { stopMethod: string }> {
    const timer = new StepTimer();
    return this.metered("stop", timer, async () => {
      const live = await this.live();
      if (live.status === "absent") throw new TestenvError("NOT_FOUND", `instance ${this.name} does not exist; nothing to stop (testenv-vm up creates it)`);
      if (live.status === "missing") throw new TestenvError("NOT_FOUND", `instance ${this.name}'s VM is gone although its state exists; run testenv-vm rm, then up`);
      await this.dropForwards();
      const stopped = await timer.time("stop", () => this.powerAll("stop"));
      // The least graceful of the VMs' stops is the one to report.
      const methods = stopped.map((vm) => (typeof vm.stopMethod === "string" ? vm.stopMethod : "graceful"));
      const stopMethod = methods.includes("forced") ? "forced" : (methods.find((method) => method === "graceful") ?? methods[0] ?? "graceful");
      return { ...(await this.status()), stopMethod };
    });
  }

  async start(): Promise<InstanceStatus> {
    const timer = new StepTimer();
    return this.metered("start", timer, async () => {
      const live = await this.live();
      if (live.status === "absent") throw new TestenvError("NOT_FOUND", `instance ${this.name} does not exist; run testenv-vm up to create it`);
      if (live.status === "stopped") await timer.time("start", () => this.powerAll("start"));
      if (this.project.env.PORTS.length > 0) await timer.time("ports", () => this.ensureForwards());
      return this.status();
    });
  }

  /** Starts or stops every VM of the instance, in the spec's order. */
  private async powerAll(action: "start" | "stop"): Promise<VMState[]> {
    const results: VMState[] = [];
    const options = action === "stop" ? { stateDir: this.stateDir, timeoutSeconds: this.project.env.STOP_TIMEOUT } : { stateDir: this.stateDir };
    for (const vm of this.project.vms) results.push(await this.engine.vmPower(this.name, vm, action, options));
    return results;
  }

  /** Removes the VM, its key and the folder's .testenv-vm/; idempotent. Never touches the network it used. */
  async rm(): Promise<{ instance: string; removed: boolean }> {
    const timer = new StepTimer();
    const existed = (await this.environment()) !== undefined;
    await timer.time("remove", () => this.removeAll());
    // The metrics file went with .testenv-vm/: nothing to append to. The result says what happened.
    return { instance: this.name, removed: existed };
  }

  private async removeAll(): Promise<void> {
    await stopForwarder((await this.readRecord().catch(() => undefined))?.forwarder);
    await this.engine.delete({ testID: this.name, metadata: { "testenv-vm.stateDir": this.stateDir } });
    await rm(this.project.layout.root, { recursive: true, force: true });
  }

  /** Runs a verb and appends its metrics line, whatever the outcome. */
  private async metered<T>(verb: string, timer: StepTimer, work: () => Promise<T>): Promise<T> {
    const finish = async (outcome: MetricRecord["outcome"], error?: unknown) => {
      try {
        await appendMetric(this.project.layout.metrics, {
          verb,
          instance: this.name,
          startedAt: timer.startedAt.toISOString(),
          durationMs: timer.elapsedMs(),
          outcome,
          steps: timer.steps,
          ...(error === undefined ? {} : { error: errorMessage(error).split("\n")[0] ?? "" }),
        });
      } catch {
        // Metrics never fail a verb (a read-only folder, a removed .testenv-vm).
      }
    };
    try {
      const result = await work();
      await finish((result as { action?: string }).action === "already-running" ? "noop" : "ok");
      return result;
    } catch (error) {
      await finish(this.io.signal?.aborted ? "interrupted" : "failed", error);
      throw error;
    }
  }
}
