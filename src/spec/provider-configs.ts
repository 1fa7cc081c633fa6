import { BUNDLED_PROVIDER_CONFIGS } from "../../api/provider-configs.js";
import type { Spec } from "../../api/spec.js";
import type { Issue } from "../errors.js";
import { zodIssuesToIssues, type Locate } from "./zod-issues.js";

// A bundled provider parses its config (providers[].spec) only when it starts, so a bad field used to surface as a
// create that fails after the state dir exists. The same schemas live in api/, so phase 1 refuses it first.

/** The config schema of `engine` when it names a provider this package ships; undefined for any other engine. */
export function bundledConfigSchema(engine: string): (typeof BUNDLED_PROVIDER_CONFIGS)[string] | undefined {
  const name = engine.trim();
  return Object.hasOwn(BUNDLED_PROVIDER_CONFIGS, name) ? BUNDLED_PROVIDER_CONFIGS[name] : undefined;
}

/** One issue per field of a bundled provider's config that its schema refuses, named `providers[i].spec.<field>`. */
export function bundledProviderConfigIssues(spec: Spec, locate?: Locate): Issue[] {
  return (spec.providers ?? []).flatMap((provider, index) => {
    const schema = bundledConfigSchema(provider.engine);
    if (schema === undefined) return [];
    const config = provider.spec ?? {};
    const result = schema.safeParse(config);
    return result.success ? [] : zodIssuesToIssues(schema, result.error.issues, config, locate, ["providers", index, "spec"]);
  });
}
