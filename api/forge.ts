import { z } from "zod";

// What Forge sends to and reads from a testenv engine (contract §1.2-1.3).

const stringMap = z.record(z.string(), z.string());

export const CreateInput = z.object({
  testID: z.string().describe("Environment id, e.g. test-e2e-20250101-abcd1234."),
  stage: z.string().describe("Forge stage name."),
  tmpDir: z.string().describe("Forge's per-environment temp dir; the artifact dir defaults to <tmpDir>/<testID>."),
  rootDir: z.string().optional().describe("Project root; relative paths in the spec resolve against it."),
  /** The original required metadata; a direct go:// testenv sends none, so it is optional here (a fix). */
  metadata: stringMap.nullable().optional(),
  spec: z.record(z.string(), z.unknown()).nullable().optional(),
  env: stringMap.nullable().optional().describe("Forge's accumulated env; available to templates as .Env."),
  envPropagation: z.unknown().optional(),
  /** testenv-vm extension: keep what was created when create fails (debugging). */
  keepOnFailure: z.boolean().optional(),
});
export type CreateInput = z.infer<typeof CreateInput>;

export const DeleteInput = z.object({
  testID: z.string(),
  /** Forge sends null when the stored metadata was empty: tolerated (a fix). */
  metadata: stringMap.nullable().optional(),
});
export type DeleteInput = z.infer<typeof DeleteInput>;

export const TestEnvArtifact = z.object({
  testID: z.string(),
  /** Paths relative to Forge's tmpDir. */
  files: stringMap,
  metadata: stringMap,
  managedResources: z.array(z.string()),
  env: stringMap,
});
export type TestEnvArtifact = z.infer<typeof TestEnvArtifact>;

export const ConfigValidateInput = z.object({
  spec: z.record(z.string(), z.unknown()).nullable().optional(),
  forgeSpec: z.unknown().optional(),
  configPath: z.string().optional(),
  directoryParams: z
    .object({ tmpDir: z.string().optional(), buildDir: z.string().optional(), rootDir: z.string().optional() })
    .optional(),
  specType: z.string().optional(),
  specName: z.string().optional(),
});
export type ConfigValidateInput = z.infer<typeof ConfigValidateInput>;

export const ValidationError = z.object({ field: z.string(), message: z.string() });
export type ValidationError = z.infer<typeof ValidationError>;

export const ConfigValidateOutput = z.object({
  valid: z.boolean(),
  errors: z.array(ValidationError).optional(),
});
export type ConfigValidateOutput = z.infer<typeof ConfigValidateOutput>;

/** Metadata keys testenv-vm writes into the artifact so a later delete can find the environment. */
export const METADATA_STATE_DIR = "testenv-vm.stateDir";
/** The environment id, so a test process under Forge can find its environment from FORGE_METADATA_* alone. */
export const METADATA_TEST_ID = "testenv-vm.testID";
