import { mkdir, readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { z } from "zod";
import { EnvironmentState, STATE_VERSION } from "../../api/state.js";
import { TestenvError, errorMessage, type Issue } from "../errors.js";
import { createLogger } from "../../lib/log.js";
import { readTextIfExists, removeAbandonedTemps, removeFileDurably, writeFileAtomic } from "../../lib/durable-file.js";
import { DEFAULT_LOCK_STALE_MS, isFileLocked, withFileLock } from "../../lib/file-lock.js";
import { DEFAULT_STATE_DIR, validateTestID } from "./paths.js";

// Also reachable from here, so that callers need one import for the whole state API (index.ts has them all too).
export { resolveStateDir, validateTestID } from "./paths.js";

const log = createLogger("testenv-vm:state");

const STATE_FILE = /^testenv-(.+)\.json$/;
export const DEFAULT_LOCK_WAIT_MS = 60_000;

export interface StateStoreOptions {
  /** After this long without a refresh, a lock whose holder died is taken over. */
  lockStaleMs?: number;
}

export interface StateListEntry {
  testID: string;
  state?: EnvironmentState;
  /** Set instead of state when the file could not be read (STATE_CORRUPT). */
  error?: TestenvError;
}

/** One JSON file per environment under `{stateDir}/state/`, written atomically, guarded by a cross-process lock. */
export class StateStore {
  readonly stateDir: string;
  /** The directory holding the state files: `{stateDir}/state`. */
  readonly dir: string;
  private readonly lockStaleMs: number;
  private dirReady: Promise<void> | undefined;

  constructor(stateDir: string, options: StateStoreOptions = {}) {
    this.stateDir = resolve(stateDir);
    this.dir = join(this.stateDir, "state");
    this.lockStaleMs = options.lockStaleMs ?? DEFAULT_LOCK_STALE_MS;
  }

  /**
   * The directories to remove once they are empty, innermost first: `state/`, and for the default state dir
   * (`.forge/testenv-vm`) that dir and `.forge` too, so a project keeps nothing after its last environment.
   */
  emptyDirsToPrune(): string[] {
    const dirs = [this.dir];
    if (this.stateDir.endsWith(join(...DEFAULT_STATE_DIR.split("/")))) dirs.push(this.stateDir, dirname(this.stateDir));
    return dirs;
  }

  statePath(testID: string): string {
    validateTestID(testID);
    return join(this.dir, `testenv-${testID}.json`);
  }

  /** undefined when the environment has no state file; STATE_CORRUPT when the file cannot be trusted. */
  async load(testID: string): Promise<EnvironmentState | undefined> {
    const path = this.statePath(testID);
    const text = await readTextIfExists(path);
    return text === undefined ? undefined : parseStateFile(path, testID, text);
  }

  async save(state: EnvironmentState): Promise<void> {
    const path = this.statePath(state.id);
    state.updatedAt = new Date().toISOString();
    // Serialised before the first await: the file holds the state as it was at this call.
    const text = `${JSON.stringify(state, null, 2)}\n`;
    await this.ensureDir();
    await writeFileAtomic(path, text, { mode: 0o600 });
  }

  async remove(testID: string): Promise<void> {
    // A save cut short by a kill leaves its temp file; the environment's last trace goes with its state.
    await removeAbandonedTemps(this.statePath(testID));
    await removeFileDurably(this.statePath(testID));
  }

  /** Every environment with a state file, sorted by testID; unreadable files are reported, not skipped. */
  async list(): Promise<StateListEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const testIDs = names
      .map((name) => STATE_FILE.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .sort();
    const entries: StateListEntry[] = [];
    for (const testID of testIDs) {
      try {
        const state = await this.load(testID);
        if (state !== undefined) entries.push({ testID, state });
      } catch (error) {
        if (!(error instanceof TestenvError)) throw error;
        entries.push({ testID, error });
      }
    }
    return entries;
  }

  /**
   * Whether the environment may still own what it reserved: a state file that is not destroyed (an unreadable one
   * counts, since it may list live resources), or a create or delete holding its lock before its first save.
   */
  async isLive(testID: string): Promise<boolean> {
    try {
      validateTestID(testID);
    } catch {
      return false;
    }
    try {
      const state = await this.load(testID);
      if (state !== undefined && state.status !== "destroyed") return true;
    } catch {
      return true;
    }
    return isFileLocked(this.statePath(testID), this.lockStaleMs);
  }

  /**
   * Runs fn while holding the environment's cross-process lock (not re-entrant). Waits up to waitMs for another
   * holder, then fails with STATE_LOCKED. A holder killed with SIGKILL stops refreshing the lock; it goes stale
   * after lockStaleMs and is taken over.
   */
  async withLock<T>(testID: string, fn: () => Promise<T>, options: { waitMs?: number } = {}): Promise<T> {
    const path = this.statePath(testID);
    await this.ensureDir();
    const lockPath = `${path}.lock`;
    const busy = () =>
      new TestenvError(
        "STATE_LOCKED",
        `environment ${testID} is locked by another testenv-vm process (create or delete in progress); ` +
          `wait for it or stop it, then retry. A lock whose process died frees itself after ` +
          `${Math.round(this.lockStaleMs / 1000)} s (lock: ${lockPath})`,
        { retryable: true, details: { testID, lockPath } },
      );
    const waitMs = options.waitMs ?? DEFAULT_LOCK_WAIT_MS;
    return withFileLock(path, { waitMs, staleMs: this.lockStaleMs, busy }, (held) => {
      // The holder's work is better finished than torn: a lost lock (event loop stalled, lock removed) is logged.
      held.signal.addEventListener("abort", () => log.warn("state lock lost while held", { testID, lockPath }));
      return fn();
    });
  }

  private ensureDir(): Promise<void> {
    this.dirReady ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (error: unknown) => {
        this.dirReady = undefined;
        throw error;
      },
    );
    return this.dirReady;
  }
}

const UNTOUCHED =
  "testenv-vm did not change it: repair it, or move it aside and remove the resources it lists by hand";

function parseStateFile(path: string, testID: string, text: string): EnvironmentState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw corrupt(path, `is not valid JSON (${errorMessage(error)})`, [{ field: "state", message: "not JSON" }]);
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === "number" && version !== STATE_VERSION) {
    throw corrupt(
      path,
      `has state format version ${version}; this testenv-vm reads version ${STATE_VERSION} (use the testenv-vm that wrote it)`,
      [{ field: "version", message: `expected ${STATE_VERSION}, got ${version}` }],
    );
  }
  const parsed = EnvironmentState.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(toIssue);
    const first = issues[0] ?? { field: "state", message: "invalid" };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    throw corrupt(path, `does not match the state schema: field ${first.field}: ${first.message}${more}`, issues);
  }
  if (parsed.data.id !== testID) {
    throw corrupt(path, `belongs to environment ${JSON.stringify(parsed.data.id)}, not ${testID}`, [
      { field: "id", message: `expected ${testID}` },
    ]);
  }
  return parsed.data;
}

function corrupt(path: string, what: string, issues: Issue[]): TestenvError {
  return new TestenvError("STATE_CORRUPT", `state file ${path} ${what}; ${UNTOUCHED}`, {
    issues,
    details: { path },
  });
}

function toIssue(issue: z.core.$ZodIssue): Issue {
  return { field: formatPath(issue.path), message: issue.message };
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "state" : out;
}
