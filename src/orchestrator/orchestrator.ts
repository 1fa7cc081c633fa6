import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { z } from "zod";
import { CreateInput, DeleteInput, METADATA_STATE_DIR, type ConfigValidateOutput, type TestEnvArtifact } from "../../api/forge.js";
import type { Operation } from "../../api/provider.js";
import { VMResource, type Spec } from "../../api/spec.js";
import { STATE_VERSION, type EnvironmentState, type ResourceRecord } from "../../api/state.js";
import { TestenvError, errorMessage, formatIssues, type Issue } from "../errors.js";
import { createLogger, type Logger } from "../../lib/log.js";
import { ProviderManager } from "../provider/manager.js";
import type { ProviderPool } from "../provider/pool.js";
import { parseSpec } from "../spec/load.js";
import { emptyTemplateContext } from "../spec/template.js";
import { assertValidEarly, resolveProviderName, validateEarly } from "../spec/validate.js";
import { createStateWriter, resolveStateDir, StateStore, validateTestID } from "../state/index.js";
import { buildArtifact } from "./artifact.js";
import { buildDag } from "./dag.js";
import { createPhases, createResource, DEFAULT_CONCURRENCY, deletePhases, planWithStrays, type ExecutionContext, type ImageResolver, type ResourceFailure } from "./executor.js";
import { computeSubnetPlan, isolateSpec, namePrefix } from "./isolation.js";
import { releaseSubnets, reserveSubnets } from "./subnet-reservations.js";
import { safeEmit, type ProgressListener } from "./progress.js";
import { contextFromState, resolveDefaultBaseImage } from "./template-context.js";
import { summarize, unreadableSummary, type EnvironmentSummary } from "./summary.js";

export type { ProgressEvent, ProgressListener } from "./progress.js";

export interface OrchestratorOptions {
  /** Where relative paths (stateDir, engines, images) resolve when CreateInput.rootDir is absent. Default: cwd. */
  rootDir?: string;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Keep provider processes between operations (a long-lived MCP server); closed by the owner. */
  providerPool?: ProviderPool;
}

export interface CreateOptions {
  onProgress?: ProgressListener;
  /** Keep what was created when create fails (debugging); same as cleanupOnFailure: false. */
  keepOnFailure?: boolean;
}

export interface DeleteOptions {
  onProgress?: ProgressListener;
  stateDir?: string;
}

export interface DeleteResult {
  deleted: number;
  /** No state was found: nothing to do (delete is idempotent). */
  alreadyGone: boolean;
  stateDir?: string;
}

const now = (): string => new Date().toISOString();

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function hashSpec(spec: Spec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

function inputIssues(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({ field: issue.path.join(".") || "(input)", message: issue.message }));
}

function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = inputIssues(parsed.error);
    throw new TestenvError("INPUT_INVALID", `${what} input is invalid:\n${formatIssues(issues)}`, { issues });
  }
  return parsed.data;
}

function requireField(value: string, field: string): void {
  if (value.trim() === "") {
    throw new TestenvError("INPUT_INVALID", `missing required field '${field}'`, { issues: [{ field, message: "required" }] });
  }
}

/** Precedence: keep-on-failure flag, then TESTENV_VM_CLEANUP_ON_FAILURE, then spec.cleanupOnFailure, then true. */
export function cleanupOnFailure(spec: Spec, env: NodeJS.ProcessEnv, keepOnFailure: boolean | undefined): boolean {
  if (keepOnFailure) return false;
  const fromEnv = env.TESTENV_VM_CLEANUP_ON_FAILURE?.trim().toLowerCase();
  if (fromEnv === "false" || fromEnv === "0" || fromEnv === "no") return false;
  if (fromEnv === "true" || fromEnv === "1" || fromEnv === "yes") return true;
  return spec.cleanupOnFailure ?? true;
}

function liveRecords(state: EnvironmentState): ResourceRecord[] {
  return [...Object.values(state.resources.keys), ...Object.values(state.resources.networks), ...Object.values(state.resources.vms)].filter(
    (record) => record.status !== "destroyed",
  );
}

function describeRecords(records: readonly ResourceRecord[]): string {
  return records.map((r) => `${r.kind} ${r.name} (${r.providerName}${r.error ? `: ${r.error}` : ""})`).join(", ");
}

function capabilityRequirements(spec: Spec): Array<{ provider: string; kind: "key" | "network" | "vm"; operation: Operation; networkKind?: string; keyType?: string; resource: string }> {
  const requirements: ReturnType<typeof capabilityRequirements> = [];
  const both = (base: Omit<(typeof requirements)[number], "operation">): void => {
    requirements.push({ ...base, operation: "create" }, { ...base, operation: "delete" });
  };
  (spec.keys ?? []).forEach((key, i) => both({ provider: resolveProviderName(spec, key), kind: "key", keyType: key.spec.type.toLowerCase(), resource: `keys[${i}]` }));
  (spec.networks ?? []).forEach((network, i) => both({ provider: resolveProviderName(spec, network), kind: "network", networkKind: network.kind, resource: `networks[${i}]` }));
  (spec.vms ?? []).forEach((vm, i) => both({ provider: resolveProviderName(spec, vm), kind: "vm", resource: `vms[${i}]` }));
  return requirements;
}

function providerEnv(state: Pick<EnvironmentState, "id" | "prefix" | "artifactDir" | "stateDir">): Record<string, string> {
  return {
    TESTENV_VM_TEST_ID: state.id,
    TESTENV_VM_NAME_PREFIX: state.prefix,
    TESTENV_VM_ARTIFACT_DIR: state.artifactDir,
    TESTENV_VM_STATE_DIR: state.stateDir,
  };
}

export class Orchestrator {
  readonly #rootDir: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: Logger;
  readonly #pool: ProviderPool | undefined;

  constructor(options: OrchestratorOptions = {}) {
    this.#rootDir = resolve(options.rootDir ?? process.cwd());
    this.#env = options.env ?? process.env;
    this.#log = options.log ?? createLogger();
    this.#pool = options.providerPool;
  }

  #providers(options: { cwd: string; env: Record<string, string>; artifactDir: string; log: Logger }): ProviderManager {
    return new ProviderManager({ ...options, ...(this.#pool ? { pool: this.#pool } : {}) });
  }

  /** Phase 1 only: parse, validate, build the DAG. Never spawns a provider. */
  validate(rawSpec: unknown): ConfigValidateOutput {
    try {
      const spec = parseSpec(rawSpec);
      const issues = validateEarly(spec);
      if (issues.length > 0) return { valid: false, errors: issues.map(({ field, message }) => ({ field, message })) };
      buildDag(spec).phases();
      return { valid: true };
    } catch (error) {
      if (error instanceof TestenvError && error.issues.length > 0) {
        return { valid: false, errors: error.issues.map(({ field, message }) => ({ field, message })) };
      }
      return { valid: false, errors: [{ field: "spec", message: errorMessage(error) }] };
    }
  }

  async create(rawInput: CreateInput, options: CreateOptions = {}): Promise<TestEnvArtifact> {
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
    const spec = parseSpec(input.spec);
    assertValidEarly(spec);
    const phases = buildDag(spec).phases();

    const testID = input.testID;
    const rootDir = resolve(this.#rootDir, input.rootDir || ".");
    const stateDir = resolveStateDir({ env: this.#env, specStateDir: spec.stateDir, rootDir });
    const store = new StateStore(stateDir);
    const tmpDir = resolve(rootDir, input.tmpDir);
    const artifactDir = spec.artifactDir ? resolve(rootDir, spec.artifactDir, testID) : join(tmpDir, testID);
    const specHash = hashSpec(spec);
    const cleanup = cleanupOnFailure(spec, this.#env, options.keepOnFailure ?? input.keepOnFailure);

    return store.withLock(testID, async () => {
      const existing = await store.load(testID);
      if (existing) {
        const reused = this.#reuseExisting(existing, specHash, store);
        if (reused) return reused;
      }
      const prefix = namePrefix(testID);
      const subnets = await reserveSubnets(stateDir, testID, computeSubnetPlan(spec));
      const isolated = isolateSpec(spec, subnets);
      const artifactDirExisted = existsSync(artifactDir);
      await mkdir(artifactDir, { recursive: true, mode: 0o755 });
      const log = this.#log.withFile(join(artifactDir, "testenv-vm.log"));
      log.info(`create ${testID}: ${phases.length} phases, prefix ${prefix}`, { stateDir, artifactDir });

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
        prefix,
        subnetOctet: Number(Object.values(subnets)[0]?.split(".")[2] ?? 0),
        subnets,
        stateDir,
        artifactDir,
        tmpDir,
        rootDir,
        resources: { keys: {}, networks: {}, vms: {} },
        executionPlan: { phases: phases.map((resources) => ({ resources })) },
        errors: [],
        env: input.env ?? {},
      };
      const providers = this.#providers({ cwd: rootDir, env: providerEnv(state), artifactDir, log });
      let stateSaved = false;
      try {
        await providers.start(spec.providers);
        const unsupported = providers.checkSupport(capabilityRequirements(spec));
        if (unsupported.length > 0) {
          throw new TestenvError("NOT_IMPLEMENTED", `the providers cannot create this environment; nothing was created:\n${formatIssues(unsupported)}`, { issues: unsupported });
        }
        await store.save(state);
        stateSaved = true;
        const writer = createStateWriter(store, () => state);
        const ctx = this.#executionContext(state, isolated, providers, log, () => writer.write(), options.onProgress);
        const failures = await createPhases(ctx, phases);
        if (failures.length === 0) {
          state.status = "ready";
          state.artifact = buildArtifact(state);
          await writer.write();
          log.info(`create ${testID}: ready`);
          return state.artifact;
        }
        throw await this.#failCreate(state, failures, providers, cleanup, writer.write.bind(writer), log, options.onProgress);
      } catch (error) {
        if (!stateSaved) {
          await releaseSubnets(stateDir, testID).catch(() => undefined);
          if (!artifactDirExisted) await rm(artifactDir, { recursive: true, force: true }).catch(() => undefined);
        }
        throw error;
      } finally {
        await providers.closeAll();
      }
    });
  }

  #reuseExisting(existing: EnvironmentState, specHash: string, store: StateStore): TestEnvArtifact | undefined {
    const id = existing.id;
    if (existing.specHash !== specHash) {
      throw new TestenvError(
        "STATE_CONFLICT",
        `environment ${id} already exists (status ${existing.status}, created ${existing.createdAt}) with a different spec; delete it first (testenv-vm delete --id ${id}) or use another testID`,
        { details: { stateFile: store.statePath(id) } },
      );
    }
    if (existing.status === "ready") return existing.artifact ?? buildArtifact(existing);
    const live = liveRecords(existing);
    if ((existing.status === "failed" || existing.status === "destroyed") && live.length === 0) return undefined;
    throw new TestenvError(
      "STATE_CONFLICT",
      `environment ${id} exists in status ${existing.status} with ${live.length} resource(s) that may still exist (${describeRecords(live)}); run delete for it first (testenv-vm delete --id ${id})`,
      { details: { stateFile: store.statePath(id) } },
    );
  }

  #executionContext(state: EnvironmentState, spec: Spec, providers: ProviderManager, log: Logger, persist: () => Promise<void>, onProgress?: ProgressListener): ExecutionContext {
    const templates = emptyTemplateContext(state.env ?? {});
    templates.DefaultBaseImage = resolveDefaultBaseImage(spec.defaultBaseImage, templates);
    for (const image of Object.values(state.images ?? {})) {
      templates.Images[image.name] = { Name: image.name, Path: image.path };
      if (image.alias) templates.Images[image.alias] = { Name: image.name, Path: image.path };
    }
    return {
      state,
      spec,
      providers,
      images: this.#imageResolver(spec, state.rootDir, log, onProgress),
      templates,
      requestContext: { spec, prefix: state.prefix, rootDir: state.rootDir, artifactDir: state.artifactDir, templates },
      concurrency: spec.concurrency ?? DEFAULT_CONCURRENCY,
      log,
      persist,
      ...(onProgress ? { onProgress } : {}),
    };
  }

  #imageResolver(spec: Spec, rootDir: string, log: Logger, onProgress?: ProgressListener): ImageResolver {
    const env = this.#env;
    return {
      async resolve(name) {
        const image = spec.images?.find((i) => i.name === name);
        if (!image) throw new TestenvError("SPEC_INVALID", `image ${name} is not defined in images`);
        const { ImageCache, resolveImageCacheDir } = await import("../image/cache.js");
        const cache = new ImageCache({ cacheDir: resolveImageCacheDir({ specDir: spec.imageCacheDir, env, rootDir }), log: log.child("image") });
        const cached = await cache.ensure(image, {
          rootDir,
          onProgress: (p) =>
            safeEmit(onProgress, {
              kind: "info",
              status: "start",
              resource: { kind: "image", name },
              message: `image ${name}: ${(p.bytes / 1048576).toFixed(1)} MiB${p.total ? ` of ${(p.total / 1048576).toFixed(1)} MiB` : ""} at ${(p.bytesPerSecond / 1048576).toFixed(1)} MiB/s`,
            }),
        });
        return { name, path: cached.path, ...(image.spec.alias ? { alias: image.spec.alias } : {}) };
      },
    };
  }

  async #failCreate(state: EnvironmentState, failures: ResourceFailure[], providers: ProviderManager, cleanup: boolean, persist: () => Promise<void>, log: Logger, onProgress?: ProgressListener): Promise<TestenvError> {
    state.status = "failed";
    const cause = failures.map((f) => f.message).join("\n");
    let rollbackSummary: string;
    let rollback: { deleted: string[]; remaining: string[]; skipped: boolean };
    if (cleanup) {
      state.status = "destroying";
      await persist();
      safeEmit(onProgress, { kind: "rollback", status: "start", message: "rolling back what was created" });
      const outcome = await deletePhases({ state, providers, concurrency: state.spec.concurrency ?? DEFAULT_CONCURRENCY, operation: "rollback", persist, log, ...(onProgress ? { onProgress } : {}) });
      state.status = "failed";
      rollback = { deleted: outcome.deleted.map((r) => `${r.kind} ${r.name}`), remaining: outcome.remaining.map((r) => `${r.kind} ${r.name}`), skipped: false };
      rollbackSummary =
        outcome.remaining.length === 0
          ? `rollback: deleted ${outcome.deleted.length} resource(s); nothing is left`
          : `rollback: ${outcome.remaining.length} resource(s) could not be deleted: ${describeRecords(outcome.remaining)}; run delete for ${state.id} to retry`;
      if (outcome.remaining.length === 0) await releaseSubnets(state.stateDir, state.id).catch(() => undefined);
    } else {
      const kept = liveRecords(state);
      rollback = { deleted: [], remaining: kept.map((r) => `${r.kind} ${r.name}`), skipped: true };
      rollbackSummary = `rollback skipped (cleanup on failure is off): ${kept.length} resource(s) kept for debugging; remove them with delete for ${state.id}`;
    }
    await persist();
    log.error(`create ${state.id} failed: ${cause}; ${rollbackSummary}`);
    const first = failures[0];
    const code = first && isProviderCode(first.code) ? first.code : "CREATE_FAILED";
    return new TestenvError(code, `create of ${state.id} failed: ${cause}\n${rollbackSummary}`, {
      details: { failures: failures.map((f) => ({ resource: f.ref, code: f.code, message: f.message })), rollback, stateFile: join(state.stateDir, "state", `testenv-${state.id}.json`) },
    });
  }

  async delete(rawInput: DeleteInput, options: DeleteOptions = {}): Promise<DeleteResult> {
    const input = parseInput(DeleteInput, rawInput, "delete");
    requireField(input.testID, "testID");
    validateTestID(input.testID);
    const testID = input.testID;
    const candidates = [...new Set([options.stateDir, input.metadata?.[METADATA_STATE_DIR], this.#env.TESTENV_VM_STATE_DIR, resolveStateDir({ env: {}, rootDir: this.#rootDir })]
      .filter((dir): dir is string => typeof dir === "string" && dir !== "")
      .map((dir) => resolve(this.#rootDir, dir)))];
    const stateDir = candidates.find((dir) => existsSync(new StateStore(dir).statePath(testID)));
    if (!stateDir) {
      this.#log.warn(`delete ${testID}: no state found in ${candidates.join(", ")}; nothing to delete`);
      return { deleted: 0, alreadyGone: true };
    }
    const store = new StateStore(stateDir);
    return store.withLock(testID, async () => {
      const state = await store.load(testID);
      if (!state) return { deleted: 0, alreadyGone: true, stateDir };
      const log = existsSync(state.artifactDir) ? this.#log.withFile(join(state.artifactDir, "testenv-vm.log")) : this.#log;
      state.status = "destroying";
      await store.save(state);
      planWithStrays(state);
      const needed = new Set(liveRecords(state).map((r) => r.provider));
      // The project dir may be gone by now (a CI workspace); engines are then resolved from the state dir.
      const cwd = existsSync(state.rootDir) ? state.rootDir : stateDir;
      if (cwd !== state.rootDir) log.warn(`delete ${testID}: rootDir ${state.rootDir} no longer exists; starting providers from ${cwd}`);
      const providers = this.#providers({ cwd, env: providerEnv(state), artifactDir: state.artifactDir, log });
      const unavailable = new Map<string, string>();
      try {
        for (const config of state.providers.filter((p) => needed.has(p.name))) {
          await providers.start([config]).catch((error: unknown) => {
            unavailable.set(config.name, errorMessage(error));
            log.error(`delete ${testID}: provider ${config.name} did not start: ${errorMessage(error)}`);
          });
        }
        const writer = createStateWriter(store, () => state);
        const outcome = await deletePhases({ state, providers, concurrency: state.spec.concurrency ?? DEFAULT_CONCURRENCY, operation: "delete", persist: () => writer.write(), log, unavailable, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
        if (outcome.remaining.length > 0) {
          state.status = "failed";
          await writer.write();
          throw new TestenvError(
            "DELETE_INCOMPLETE",
            `delete of ${testID} is incomplete: ${outcome.remaining.length} resource(s) are left: ${describeRecords(outcome.remaining)}. The state file ${store.statePath(testID)} keeps them; fix the cause and run delete again`,
            { details: { remaining: outcome.remaining.map((r) => ({ kind: r.kind, name: r.name, providerName: r.providerName, error: r.error })) } },
          );
        }
        await writer.write();
        await store.remove(testID);
        await rm(state.artifactDir, { recursive: true, force: true });
        await releaseSubnets(stateDir, testID).catch(() => undefined);
        log.info(`delete ${testID}: ${outcome.deleted.length} resource(s) deleted, state removed`);
        return { deleted: outcome.deleted.length, alreadyGone: false, stateDir };
      } finally {
        await providers.closeAll();
      }
    });
  }

  #storeFor(stateDir: string | undefined): StateStore {
    return new StateStore(stateDir ? resolve(this.#rootDir, stateDir) : resolveStateDir({ env: this.#env, rootDir: this.#rootDir }));
  }

  async status(testID: string, options: { stateDir?: string } = {}): Promise<EnvironmentState> {
    validateTestID(testID);
    const store = this.#storeFor(options.stateDir);
    const state = await store.load(testID);
    if (!state) {
      throw new TestenvError("STATE_NOT_FOUND", `environment ${testID} not found in ${store.stateDir}; check the testID, or pass the stateDir it was created with (--state-dir or TESTENV_VM_STATE_DIR)`);
    }
    return state;
  }

  async list(options: { stateDir?: string } = {}): Promise<EnvironmentSummary[]> {
    const store = this.#storeFor(options.stateDir);
    const entries = await store.list();
    return entries.map(({ testID, state, error }) => {
      if (!state) {
        return unreadableSummary(testID, store.statePath(testID), error?.message ?? "unreadable state");
      }
      return summarize(state, store.statePath(testID));
    });
  }

  /** Creates a VM in a ready environment at runtime; it is recorded in the state so delete removes it. */
  async createRuntimeVM(testID: string, rawVm: VMResource, options: { stateDir?: string; onProgress?: ProgressListener } = {}): Promise<ResourceRecord> {
    validateTestID(testID);
    const parsed = VMResource.safeParse(rawVm);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ field: `vm.${i.path.join(".")}`, message: i.message }));
      throw new TestenvError("SPEC_INVALID", `runtime VM is invalid:\n${formatIssues(issues)}`, { issues });
    }
    const vm = parsed.data;
    const store = this.#storeFor(options.stateDir);
    const reserved = await store.withLock(testID, async () => {
      const state = await store.load(testID);
      if (!state) throw new TestenvError("STATE_NOT_FOUND", `environment ${testID} not found in ${store.stateDir}`);
      if (state.status !== "ready") throw new TestenvError("STATE_CONFLICT", `environment ${testID} is ${state.status}, not ready; runtime VMs need a ready environment`);
      const existing = state.resources.vms[vm.name];
      if (existing && existing.status !== "destroyed") throw new TestenvError("ALREADY_EXISTS", `vm ${vm.name} already exists in environment ${testID}; delete it first or choose another name`);
      const runtimeNames = Object.values(state.resources.vms).filter((r) => r.runtime && r.status !== "destroyed" && r.name !== vm.name).map((r) => r.name);
      const specWith: Spec = { ...state.spec, vms: [...(state.spec.vms ?? []).filter((v) => !runtimeNames.includes(v.name) && v.name !== vm.name), vm] };
      const issues = validateEarly(specWith).filter((issue) => issue.field.startsWith(`vms[${specWith.vms!.length - 1}]`) || !issue.field.startsWith("vms["));
      if (issues.length > 0) throw new TestenvError("SPEC_INVALID", `runtime VM ${vm.name} is invalid:\n${formatIssues(issues)}`, { issues });
      const provider = resolveProviderName(specWith, vm);
      const config = state.providers.find((p) => p.name === provider);
      state.resources.vms[vm.name] = { kind: "vm", name: vm.name, providerName: `${state.prefix}-${vm.name}`, provider, engine: config?.engine ?? "", status: "creating", runtime: true, updatedAt: now() };
      state.executionPlan.phases.push({ resources: [{ kind: "vm", name: vm.name, provider }] });
      await store.save(state);
      return { state, specWith, config };
    });
    const { state, specWith, config } = reserved;
    const log = this.#log.child("runtime");
    const providers = this.#providers({ cwd: state.rootDir, env: providerEnv(state), artifactDir: state.artifactDir, log });
    let failure: ResourceFailure | undefined;
    try {
      if (!config) throw new TestenvError("SPEC_INVALID", `vm ${vm.name}: provider is not defined in the environment`);
      await providers.start([config]);
      const isolated = isolateSpec(specWith, state.subnets ?? {});
      const ctx = this.#executionContext(state, isolated, providers, log, () => Promise.resolve(), options.onProgress);
      const templates = contextFromState(state);
      Object.assign(ctx.templates, templates);
      ctx.requestContext.templates = ctx.templates;
      failure = await createResource(ctx, { kind: "vm", name: vm.name }, vm, { runtime: true });
      if (failure) {
        await providers
          .get(config.name)
          .call("vm_delete", { name: `${state.prefix}-${vm.name}` })
          .catch(() => undefined);
      }
    } catch (error) {
      failure = { ref: { kind: "vm", name: vm.name }, code: error instanceof TestenvError ? error.code : "INTERNAL", message: errorMessage(error) };
    } finally {
      await providers.closeAll();
    }
    const record = state.resources.vms[vm.name]!;
    if (failure) {
      record.status = "destroyed";
      record.error = failure.message;
      record.errorCode = failure.code;
    }
    await store.withLock(testID, async () => {
      const fresh = await store.load(testID);
      if (!fresh) return;
      fresh.resources.vms[vm.name] = record;
      if (failure) fresh.errors.push({ resource: { kind: "vm", name: vm.name }, operation: "create", code: failure.code, error: failure.message, timestamp: now() });
      await store.save(fresh);
    });
    if (failure) {
      throw new TestenvError(isProviderCode(failure.code) ? failure.code : "CREATE_FAILED", `runtime vm ${vm.name} in ${testID} failed: ${failure.message}`, { details: { resource: failure.ref } });
    }
    return record;
  }

  async deleteRuntimeVM(testID: string, name: string, options: { stateDir?: string } = {}): Promise<void> {
    validateTestID(testID);
    const store = this.#storeFor(options.stateDir);
    await store.withLock(testID, async () => {
      const state = await store.load(testID);
      if (!state) throw new TestenvError("STATE_NOT_FOUND", `environment ${testID} not found in ${store.stateDir}`);
      const record = state.resources.vms[name];
      if (!record || record.status === "destroyed") throw new TestenvError("NOT_FOUND", `vm ${name} not found in environment ${testID}`);
      const config = state.providers.find((p) => p.name === record.provider);
      const providers = this.#providers({ cwd: state.rootDir, env: providerEnv(state), artifactDir: state.artifactDir, log: this.#log });
      try {
        if (!config) throw new TestenvError("SPEC_INVALID", `vm ${name}: provider ${record.provider} is not in the state`);
        await providers.start([config]);
        const result = await providers.get(config.name).call("vm_delete", { name: record.providerName });
        if (!result.success && result.error?.code !== "NOT_FOUND") {
          record.status = "failed";
          record.error = `delete failed: ${result.error?.code}: ${result.error?.message}`;
          await store.save(state);
          throw new TestenvError(result.error?.code ?? "PROVIDER_ERROR", `vm ${name} in ${testID}: ${result.error?.message ?? "delete failed"}`);
        }
        record.status = "destroyed";
        record.updatedAt = now();
        await store.save(state);
      } finally {
        await providers.closeAll();
      }
    });
  }
}

const PROVIDER_CODES = new Set(["NOT_IMPLEMENTED", "NOT_FOUND", "ALREADY_EXISTS", "INVALID_SPEC", "PROVIDER_ERROR", "TIMEOUT", "PERMISSION_DENIED", "RESOURCE_BUSY", "DEPENDENCY_FAILED"]);
function isProviderCode(code: string): code is "PROVIDER_ERROR" {
  return PROVIDER_CODES.has(code);
}

/** The part of the orchestrator the surfaces (MCP server, CLI) drive; tests can hand in a double. */
export type Engine = Pick<Orchestrator, "create" | "delete" | "validate" | "status" | "list">;
