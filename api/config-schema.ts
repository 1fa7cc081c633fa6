import { z } from "zod";

// How a provider publishes the schema of its config (providers[].spec), so that `validate` can check a provider this
// package does not ship: `<provider> --config-schema` prints the JSON Schema below on stdout and exits 0.

/** The flag a provider bin answers with the JSON Schema of its config, touching nothing. */
export const CONFIG_SCHEMA_FLAG = "--config-schema";

/** The JSON Schema keyword that marks a config field naming a path on this host. */
export const PATH_KEYWORD = "x-testenv-path";

/**
 * Metadata for a config field naming a path the provider creates (itself, or something inside it): validate refuses
 * one whose nearest existing ancestor is not a directory. Reaches the JSON Schema as `"x-testenv-path": "creates"`.
 */
export const CREATES_PATH = { [PATH_KEYWORD]: "creates" } as const;

/**
 * The JSON Schema of a config schema, as a user writes the config: fields with defaults are optional. A type JSON
 * Schema cannot express (a transform, a refinement's function) is left open rather than refused.
 */
export function configJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
}
