import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { HostResources } from "../../api/host-pool.js";
import type { EnvironmentState } from "../../api/state.js";
import { readTextIfExists, writeJsonAtomic } from "../../lib/durable-file.js";
import { withFileLock } from "../../lib/file-lock.js";
import { readIdentity } from "../../lib/process-identity.js";
import { TestenvError } from "../errors.js";
import { StateStore } from "../state/store.js";
import type { PlacedEnvironment } from "./placement.js";
import { hostSubnetRegistry } from "./subnet-reservations.js";
import { liveRecords } from "./summary.js";

// The host-wide ledger of placements: which environment sits on which pool host, and which are still being
// created there. One JSON file read and rewritten under one cross-process lock, so creates running at once in
// separate processes see each other's choices and in-flight counts. Entries of environments whose state is gone
// are dropped; a create whose process died stops counting as in flight.

/** Overrides where the ledger lives (tests, or several users sharing one machine through one dir). */
export const PLACEMENT_DIR_ENV = "TESTENV_VM_PLACEMENT_DIR";

/** An entry younger than this counts even without a state file: its create may not have saved one yet. */
const ENTRY_GRACE_MS = 60_000;
const LEDGER_LOCK_WAIT_MS = 30_000;

const LedgerEntry = z.object({
  testID: z.string(),
  stateDir: z.string(),
  provider: z.string(),
  host: z.string(),
  needs: HostResources,
  /** The creating process (pid and start time) while the create runs; absent once it ended. */
  creator: z.object({ pid: z.number().int(), startTime: z.string() }).optional(),
  since: z.string(),
});
export type LedgerEntry = z.infer<typeof LedgerEntry>;
const LedgerFile = z.object({ entries: z.array(LedgerEntry) });

/** Beside the host-wide subnet registry, so both follow the same override rules and are cleared at boot alike. */
export function hostPlacementLedger(env: NodeJS.ProcessEnv): string {
  const explicit = env[PLACEMENT_DIR_ENV];
  const dir = explicit !== undefined && explicit.trim() !== "" ? resolve(explicit) : join(dirname(hostSubnetRegistry(env)), "placements");
  return join(dir, "placements.json");
}

export class PlacementLedger {
  constructor(readonly path: string) {}

  /** The live entries, without the lock: what a plan shows may be stale by the time a create runs. */
  read(): Promise<LedgerEntry[]> {
    return this.load();
  }

  /**
   * Under the lock: prunes, lets `decide` look at the live entries, and records what it returns (if anything).
   * Only one process decides at a time, so two creates never both take a host's last slot.
   */
  async update<T>(decide: (entries: readonly LedgerEntry[]) => Promise<{ result: T; add?: LedgerEntry }>): Promise<T> {
    return this.locked(async () => {
      const entries = await this.prune(await this.load());
      const { result, add } = await decide(entries);
      const next = add ? [...entries.filter((entry) => !sameEnvironment(entry, add)), add] : entries;
      await this.save(next);
      return result;
    });
  }

  /** The create ended (ready, or failed with its resources left for a delete): it no longer counts as in flight. */
  async settle(testID: string, stateDir: string): Promise<void> {
    await this.rewrite((entries) => entries.map((entry) => (isOf(entry, testID, stateDir) ? withoutCreator(entry) : entry)));
  }

  /** The environment is gone from its host: nothing of it counts there any more. */
  async release(testID: string, stateDir: string): Promise<void> {
    await this.rewrite((entries) => entries.filter((entry) => !isOf(entry, testID, stateDir)));
  }

  private async rewrite(change: (entries: LedgerEntry[]) => LedgerEntry[]): Promise<void> {
    await this.locked(async () => this.save(change(await this.load())));
  }

  private async load(): Promise<LedgerEntry[]> {
    const text = await readTextIfExists(this.path);
    if (text === undefined) return [];
    const parsed = LedgerFile.safeParse(safeJson(text));
    // A ledger that cannot be read is rebuilt from nothing rather than wedging every create: its environments' hosts are in their states.
    return parsed.success ? parsed.data.entries : [];
  }

  private async save(entries: readonly LedgerEntry[]): Promise<void> {
    await writeJsonAtomic(this.path, { entries }, { makeDirs: 0o700 });
  }

  private async prune(entries: readonly LedgerEntry[]): Promise<LedgerEntry[]> {
    const kept: LedgerEntry[] = [];
    for (const entry of entries) {
      const young = Date.now() - Date.parse(entry.since) < ENTRY_GRACE_MS;
      if (!young && !(await new StateStore(entry.stateDir).isLive(entry.testID))) continue;
      kept.push(entry.creator !== undefined && !(await creatorAlive(entry.creator)) ? withoutCreator(entry) : entry);
    }
    return kept;
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const busy = () =>
      new TestenvError("STATE_LOCKED", `the placement ledger ${this.path} is locked by another testenv-vm process; retry, or remove ${this.path}.lock if no testenv-vm process is running`, { retryable: true });
    return withFileLock(this.path, { waitMs: LEDGER_LOCK_WAIT_MS, busy }, fn);
  }
}

/** After a create: a ready (or part-made) environment stays on its host, not in flight; one with nothing left is gone from it. */
export async function endPlacement(ledger: PlacementLedger, state: EnvironmentState): Promise<void> {
  if (state.status !== "ready" && liveRecords(state).length === 0) await ledger.release(state.id, state.stateDir);
  else await ledger.settle(state.id, state.stateDir);
}

/** What the pure placement needs of the ledger: the environments on one host of one provider's pool. */
export function placedOn(entries: readonly LedgerEntry[], host: string): PlacedEnvironment[] {
  return entries.filter((entry) => entry.host === host).map((entry) => ({ needs: entry.needs, creating: entry.creator !== undefined }));
}

export async function currentCreator(): Promise<{ pid: number; startTime: string } | undefined> {
  const identity = await readIdentity(process.pid);
  return identity ? { pid: identity.pid, startTime: identity.startTime } : undefined;
}

async function creatorAlive(creator: { pid: number; startTime: string }): Promise<boolean> {
  const identity = await readIdentity(creator.pid);
  return identity !== undefined && identity.startTime === creator.startTime;
}

function withoutCreator(entry: LedgerEntry): LedgerEntry {
  const { creator: _ended, ...rest } = entry;
  return rest;
}

const isOf = (entry: LedgerEntry, testID: string, stateDir: string): boolean => entry.testID === testID && resolve(entry.stateDir) === resolve(stateDir);
const sameEnvironment = (a: LedgerEntry, b: LedgerEntry): boolean => isOf(a, b.testID, b.stateDir) && a.provider === b.provider;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
