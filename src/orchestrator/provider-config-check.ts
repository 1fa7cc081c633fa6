import type { Spec } from "../../api/spec.js";
import type { Logger } from "../../lib/log.js";
import { errorMessage, type Issue } from "../errors.js";
import { publishedConfigSchema } from "../provider/config-schema.js";
import type { EnginePolicy } from "../provider/engine-policy.js";
import { specInvalid } from "../spec/load.js";
import { bundledConfigPathIssues, providerConfigIssues, providerConfigPathIssues } from "../spec/provider-configs.js";

// Phase 1 for the providers' configs beyond what validateEarly checks in-process: the configs of providers this
// package does not ship, against the schema each publishes (`--config-schema`), and the paths any config names.

export interface ProviderConfigCheck {
  /** Where a create resolves engines, starts providers and so resolves their relative paths. */
  rootDir: string;
  env: NodeJS.ProcessEnv;
  /** The engines a create may run; only those are asked for a schema. Absent: any. */
  policy?: EnginePolicy;
  log: Logger;
}

/**
 * The config of each provider that publishes its schema, checked like a bundled one: its fields, then (once they pass)
 * the paths it marks. Starts each such executable once per process (cached by path, mtime and size), with
 * `--config-schema` only; a provider that publishes none, or a schema zod cannot read, leaves its config unchecked.
 */
export async function publishedConfigIssues(spec: Spec, check: ProviderConfigCheck): Promise<Issue[]> {
  const lookup = { cwd: check.rootDir, env: check.env, log: check.log, ...(check.policy === undefined ? {} : { policy: check.policy }) };
  const perProvider = await Promise.all(
    (spec.providers ?? []).map(async (provider, index) => {
      const published = await publishedConfigSchema(provider.engine, lookup);
      if (published === undefined) return [];
      const config = provider.spec ?? {};
      try {
        const fields = providerConfigIssues(published.schema, config, index);
        return fields.length > 0 ? fields : providerConfigPathIssues(published, config, index, check.rootDir);
      } catch (error) {
        // A converted schema can still fail on some input (an unresolvable $ref): the provider is left to judge.
        check.log.debug(`config of provider ${provider.name} not checked: its published schema failed (${errorMessage(error)})`);
        return [];
      }
    }),
  );
  return perProvider.flat();
}

/** Before a create or plan makes or starts anything: the providers' configs as validate checks them, or SPEC_INVALID. */
export async function assertProviderConfigsUsable(spec: Spec, check: ProviderConfigCheck): Promise<void> {
  const issues = [...bundledConfigPathIssues(spec, check.rootDir), ...(await publishedConfigIssues(spec, check))];
  if (issues.length > 0) throw specInvalid(issues);
}
