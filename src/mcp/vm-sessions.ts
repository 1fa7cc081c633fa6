import { join } from "node:path";
import type { EnvironmentState } from "../../api/state.js";
import type { Logger } from "../../lib/log.js";
import { openEnvironment, type Environment } from "../client/environment.js";
import type { VmHandle } from "../client/vm-handle.js";
import { TestenvError } from "../errors.js";

// The server's kept SSH connections: one client-library Environment per environment an agent works in, and through
// it one SSH session per VM, shared by every exec and file call (several run at once on one connection). The state
// file is re-read on every call, so a deleted environment or VM is refused at once, and a VM that was stopped,
// started or recreated since gets a fresh connection to wherever it is now.

export interface VmAccess {
  handle: VmHandle;
  state: EnvironmentState;
  /** Also writes to the environment's own log file, which the logs tool reads. */
  log: Logger;
}

/** The environment's log file (testenv-vm.log in its artifact dir, next to the orchestrator's lines). */
export function environmentLog(log: Logger, state: EnvironmentState): Logger {
  return log.withFile(join(state.artifactDir, "testenv-vm.log")).child("agent");
}

const PROBE_TIMEOUT_MS = 30_000;

export class VmSessions {
  private readonly environments = new Map<string, Promise<Environment>>();
  /** updatedAt of each VM's record when its handle was made: a newer record means a new connection. */
  private readonly recordVersions = new Map<string, string>();
  /** First contact with each handle: the probe that waits out an SSH server still settling after boot. */
  private readonly probes = new Map<string, Promise<void>>();

  constructor(
    readonly stateDir: string,
    private readonly log: Logger,
  ) {}

  /** A ready VM of an existing environment of this server's state dir, on its kept connection. */
  async vm(testID: string, vm: string): Promise<VmAccess> {
    let environment = await this.environment(testID);
    const state = await this.fresh(testID, environment);
    const record = state.resources.vms[vm];
    const key = `${testID}\0${vm}`;
    const version = record?.updatedAt ?? "";
    const known = this.recordVersions.get(key);
    if (known !== undefined && known !== version) {
      await this.forget(testID);
      environment = await this.environment(testID);
    }
    this.recordVersions.set(key, version);
    const handle = environment.vm(vm);
    await this.probe(key, handle);
    return { handle, state, log: environmentLog(this.log, state) };
  }

  /** The environment's state as recorded now (STATE_NOT_FOUND when it is gone). */
  async state(testID: string): Promise<EnvironmentState> {
    return this.fresh(testID, await this.environment(testID));
  }

  /** Closes the connections of one environment (after delete, vm-remove, a power change). */
  async forget(testID: string): Promise<void> {
    const environment = this.environments.get(testID);
    this.environments.delete(testID);
    for (const map of [this.recordVersions, this.probes]) for (const key of [...map.keys()]) if (key.startsWith(`${testID}\0`)) map.delete(key);
    await (await environment?.catch(() => undefined))?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.environments.keys()].map((testID) => this.forget(testID)));
  }

  /**
   * Before the first command on a connection: `true`, retried while SSH refuses or drops (a guest's SSH server may
   * restart right after the readiness check passed), so that an agent's first command is not the one lost to it.
   */
  private probe(key: string, handle: VmHandle): Promise<void> {
    let probing = this.probes.get(key);
    if (!probing) {
      probing = handle.waitReady({ timeoutMs: PROBE_TIMEOUT_MS, cloudInit: false });
      this.probes.set(key, probing);
      probing.catch(() => this.probes.get(key) === probing && this.probes.delete(key));
    }
    return probing;
  }

  private environment(testID: string): Promise<Environment> {
    let opening = this.environments.get(testID);
    if (!opening) {
      opening = openEnvironment({ testID, stateDir: this.stateDir });
      this.environments.set(testID, opening);
      // A failed open is not kept: the environment may exist by the next call.
      opening.catch(() => this.environments.get(testID) === opening && this.environments.delete(testID));
    }
    return opening;
  }

  private async fresh(testID: string, environment: Environment): Promise<EnvironmentState> {
    try {
      await environment.refresh();
    } catch (error) {
      await this.forget(testID);
      throw error;
    }
    const state = environment.recordedState;
    if (!state) throw new TestenvError("STATE_NOT_FOUND", `environment ${testID} has no state file in ${this.stateDir}`);
    return state;
  }
}
