import { VMResource, type ProviderConfig, type Spec } from "../../api/spec.js";
import type { EnvironmentState, ResourceRecord } from "../../api/state.js";
import { TestenvError, errorMessage, formatIssues } from "../errors.js";
import { resolveProviderName, validateEarly } from "../spec/validate.js";
import { validateTestID, type StateStore } from "../state/index.js";
import { createErrorCode } from "./create-failure.js";
import type { EngineDeps } from "./deps.js";
import { storeFor } from "./environment-store.js";
import { executionContext } from "./execution-context.js";
import { createResource, recordError, type ResourceFailure } from "./executor.js";
import type { ProgressListener } from "./progress.js";
import { providersFor } from "./providers.js";

// VMs added to (and removed from) a ready environment after its create. They are recorded in the state with
// `runtime: true`, so that delete of the environment removes them too; the spec in the state stays as written.

export interface RuntimeVMOptions {
  stateDir?: string;
  onProgress?: ProgressListener;
}

const now = (): string => new Date().toISOString();

function parseRuntimeVM(rawVm: VMResource): VMResource {
  const parsed = VMResource.safeParse(rawVm);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: `vm.${i.path.join(".")}`, message: i.message }));
    throw new TestenvError("SPEC_INVALID", `runtime VM is invalid:\n${formatIssues(issues)}`, { issues });
  }
  return parsed.data;
}

async function loadEnvironment(store: StateStore, testID: string): Promise<EnvironmentState> {
  const state = await store.load(testID);
  if (!state) throw new TestenvError("STATE_NOT_FOUND", `environment ${testID} not found in ${store.stateDir}`);
  return state;
}

interface Reservation {
  state: EnvironmentState;
  /** The environment's spec with this VM in place of any runtime VM of the same name: what it is validated in. */
  specWith: Spec;
  config: ProviderConfig | undefined;
}

/** Under the lock: checks the VM fits the environment and records it as creating, so that a crash leaves a trace. */
function reserveRuntimeVM(store: StateStore, testID: string, vm: VMResource): Promise<Reservation> {
  return store.withLock(testID, async () => {
    const state = await loadEnvironment(store, testID);
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
}

/** Creates a VM in a ready environment at runtime; it is recorded in the state so delete removes it. */
export async function createRuntimeVM(deps: EngineDeps, testID: string, rawVm: VMResource, options: RuntimeVMOptions = {}): Promise<ResourceRecord> {
  validateTestID(testID);
  const vm = parseRuntimeVM(rawVm);
  const store = storeFor(deps, options.stateDir);
  const { state, specWith, config } = await reserveRuntimeVM(store, testID, vm);
  const log = deps.log.child("runtime");
  const providers = providersFor(deps, state, log);
  let failure: ResourceFailure | undefined;
  try {
    if (!config) throw new TestenvError("SPEC_INVALID", `vm ${vm.name}: provider is not defined in the environment`);
    await providers.start([config]);
    // The VM is created without the lock held: saves go to the fresh state below, once it is done.
    const ctx = executionContext({ state, spec: specWith, providers, env: deps.env, log, persist: () => Promise.resolve(), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
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
    if (failure) recordError(fresh, { resource: { kind: "vm", name: vm.name }, operation: "create", code: failure.code, error: failure.message });
    await store.save(fresh);
  });
  if (failure) {
    throw new TestenvError(createErrorCode(failure.code), `runtime vm ${vm.name} in ${testID} failed: ${failure.message}`, { details: { resource: failure.ref } });
  }
  return record;
}

export async function deleteRuntimeVM(deps: EngineDeps, testID: string, name: string, options: { stateDir?: string } = {}): Promise<void> {
  validateTestID(testID);
  const store = storeFor(deps, options.stateDir);
  await store.withLock(testID, async () => {
    const state = await loadEnvironment(store, testID);
    const record = state.resources.vms[name];
    if (!record || record.status === "destroyed") throw new TestenvError("NOT_FOUND", `vm ${name} not found in environment ${testID}`);
    const config = state.providers.find((p) => p.name === record.provider);
    const providers = providersFor(deps, state, deps.log);
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
