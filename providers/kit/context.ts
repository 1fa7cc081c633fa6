import { z } from "zod";
import { createLogger, type Logger } from "../../lib/log.js";

/**
 * What a provider process knows about the environment it serves. The orchestrator passes it in
 * the process environment, so providers written for the original (which ignore it) still work.
 */
export interface ProviderContext {
  /** ProviderConfig.spec from the user's spec (TESTENV_VM_PROVIDER_CONFIG, JSON). */
  config: Record<string, unknown>;
  /** ProviderConfig.name in the user's spec (TESTENV_VM_PROVIDER_NAME), for messages that point at the spec. */
  configName: string | undefined;
  testID: string | undefined;
  prefix: string | undefined;
  artifactDir: string | undefined;
  stateDir: string | undefined;
  /**
   * "inspect" (TESTENV_VM_PROVIDER_MODE=inspect): the process only answers discovery, plans and reads, for
   * `doctor` and `plan`. The kit refuses every tool that changes something; the provider creates no files or
   * connections at start-up.
   */
  inspectOnly?: boolean;
  log: Logger;
}

export const PROVIDER_ENV = {
  config: "TESTENV_VM_PROVIDER_CONFIG",
  configName: "TESTENV_VM_PROVIDER_NAME",
  testID: "TESTENV_VM_TEST_ID",
  prefix: "TESTENV_VM_NAME_PREFIX",
  artifactDir: "TESTENV_VM_ARTIFACT_DIR",
  stateDir: "TESTENV_VM_STATE_DIR",
  mode: "TESTENV_VM_PROVIDER_MODE",
} as const;

/** The value of TESTENV_VM_PROVIDER_MODE for a process that must change nothing. */
export const INSPECT_MODE = "inspect";

export class ProviderConfigError extends Error {
  override name = "ProviderConfigError";
}

export function readProviderContext(providerName: string, env: NodeJS.ProcessEnv = process.env): ProviderContext {
  const raw = env[PROVIDER_ENV.config];
  let config: Record<string, unknown> = {};
  if (raw !== undefined && raw.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      throw new ProviderConfigError(`${PROVIDER_ENV.config} is not valid JSON (${(error as Error).message}); pass the provider's spec as a JSON object`);
    }
    const object = z.record(z.string(), z.unknown()).safeParse(parsed);
    if (!object.success) throw new ProviderConfigError(`${PROVIDER_ENV.config} must be a JSON object, got ${typeof parsed}`);
    config = object.data;
  }
  return {
    config,
    configName: env[PROVIDER_ENV.configName] || undefined,
    testID: env[PROVIDER_ENV.testID] || undefined,
    prefix: env[PROVIDER_ENV.prefix] || undefined,
    artifactDir: env[PROVIDER_ENV.artifactDir] || undefined,
    stateDir: env[PROVIDER_ENV.stateDir] || undefined,
    inspectOnly: env[PROVIDER_ENV.mode] === INSPECT_MODE,
    log: createLogger(`provider:${providerName}`),
  };
}

/** Validates the provider's config against its own schema; the error names the field. */
export function parseProviderConfig<T>(schema: z.ZodType<T>, context: ProviderContext, providerName: string): T {
  const result = schema.safeParse(context.config);
  if (!result.success) {
    const name = context.configName ?? providerName;
    const fields = result.error.issues.map((i) => `providers[${name}].spec.${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new ProviderConfigError(`invalid provider config: ${fields}`);
  }
  return result.data;
}
