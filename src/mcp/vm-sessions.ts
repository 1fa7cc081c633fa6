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

export class VmSessions {
  private readonly environments = new Map<string, Promise<Environment>>();
  /** updatedAt of each VM's record when its handle was made: a newer record means a new connection. */
  private readonly recordVersions = new Map<string, string>();

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
    return { handle: environment.vm(vm), state, log: environmentLog(this.log, state) };
  }

  /** The environment's state as recorded now (STATE_NOT_FOUND when it is gone). */
  async state(testID: string): Promise<EnvironmentState> {
    return this.fresh(testID, await this.environment(testID));
  }

  /** Closes the connections of one environment (after delete, vm-remove, a power change). */
  async forget(testID: string): Promise<void> {
    const environment = this.environments.get(testID);
    this.environments.delete(testID);
    for (const key of [...this.recordVersions.keys()]) if (key.startsWith(`${testID}\0`)) this.recordVersions.delete(key);
    await (await environment?.catch(() => undefined))?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.environments.keys()].map((testID) => this.forget(testID)));
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
    const state = environment.snapshot;
    if (!state) throw new TestenvError("STATE_NOT_FOUND", `environment ${testID} has no state file in ${this.stateDir}`);
    return state;
  }
}
