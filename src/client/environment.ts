import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestEnvArtifact } from "../../api/forge.js";
import type { z } from "zod";
import type { VMResource, VMSpec as VMSpecSchema } from "../../api/spec.js";
import type { EnvironmentState } from "../../api/state.js";
import type { LiveStatus } from "../orchestrator/live-state.js";
import type { EnvironmentSnapshot, Orchestrator, RestoredEnvironment } from "../orchestrator/orchestrator.js";
import { TestenvError } from "../errors.js";
import { resolveStateDir } from "../state/paths.js";
import { StateStore } from "../state/store.js";
import { flatFromArtifact, flatFromForgeEnv, type FlatEnvironment } from "./environment-source.js";
import { KnownHostsStore } from "./known-hosts.js";
import { VmHandle, type VmPower } from "./vm-handle.js";
import { targetFromFlat, targetFromState, type VmConnectionOverrides, type VmTarget } from "./vm-target.js";

/** Where the environment comes from: the artifact `create` returned, its testID, or a Forge test runner's variables. */
export type EnvironmentSource =
  | { artifact: TestEnvArtifact; tmpDir?: string; stateDir?: string }
  | { testID: string; stateDir?: string }
  | { fromEnv: NodeJS.ProcessEnv };

export interface OpenEnvironmentOptions {
  /** Project root: a relative state dir resolves against it. Default: cwd. */
  rootDir?: string;
  /** Host keys seen on first use are recorded here. Default: `<artifactDir>/known_hosts.json`. */
  knownHostsPath?: string;
}

export interface CreateVMOptions {
  /** Provider for the VM; default: the environment's default provider. */
  provider?: string;
  providerSpec?: Record<string, unknown>;
}

/** A VM's spec, exactly as under `vms[].spec` in forge.yaml (templates allowed). */
export type VMSpec = z.input<typeof VMSpecSchema>;

const KNOWN_HOSTS_FILE = "known_hosts.json";

/**
 * An environment opened from a test process: VM handles, runtime VM creation and deletion. Handles it hands out keep
 * their SSH connections until close() (or `await using`).
 */
export class Environment implements AsyncDisposable {
  private readonly handles = new Map<string, VmHandle>();
  private readonly knownHosts: KnownHostsStore;

  private constructor(
    private state: EnvironmentState | undefined,
    private readonly flat: FlatEnvironment,
    private readonly stateDir: string | undefined,
    knownHostsPath: string,
  ) {
    this.knownHosts = new KnownHostsStore(knownHostsPath);
  }

  /** @internal Use openEnvironment(). */
  static async open(source: EnvironmentSource, options: OpenEnvironmentOptions = {}): Promise<Environment> {
    const rootDir = resolve(options.rootDir ?? process.cwd());
    let flat: FlatEnvironment;
    let explicitStateDir: string | undefined;
    if ("artifact" in source) {
      flat = flatFromArtifact(source.artifact, {
        ...(source.tmpDir !== undefined ? { tmpDir: source.tmpDir } : {}),
        ...(source.stateDir !== undefined ? { stateDir: source.stateDir } : {}),
      });
    } else if ("testID" in source) {
      flat = { testID: source.testID, vms: new Map(), privateKeys: new Map() };
      explicitStateDir = source.stateDir;
    } else {
      flat = flatFromForgeEnv(source.fromEnv);
    }
    const stateDir =
      explicitStateDir !== undefined || flat.stateDir !== undefined
        ? resolve(rootDir, explicitStateDir ?? flat.stateDir ?? "")
        : resolveStateDir({ env: "fromEnv" in source ? source.fromEnv : process.env, rootDir });

    const state = flat.testID === undefined ? undefined : await new StateStore(stateDir).load(flat.testID);
    if (!state && "testID" in source) {
      throw new TestenvError(
        "STATE_NOT_FOUND",
        `environment ${source.testID} has no state file in ${stateDir}; pass the stateDir it was created with, or check that it still exists`,
        { details: { testID: source.testID, stateDir } },
      );
    }
    if (!state && flat.vms.size === 0) {
      throw new TestenvError(
        "STATE_NOT_FOUND",
        `no environment found: ${flat.testID === undefined ? "no testID was given" : `no state for ${flat.testID} in ${stateDir}`}, and the artifact/variables name no VMs`,
        { details: { testID: flat.testID, stateDir } },
      );
    }
    const knownHostsPath =
      options.knownHostsPath ??
      (state
        ? join(state.artifactDir, KNOWN_HOSTS_FILE)
        : flat.tmpDir !== undefined && flat.testID !== undefined
          ? join(flat.tmpDir, flat.testID, KNOWN_HOSTS_FILE)
          : join(tmpdir(), `testenv-vm-${flat.testID ?? "environment"}-${KNOWN_HOSTS_FILE}`));
    return new Environment(state, flat, state ? stateDir : undefined, knownHostsPath);
  }

  get testID(): string {
    return this.state?.id ?? this.flat.testID ?? "";
  }

  /** The isolation prefix of every provider-level name in this environment (TESTENV_VM_NAME_PREFIX). */
  get prefix(): string {
    return this.state?.prefix ?? this.flat.prefix ?? "";
  }

  /** The state file's content as last read (undefined when opened from an artifact/variables without state access). */
  get recordedState(): EnvironmentState | undefined {
    return this.state;
  }

  get knownHostsPath(): string {
    return this.knownHosts.path;
  }

  /** Names of the VMs that are ready, spec and runtime alike (as of the last read of the state). */
  vms(): string[] {
    if (this.state) {
      return Object.values(this.state.resources.vms)
        .filter((record) => record.status === "ready")
        .map((record) => record.name);
    }
    return [...this.flat.vms.values()].map((vm) => vm.name);
  }

  /**
   * A handle on a VM. The same handle (and connection) is returned for the same name; overrides give a separate
   * handle for what the environment does not record, e.g. another login user.
   */
  vm(name: string, overrides?: VmConnectionOverrides): VmHandle {
    const cacheable = overrides === undefined || Object.keys(overrides).length === 0;
    const cached = cacheable ? this.handles.get(name) : undefined;
    if (cached) return cached;
    const handle = new VmHandle(this.target(name, overrides), this.knownHosts, this.power(overrides));
    if (cacheable) this.handles.set(name, handle);
    return handle;
  }

  /**
   * The environment as its providers see it now, next to its state file: each resource running, stopped, present
   * or missing, a VM's memory/vCPU drift, and every disagreement in words (`mismatches`). Changes nothing.
   */
  async status(): Promise<LiveStatus> {
    const stateDir = this.requireState("status");
    return (await this.orchestrator()).liveStatus(this.testID, { stateDir });
  }

  /** Re-reads the state file, e.g. to see runtime VMs another test worker created. */
  async refresh(): Promise<void> {
    if (!this.stateDir) return;
    const fresh = await new StateStore(this.stateDir).load(this.testID);
    if (!fresh) throw new TestenvError("STATE_NOT_FOUND", `environment ${this.testID} no longer exists in ${this.stateDir}`);
    this.state = fresh;
  }

  /**
   * Creates a VM in this environment now. Its spec is rendered with the environment's template context (e.g.
   * `{{ .Keys.vm-ssh.PublicKey }}`), validated like spec VMs, named with the environment's prefix, and recorded in
   * the state file, so deleting the environment removes it even if this process dies. `await using` deletes it.
   */
  async createVM(name: string, spec: VMSpec, options: CreateVMOptions = {}): Promise<RuntimeVm> {
    const stateDir = this.requireState("createVM");
    const vm: VMResource = {
      name,
      spec,
      ...(options.provider !== undefined ? { provider: options.provider } : {}),
      ...(options.providerSpec !== undefined ? { providerSpec: options.providerSpec } : {}),
    };
    const orchestrator = await this.orchestrator();
    await orchestrator.createRuntimeVM(this.testID, vm, { stateDir });
    await this.refresh();
    const handle = new RuntimeVm(this.target(name), this.knownHosts, this, this.power(undefined));
    this.handles.get(name)?.close().catch(() => undefined);
    this.handles.set(name, handle);
    return handle;
  }

  /** Deletes a VM created with createVM (by this or another process) and forgets its host keys. */
  async deleteVM(name: string): Promise<void> {
    const stateDir = this.requireState("deleteVM");
    await this.refresh();
    const record = this.state?.resources.vms[name];
    if (record && !record.runtime) {
      throw new TestenvError("INPUT_INVALID", `vm "${name}" comes from the spec of environment ${this.testID}; deleteVM only deletes VMs made with createVM`, {
        issues: [{ field: "name", message: "not a runtime VM" }],
      });
    }
    const handle = this.handles.get(name);
    this.handles.delete(name);
    await handle?.close();
    const orchestrator = await this.orchestrator();
    await orchestrator.deleteRuntimeVM(this.testID, name, { stateDir });
    await this.knownHosts.forgetVm(name);
    await this.refresh();
  }

  /**
   * Saves every VM with its memory and disk under `name` (ALREADY_EXISTS unless overwrite); the VMs keep running.
   * env.restore(name) brings them back to exactly this moment; deleting the environment removes its snapshots.
   */
  async snapshot(name: string, options: { overwrite?: boolean } = {}): Promise<EnvironmentSnapshot> {
    const stateDir = this.requireState("snapshot");
    return (await this.orchestrator()).snapshotSave(this.testID, name, { stateDir, ...(options.overwrite === undefined ? {} : { overwrite: options.overwrite }) });
  }

  /**
   * Brings every VM back to snapshot `name`, running, and waits until each is ready; each VM keeps its IP and host
   * key. The handles' kept SSH connections are dropped, so their next command connects to the restored guest.
   */
  async restore(name: string): Promise<RestoredEnvironment> {
    const stateDir = this.requireState("restore");
    const restored = await (await this.orchestrator()).snapshotRestore(this.testID, name, { stateDir });
    await this.refresh();
    await Promise.all([...this.handles.entries()].map(([vm, handle]) => handle.reconnect(this.target(vm))));
    return restored;
  }

  /** Closes every SSH connection of the handles this environment gave out. Deletes nothing. */
  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((handle) => handle.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** How the handles power their VM: through the orchestrator, then the state is re-read (a start may move the VM). */
  private power(overrides: VmConnectionOverrides | undefined): VmPower {
    return {
      stop: async (name, options) => {
        const stateDir = this.requireState("stop");
        const state = await (await this.orchestrator()).vmPower(this.testID, name, "stop", {
          stateDir,
          ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
          ...(options.force === undefined ? {} : { force: options.force }),
        });
        await this.refresh();
        return state;
      },
      start: async (name) => {
        const stateDir = this.requireState("start");
        const state = await (await this.orchestrator()).vmPower(this.testID, name, "start", { stateDir });
        await this.refresh();
        return { state, target: this.target(name, overrides) };
      },
    };
  }

  private target(name: string, overrides?: VmConnectionOverrides): VmTarget {
    return this.state ? targetFromState(this.state, name, overrides) : targetFromFlat(this.flat, name, overrides);
  }

  private requireState(operation: string): string {
    if (this.state && this.stateDir) return this.stateDir;
    throw new TestenvError(
      "STATE_NOT_FOUND",
      `${operation} needs the environment's state file, which this process cannot read (testID ${this.testID || "unknown"}); ` +
        `open the environment with { testID, stateDir } or make the state dir reachable (TESTENV_VM_STATE_DIR)`,
    );
  }

  // Loaded on first use so that opening an environment does not load the engine (providers, MCP client).
  private async orchestrator(): Promise<Pick<Orchestrator, "createRuntimeVM" | "deleteRuntimeVM" | "vmPower" | "liveStatus" | "snapshotSave" | "snapshotRestore">> {
    const { Orchestrator } = await import("../orchestrator/orchestrator.js");
    return new Orchestrator({ ...(this.state ? { rootDir: this.state.rootDir } : {}) });
  }
}

/** A VM created at runtime: like any handle, and `await using` (or delete()) deletes the VM. */
export class RuntimeVm extends VmHandle {
  constructor(
    target: VmTarget,
    knownHosts: KnownHostsStore,
    private readonly environment: Environment,
    power?: VmPower,
  ) {
    super(target, knownHosts, power);
  }

  async delete(): Promise<void> {
    await this.close();
    await this.environment.deleteVM(this.name);
  }

  override async [Symbol.asyncDispose](): Promise<void> {
    await this.delete();
  }
}

/** Opens an environment from the artifact, the testID (state file) or a Forge test runner's variables. */
export function openEnvironment(source: EnvironmentSource, options: OpenEnvironmentOptions = {}): Promise<Environment> {
  return Environment.open(source, options);
}
