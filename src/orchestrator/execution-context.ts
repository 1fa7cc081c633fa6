import type { Spec } from "../../api/spec.js";
import type { EnvironmentState } from "../../api/state.js";
import type { Logger } from "../../lib/log.js";
import type { ProviderManager } from "../provider/manager.js";
import type { TemplateContext } from "../spec/template.js";
import { imageResolver, type ImageResolver } from "./image-resolver.js";
import { isolateSpec } from "./isolation.js";
import type { ProgressListener } from "./progress.js";
import { contextFromState } from "./template-context.js";

/**
 * What the executor works with while it creates resources. One spec and one template context: the request
 * builders read both from here, and the spec as written stays in `state.spec` (what is saved and hashed).
 */
export interface ExecutionContext {
  state: EnvironmentState;
  /** The spec moved onto the environment's reserved subnets: what gets rendered and sent. */
  spec: Spec;
  /** Filled in as resources become ready; templates of later resources read it. */
  templates: TemplateContext;
  providers: ProviderManager;
  images: ImageResolver;
  log: Logger;
  persist(): Promise<void>;
  onProgress?: ProgressListener;
  /** Aborted: no further resource is started; what runs finishes, and the create rolls back. */
  signal?: AbortSignal;
}

export interface ExecutionContextOptions {
  state: EnvironmentState;
  /** What to run, as written, when it is not `state.spec` (a runtime VM added to it). */
  spec?: Spec;
  providers: ProviderManager;
  env: NodeJS.ProcessEnv;
  log: Logger;
  persist: () => Promise<void>;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** Isolates the spec onto `state.subnets` and starts the templates from what the state already holds. */
export function executionContext(options: ExecutionContextOptions): ExecutionContext {
  const { state, providers, env, log, persist, onProgress } = options;
  const spec = isolateSpec(options.spec ?? state.spec, state.subnets ?? {});
  return {
    state,
    spec,
    templates: contextFromState(state),
    providers,
    images: imageResolver({ spec, rootDir: state.rootDir, env, log, ...(onProgress ? { onProgress } : {}) }),
    log,
    persist,
    ...(onProgress ? { onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}
