import type { ConfigValidateOutput } from "../../api/forge.js";
import { resolve } from "node:path";
import type { Spec } from "../../api/spec.js";
import type { Logger } from "../../lib/log.js";
import { directoryProblem } from "../../lib/path-kind.js";
import { TestenvError, errorMessage, type Issue } from "../errors.js";
import { engineIssues, type EnginePolicy } from "../provider/engine-policy.js";
import { resolveEngine } from "../provider/resolve.js";
import { parseSpec } from "../spec/load.js";
import { bundledConfigPathIssues } from "../spec/provider-configs.js";
import { missingEnvIssues, validateEarly } from "../spec/validate.js";
import { buildDag } from "./dag.js";
import { publishedConfigIssues } from "./provider-config-check.js";

export interface ValidateOptions {
  /**
   * Where the spec's relative stateDir and artifactDir (and the paths in bundled providers' configs) resolve; given,
   * they are checked on disk (read-only).
   */
  rootDir?: string;
  /** The env a create would get; given, every {{ .Env.X }} must be in it. */
  env?: Readonly<Record<string, string>>;
  /** Which engines a create may run; given, each provider's engine is checked against it. */
  enginePolicy?: EnginePolicy;
  /** Where a create resolves engines (its cwd and PATH); given, each engine must name a program that exists. */
  engineLookup?: { cwd: string; env: NodeJS.ProcessEnv };
}

/** Engines that do not resolve to a program (a path that does not exist, a name on no PATH), found without running one. */
function unresolvedEngineIssues(providers: Spec["providers"], lookup: NonNullable<ValidateOptions["engineLookup"]>, refused: ReadonlySet<string>): Issue[] {
  return (providers ?? []).flatMap((provider, index) => {
    const field = `providers[${index}].engine`;
    if (refused.has(field) || provider.engine.trim() === "") return [];
    try {
      resolveEngine(provider.engine, lookup);
      return [];
    } catch (error) {
      return [{ field, message: errorMessage(error) }];
    }
  });
}

/** What create would refuse before anything exists, found without side effects: the directories, env and engines. */
function createTimeIssues(spec: Spec, options: ValidateOptions): Issue[] {
  const issues: Issue[] = [];
  if (options.rootDir !== undefined) {
    for (const field of ["stateDir", "artifactDir", "imageCacheDir"] as const) {
      const value = spec[field];
      if (value === undefined || value.trim() === "") continue;
      const problem = directoryProblem(resolve(options.rootDir, value));
      if (problem !== undefined) issues.push({ field, message: `${field} cannot be used: ${problem}` });
    }
    issues.push(...bundledConfigPathIssues(spec, options.rootDir));
  }
  if (options.env !== undefined) issues.push(...missingEnvIssues(spec, options.env));
  const refused = options.enginePolicy === undefined ? [] : engineIssues(spec.providers ?? [], options.enginePolicy);
  issues.push(...refused);
  if (options.engineLookup !== undefined) {
    issues.push(...unresolvedEngineIssues(spec.providers, options.engineLookup, new Set(refused.map((issue) => issue.field))));
  }
  return issues;
}

/** Phase 1 in-process: parse, validate, build the DAG. Never starts a process; every problem is returned, none thrown. */
export function validateSpec(rawSpec: unknown, options: ValidateOptions = {}): ConfigValidateOutput {
  try {
    const spec = parseSpec(rawSpec);
    const issues = [...validateEarly(spec), ...createTimeIssues(spec, options)];
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

export interface ProviderValidateOptions extends ValidateOptions {
  engineLookup: NonNullable<ValidateOptions["engineLookup"]>;
  log: Logger;
}

/**
 * validateSpec, then, for a spec it finds valid, the config of each provider this package does not ship against the
 * schema that provider publishes: its executable runs with `--config-schema` only, and only when a create of this
 * spec would run it (valid otherwise, an engine the policy allows). Bundled providers stay in-process.
 */
export async function validateSpecWithProviders(rawSpec: unknown, options: ProviderValidateOptions): Promise<ConfigValidateOutput> {
  const output = validateSpec(rawSpec, options);
  if (!output.valid) return output;
  const issues = await publishedConfigIssues(parseSpec(rawSpec), {
    rootDir: options.rootDir ?? options.engineLookup.cwd,
    env: options.engineLookup.env,
    log: options.log,
    ...(options.enginePolicy === undefined ? {} : { policy: options.enginePolicy }),
  });
  return issues.length === 0 ? output : { valid: false, errors: issues.map(({ field, message }) => ({ field, message })) };
}
