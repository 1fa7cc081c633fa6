import { randomBytes } from "node:crypto";
import { mkdir, rm, rmdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { afterAll, inject } from "vitest";
import type { TestProject } from "vitest/node";
import { METADATA_STATE_DIR, type TestEnvArtifact } from "../../api/forge.js";
import { openEnvironment, type Environment, type OpenEnvironmentOptions } from "../client/environment.js";
import { TestenvError, errorMessage } from "../errors.js";
import { createLogger } from "../../lib/log.js";
import { resolveStateDir } from "../state/paths.js";

// testenv-vm/vitest: one environment per test run. setupTestEnv() goes in `globalSetup`: it creates the environment
// before any test file runs, hands it to the workers with provide/inject, and deletes it afterwards, whether the
// tests passed, failed, or the creation itself failed half-way.

/** What globalSetup passes to the test workers. */
export interface ProvidedTestEnv {
  artifact: TestEnvArtifact;
  testID: string;
  stateDir: string;
  tmpDir: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    testenvVm: ProvidedTestEnv;
  }
}

export interface SetupTestEnvOptions {
  /** forge.yaml (or a bare spec file), relative to rootDir. */
  spec: string;
  /** The testenv entry to use when the file holds several (entry name or engine alias). */
  name?: string;
  /** testID; default `test-<stage>-<YYYYMMDD>-<8 hex>` like Forge. */
  id?: string;
  /** Stage name recorded in the state; default: name, else "vitest". */
  stage?: string;
  /** Project root; default: cwd. */
  rootDir?: string;
  /** Forge-style tmp dir; default `<rootDir>/.forge/tmp/<testID>`. */
  tmpDir?: string;
  /** Available to templates as `.Env`. */
  env?: Record<string, string>;
  /** Keep the environment after the run (for debugging); it is then deleted with `testenv-vm delete <testID>`. */
  keep?: boolean;
  /**
   * Start a detached watcher (as testcontainers' Ryuk) that deletes the environment, and gc's what is left of it,
   * if this test run dies without its teardown (SIGKILL, a crash). Also TESTENV_VM_REAP_ON_EXIT=1.
   */
  reapOnExit?: boolean;
}

export type GlobalSetup = (project: TestProject) => Promise<() => Promise<void>>;

/**
 * Removes `dir` and then its parents up to (not including) `stopAt`, each only while it is empty: the default tmpDir
 * `.forge/tmp/<testID>` must not leave `.forge/tmp` and `.forge` behind in the project, but never touches what
 * another run or tool keeps there.
 */
async function removeEmptyDirs(dir: string, stopAt: string): Promise<void> {
  for (let current = dir; current !== stopAt && current.startsWith(`${stopAt}/`); current = dirname(current)) {
    try {
      await rmdir(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return;
    }
  }
}

function defaultTestID(stage: string): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "");
  const safeStage = stage.replace(/[^A-Za-z0-9._-]/g, "-");
  return `test-${safeStage}-${day}-${randomBytes(4).toString("hex")}`;
}

/**
 * For vitest `globalSetup`: `export default setupTestEnv({ spec: "forge.yaml", name: "e2e" })`.
 * The returned teardown deletes the environment (set `keep` or TESTENV_VM_KEEP=1 to keep it).
 */
export function setupTestEnv(options: SetupTestEnvOptions): GlobalSetup {
  return async (project) => {
    const log = createLogger("testenv-vm:vitest");
    const rootDir = resolve(options.rootDir ?? process.cwd());
    const stage = options.stage ?? options.name ?? "vitest";
    const testID = options.id ?? defaultTestID(stage);
    const tmpDir = resolve(rootDir, options.tmpDir ?? join(".forge", "tmp", testID));
    const keep = options.keep ?? process.env.TESTENV_VM_KEEP === "1";

    const [{ loadSpecFile }, { Orchestrator }] = await Promise.all([import("../spec/load.js"), import("../orchestrator/orchestrator.js")]);
    const loaded = await loadSpecFile(resolve(rootDir, options.spec), options.name === undefined ? {} : { name: options.name });
    const orchestrator = new Orchestrator({ rootDir });
    await mkdir(tmpDir, { recursive: true, mode: 0o755 });
    let stateDir = resolveStateDir({ env: process.env, specStateDir: loaded.spec.stateDir, rootDir });
    const reapOnExit = (options.reapOnExit ?? process.env.TESTENV_VM_REAP_ON_EXIT === "1") && !keep;
    const reaper = reapOnExit ? await orchestrator.startReaper({ testID, stateDir }, process.pid) : undefined;

    const teardown = async (): Promise<void> => {
      if (reaper !== undefined) {
        const { stopReaper } = await import("../orchestrator/orchestrator.js");
        stopReaper(reaper);
      }
      if (keep) {
        log.info(`keeping environment ${testID}; delete it with: testenv-vm delete ${testID}`);
        return;
      }
      await orchestrator.delete({ testID }, { stateDir });
      await rm(tmpDir, { recursive: true, force: true });
      if (options.tmpDir === undefined) await removeEmptyDirs(dirname(tmpDir), rootDir);
    };

    let artifact: TestEnvArtifact;
    try {
      artifact = await orchestrator.create({
        testID,
        stage,
        tmpDir,
        rootDir,
        metadata: {},
        env: options.env ?? {},
        spec: loaded.raw as Record<string, unknown>,
      });
    } catch (error) {
      // create rolls back what it made; deleting again also clears what a failed rollback or a kept create left.
      await teardown().catch((cleanupError: unknown) =>
        log.error(`cleanup after the failed create of ${testID} failed: ${errorMessage(cleanupError)}`),
      );
      throw error;
    }
    stateDir = artifact.metadata[METADATA_STATE_DIR] ?? stateDir;
    project.provide("testenvVm", { artifact, testID, stateDir, tmpDir });
    return teardown;
  };
}

export interface UseTestEnvOptions extends OpenEnvironmentOptions {
  /** Close the SSH connections after the file's tests (afterAll); default true. */
  autoClose?: boolean;
}

/**
 * In a test file: `const env = await useTestEnv();` opens the environment setupTestEnv created. Its SSH connections
 * are closed after the file's tests unless autoClose is false (then close it yourself, or `await using`).
 */
export async function useTestEnv(options: UseTestEnvOptions = {}): Promise<Environment> {
  const provided = inject("testenvVm") as ProvidedTestEnv | undefined;
  if (!provided) {
    throw new TestenvError(
      "INPUT_INVALID",
      "no testenv-vm environment was provided to this test run: add a globalSetup file that exports setupTestEnv({ spec: ... }) to the vitest config",
    );
  }
  const opened: { environment?: Environment } = {};
  // Registered before the first await so that vitest attaches the hook to the file being collected.
  if (options.autoClose !== false) afterAll(async () => opened.environment?.close());
  const { autoClose: _autoClose, ...openOptions } = options;
  opened.environment = await openEnvironment({ artifact: provided.artifact, tmpDir: provided.tmpDir, stateDir: provided.stateDir }, openOptions);
  return opened.environment;
}
