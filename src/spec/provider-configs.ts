import type { z } from "zod";
import { configJsonSchema } from "../../api/config-schema.js";
import { BUNDLED_PROVIDER_CONFIGS } from "../../api/provider-configs.js";
import type { Spec } from "../../api/spec.js";
import type { Issue } from "../errors.js";
import { createdPathIssues } from "./config-paths.js";
import { zodIssuesToIssues, type Locate } from "./zod-issues.js";

// A bundled provider parses its config (providers[].spec) only when it starts, so a bad field used to surface as a
// create that fails after the state dir exists. The same schemas live in api/, so phase 1 refuses it first. A
// provider this package does not ship may publish its schema (`--config-schema`); the engine fetches it and checks
// the config here the same way.

/** A provider's config schema: the zod schema to parse with, and its JSON Schema (which marks path fields). */
export interface ConfigSchema {
  schema: z.ZodType;
  jsonSchema: Readonly<Record<string, unknown>>;
}

/** The config schema of `engine` when it names a provider this package ships; undefined for any other engine. */
export function bundledConfigSchema(engine: string): (typeof BUNDLED_PROVIDER_CONFIGS)[string] | undefined {
  const name = engine.trim();
  return Object.hasOwn(BUNDLED_PROVIDER_CONFIGS, name) ? BUNDLED_PROVIDER_CONFIGS[name] : undefined;
}

const bundledJsonSchemas = new Map<z.ZodType, Readonly<Record<string, unknown>>>();

/** bundledConfigSchema with its JSON Schema, computed once per process. */
export function bundledConfig(engine: string): ConfigSchema | undefined {
  const schema = bundledConfigSchema(engine);
  if (schema === undefined) return undefined;
  let jsonSchema = bundledJsonSchemas.get(schema);
  if (jsonSchema === undefined) {
    jsonSchema = configJsonSchema(schema);
    bundledJsonSchemas.set(schema, jsonSchema);
  }
  return { schema, jsonSchema };
}

/** One issue per field of provider `index`'s config that `schema` refuses, named `providers[i].spec.<field>`. */
export function providerConfigIssues(schema: z.ZodType, config: Record<string, unknown>, index: number, locate?: Locate): Issue[] {
  const result = schema.safeParse(config);
  return result.success ? [] : zodIssuesToIssues(schema, result.error.issues, config, locate, ["providers", index, "spec"]);
}

/** One issue per field of a bundled provider's config that its schema refuses, named `providers[i].spec.<field>`. */
export function bundledProviderConfigIssues(spec: Spec, locate?: Locate): Issue[] {
  return (spec.providers ?? []).flatMap((provider, index) => {
    const schema = bundledConfigSchema(provider.engine);
    return schema === undefined ? [] : providerConfigIssues(schema, provider.spec ?? {}, index, locate);
  });
}

/**
 * One issue per path field of provider `index`'s config that cannot be made (an existing ancestor is not a
 * directory), resolved from `rootDir` as the provider would. Checked only on a config its schema accepts.
 */
export function providerConfigPathIssues(config: ConfigSchema, value: Record<string, unknown>, index: number, rootDir: string, locate?: Locate): Issue[] {
  if (!config.schema.safeParse(value).success) return [];
  return createdPathIssues(config.jsonSchema, value, rootDir, ["providers", index, "spec"], locate);
}

/** providerConfigPathIssues for every bundled provider of the spec. */
export function bundledConfigPathIssues(spec: Spec, rootDir: string, locate?: Locate): Issue[] {
  return (spec.providers ?? []).flatMap((provider, index) => {
    const config = bundledConfig(provider.engine);
    return config === undefined ? [] : providerConfigPathIssues(config, provider.spec ?? {}, index, rootDir, locate);
  });
}
