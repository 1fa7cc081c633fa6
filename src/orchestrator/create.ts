import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { CreateInput, type TestEnvArtifact } from "../../api/forge.js";
import type { Plan } from "../../api/plan.js";
import type { Spec } from "../../api/spec.js";
import { STATE_VERSION, type EnvironmentState } from "../../api/state.js";
import { TestenvError } from "../errors.js";
import { engineIssues, type EnginePolicy } from "../provider/engine-policy.js";
import { parseSpec, specInvalid } from "../spec/load.js";
import { assertValidEarly, missingEnvIssues } from "../spec/validate.js";
import { createStateWriter, validateTestID, type StateStore } from "../state/index.js";
import { buildArtifact } from "./artifact.js";
import { assertProvidersServe } from "./capabilities.js";
import { withProviders } from "./provider-choice.js";
import { assertProviderConfigsUsable } from "./provider-config-check.js";
import { failCreate } from "./create-failure.js";
import { buildDag } from "./dag.js";
import type { EngineDeps } from "./deps.js";
import { executionContext } from "./execution-context.js";
import { environmentLayout } from "./layout.js";
import { createPhases } from "./executor.js";
import { assertDirectories, parseInput, requireField } from "./input.js";
import { computePlan } from "./plan-compute.js";
import { assertPlanCurrent } from "./plan-stale.js";
import { computeSubnetPlan, namePrefix } from "./isolation.js";
import type { ProgressListener } from "./progress.js";
import { providersFor } from "./providers.js";
import { hashSpec } from "./spec-hash.js";
import { hostSubnetRegistry, releaseSubnets, reserveSubnets } from "./subnet-reservations.js";
import { endPlacement, hostPlacementLedger, PlacementLedger } from "./placement-ledger.js";
import { placeEnvironment } from "./pool-placement.js";
import { describeRecords, liveRecords } from "./summary.js";

export interface CreateOptions {
  onProgress?: ProgressListener;
  /** Keep what was created when create fails (debugging); same as cleanupOnFailure: false. */
  keepOnFailure?: boolean;
  /** Cancels the create: no further resource starts, running ones finish, then it rolls back (CANCELLED). */
  signal?: AbortSignal;
  /** Apply exactly this plan (from `plan`): refused (PLAN_STALE) unless the plan made now is byte-identical. */
  plan?: Plan;
}

const now = (): string => new Date().toISOString();

/** Precedence: keep-on-failure flag, then TESTENV_VM_CLEANUP_ON_FAILURE, then spec.cleanupOnFailure, then true. */
export function cleanupOnFailure(spec: Spec, env: NodeJS.ProcessEnv, keepOnFailure: boolean | undefined): boolean {
  if (keepOnFailure) return false;
  const fromEnv = env.TESTENV_VM_CLEANUP_ON_FAILURE?.trim().toLowerCase();
  if (fromEnv === "false" || fromEnv === "0" || fromEnv === "no") return false;
  if (fromEnv === "true" || fromEnv === "1" || fromEnv === "yes") return true;
  return spec.cleanupOnFailure ?? true;
}

function checkedInput(rawInput: CreateInput): CreateInput & { spec: NonNullable<CreateInput["spec"]> } {
  const input = parseInput(CreateInput, rawInput, "create");
  requireField(input.testID, "testID");
  requireField(input.stage, "stage");
  requireField(input.tmpDir, "tmpDir");
  validateTestID(input.testID);
  if (!input.spec) {
    throw new TestenvError("INPUT_INVALID", "missing required field 'spec': pass the testenv-vm spec (providers, keys, networks, vms)", {
      issues: [{ field: "spec", message: "required" }],
    });
  }
  return { ...input, spec: input.spec };
}

/**
 * A state for this testID already exists: the same spec, ready, is returned as it is (create is idempotent); a
 * failed or destroyed one with nothing left is created again (undefined); anything else is a conflict.
 */
function reuseExisting(existing: EnvironmentState, specHash: string, store: StateStore): TestEnvArtifact | undefined {
  const id = existing.id;
  if (existing.specHash !== specHash) {
    throw new TestenvError(
      "STATE_CONFLICT",
      `environment ${id} already exists (status ${existing.status}, created ${existing.createdAt}) with a different spec; delete it first (testenv-vm delete --id ${id} --state-dir ${store.stateDir}) or use another testID`,
      { details: { stateFile: store.statePath(id) } },
    );
  }
  if (existing.status === "ready") return existing.artifact ?? buildArtifact(existing);
  const live = liveRecords(existing);
  if ((existing.status === "failed" || existing.status === "destroyed") && live.length === 0) return undefined;
  throw new TestenvError(
    "STATE_CONFLICT",
    `environment ${id} exists in status ${existing.status} with ${live.length} resource(s) that may still exist (${describeRecords(live)}); run delete for it first (testenv-vm delete --id ${id} --state-dir ${store.stateDir})`,
    { details: { stateFile: store.statePath(id) } },
  );
}

/** Before any provider starts: every engine the spec names must be one the caller may run. */
function assertEnginesAllowed(spec: Spec, policy: EnginePolicy): void {
  const issues = engineIssues(spec.providers ?? [], policy);
  if (issues.length > 0) throw specInvalid(issues, "the spec names engines this server does not run");
}

/** Phases 1-3: validate, reserve, then create every resource phase by phase; rolls back on failure. */
export async function createEnvironment(deps: EngineDeps, rawInput: CreateInput, options: CreateOptions = {}): Promise<TestEnvArtifact> {
  const input = checkedInput(rawInput);
  const writtenSpec = parseSpec(input.spec);
  assertValidEarly(writtenSpec);
  if (deps.enginePolicy !== undefined) assertEnginesAllowed(writtenSpec, deps.enginePolicy);
  const unsetEnv = missingEnvIssues(writtenSpec, input.env ?? {});
  if (unsetEnv.length > 0) throw specInvalid(unsetEnv);
  const phases = buildDag(writtenSpec).phases();

  const testID = input.testID;
  const layout = environmentLayout(deps, input, writtenSpec);
  const { rootDir, store, stateDir, tmpDir, artifactDir } = layout;
  const specHash = hashSpec(writtenSpec);
  const cleanup = cleanupOnFailure(writtenSpec, deps.env, options.keepOnFailure ?? input.keepOnFailure);
  assertDirectories({ stateDir, tmpDir, artifactDir });
  await assertProviderConfigsUsable(writtenSpec, { rootDir, env: deps.env, log: deps.log, ...(deps.enginePolicy ? { policy: deps.enginePolicy } : {}) });
  const plan = options.plan;
  // The cheap half of the check first: a plan of another spec or environment needs no providers to be refused.
  if (plan !== undefined && (plan.testID !== testID || plan.specHash !== `sha256:${specHash}`)) {
    assertPlanCurrent(plan, { ...plan, testID, specHash: `sha256:${specHash}`, planHash: "sha256:changed" });
  }

  return store.withLock(testID, async () => {
    const existing = await store.load(testID);
    if (existing) {
      const reused = reuseExisting(existing, specHash, store);
      if (reused) return reused;
    }
    // A spec that names no provider gets the best one now: after the idempotent return, before anything exists.
    const { spec, choice } = await withProviders(deps, writtenSpec, { cwd: rootDir });
    const prefix = namePrefix(testID);
    const subnetRegistry = hostSubnetRegistry(deps.env);
    const subnets = await reserveSubnets(stateDir, testID, computeSubnetPlan(spec), { registry: subnetRegistry });
    const artifactDirExisted = existsSync(artifactDir);
    await mkdir(artifactDir, { recursive: true, mode: 0o755 });
    const log = deps.log.withFile(join(artifactDir, "testenv-vm.log"));
    log.info(`create ${testID}: ${phases.length} phases, prefix ${prefix}`, { stateDir, artifactDir });
    if (choice) log.info(`create ${testID}: provider ${choice.provider} picked (the spec names none): ${choice.reason}`);

    const state: EnvironmentState = {
      version: STATE_VERSION,
      id: testID,
      stage: input.stage,
      status: "creating",
      createdAt: now(),
      updatedAt: now(),
      specHash,
      spec,
      providers: spec.providers,
      ...(choice ? { providerChoice: choice } : {}),
      prefix,
      subnetOctet: Number(Object.values(subnets)[0]?.split(".")[2] ?? 0),
      subnets,
      subnetRegistry,
      stateDir,
      artifactDir,
      tmpDir,
      rootDir,
      resources: { keys: {}, networks: {}, vms: {} },
      executionPlan: { phases: phases.map((resources) => ({ resources })) },
      errors: [],
      env: input.env ?? {},
    };
    const providers = providersFor(deps, state, log);
    const ledger = new PlacementLedger(hostPlacementLedger(deps.env));
    let stateSaved = false;
    try {
      // A pool of hosts: one host is chosen now, before anything exists; the state keeps the placed configs.
      const placed = await placeEnvironment(spec, { testID, stateDir, cwd: rootDir, env: deps.env, log, ledger, ...(options.signal ? { signal: options.signal } : {}) });
      if (placed) {
        state.providers = placed.providers;
        state.placements = placed.placements;
      }
      await providers.start(state.providers);
      assertProvidersServe(spec, providers, "; nothing was created");
      if (plan !== undefined) {
        const planned = { input, spec: { ...spec, providers: state.providers }, specHash: `sha256:${specHash}`, phases, ...(choice ? { choice } : {}), ...(placed ? { placements: placed.placements } : {}) };
        assertPlanCurrent(plan, await computePlan(planned, { layout, subnets, existing, providers }));
      }
      await store.save(state);
      stateSaved = true;
      const writer = createStateWriter(store, () => state);
      const persist = (): Promise<void> => writer.write();
      const ctx = executionContext({ state, providers, env: deps.env, log, persist, ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      const failures = await createPhases(ctx, phases);
      if (failures.length === 0) {
        state.status = "ready";
        state.artifact = buildArtifact(state);
        await writer.write();
        log.info(`create ${testID}: ready`);
        return state.artifact;
      }
      throw await failCreate({ state, store, failures, providers, cleanup, persist, log, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    } catch (error) {
      if (!stateSaved) {
        await releaseSubnets(stateDir, testID, { registry: subnetRegistry }).catch(() => undefined);
        if (!artifactDirExisted) await rm(artifactDir, { recursive: true, force: true }).catch(() => undefined);
      }
      throw error;
    } finally {
      await providers.closeAll();
      if (state.placements !== undefined) await endPlacement(ledger, state).catch((error: unknown) => log.warn(`create ${testID}: the placement ledger was not updated: ${String(error)}`));
    }
  });
}
