import { statSync } from "node:fs";
import { z } from "zod";
import { CONFIG_SCHEMA_FLAG } from "../../api/config-schema.js";
import type { Logger } from "../../lib/log.js";
import { CommandError, run } from "../../lib/run.js";
import { errorMessage } from "../errors.js";
import { bundledProviderBins } from "./bundled.js";
import { enginePolicyProblem, type EnginePolicy } from "./engine-policy.js";
import { GO_SCHEME } from "./go-engine.js";
import { resolveEngine } from "./resolve.js";
import type { ConfigSchema } from "../spec/provider-configs.js";

// A provider this package does not ship publishes its config schema through `<provider> --config-schema` (a JSON
// Schema on stdout), the way Terraform's validate asks each plugin for its schema. Asking runs the executable, so
// only for an engine a create would run, briefly, with a bare environment: never the TESTENV_VM_* variables.

/** Long enough for a node or Go program to start on a loaded host; a schema is printed, not computed. */
const SCHEMA_TIMEOUT_MS = 5_000;
/** A config schema is a few kB; more is not one. */
const MAX_SCHEMA_BYTES = 1024 * 1024;
/** What the provider gets of this process's environment: enough to start a program, nothing of the spec's. */
const PASSED_ENV = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR"] as const;


export interface ConfigSchemaLookup {
  /** Where a create resolves engines and starts providers (its rootDir). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The engines a create may run; absent: any. */
  policy?: EnginePolicy;
  log: Logger;
}

type Outcome = { schema: ConfigSchema } | { none: string; transient?: boolean };

/** By executable path, mtime and size: a rebuilt provider is asked again, an unchanged one once per process. */
const asked = new Map<string, Promise<Outcome>>();

function bareEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const passed: NodeJS.ProcessEnv = {};
  for (const name of PASSED_ENV) if (env[name] !== undefined) passed[name] = env[name];
  return passed;
}

/** What the printed document is, as a schema: a JSON object zod can read, else why not. */
function readSchema(stdout: string): Outcome {
  let document: unknown;
  try {
    document = JSON.parse(stdout);
  } catch {
    return { none: "it printed no JSON" };
  }
  if (document === null || typeof document !== "object" || Array.isArray(document)) return { none: "it printed JSON that is not a schema object" };
  const jsonSchema = document as Record<string, unknown>;
  try {
    // Its own registry: annotations of a schema this process did not write stay out of zod's global one.
    const schema = z.fromJSONSchema(jsonSchema, { registry: z.registry() });
    schema.safeParse({});
    return { schema: { schema, jsonSchema } };
  } catch (error) {
    return { none: `zod cannot read its schema (${errorMessage(error)})` };
  }
}

async function ask(command: string, args: readonly string[], lookup: ConfigSchemaLookup): Promise<Outcome> {
  try {
    const { stdout } = await run(command, args, {
      cwd: lookup.cwd,
      env: bareEnv(lookup.env),
      // Closed stdin: a provider that ignores the flag and waits for MCP requests ends at once.
      input: "",
      timeoutMs: SCHEMA_TIMEOUT_MS,
      killSignal: "SIGKILL",
      maxOutputBytes: MAX_SCHEMA_BYTES,
    });
    return readSchema(stdout);
  } catch (error) {
    if (error instanceof CommandError && error.timedOut) return { none: `it did not answer within ${SCHEMA_TIMEOUT_MS / 1000} s`, transient: true };
    if (error instanceof CommandError && error.exitCode !== null) return { none: `it exited with ${error.exitCode} (it does not know ${CONFIG_SCHEMA_FLAG})` };
    return { none: errorMessage(error).slice(0, 200), transient: true };
  }
}

function cacheKey(command: string, args: readonly string[]): string | undefined {
  try {
    const info = statSync(command);
    return JSON.stringify([command, args, info.mtimeMs, info.size]);
  } catch {
    return undefined;
  }
}

function askOnce(command: string, args: readonly string[], lookup: ConfigSchemaLookup): Promise<Outcome> {
  const key = cacheKey(command, args);
  if (key === undefined) return ask(command, args, lookup);
  const known = asked.get(key);
  if (known !== undefined) return known;
  const outcome = ask(command, args, lookup).then((result) => {
    if ("transient" in result && result.transient === true) asked.delete(key);
    return result;
  });
  asked.set(key, outcome);
  return outcome;
}

/** Why the engine is not asked at all; undefined when it is an executable a create would run. */
function notAsked(engine: string, policy: EnginePolicy | undefined): string | undefined {
  const name = engine.trim();
  if (name.startsWith(GO_SCHEME)) return "a go:// engine is built by `go run` first, which takes longer than a schema may";
  if (policy !== undefined && enginePolicyProblem(name, policy) !== undefined) return "the engine policy refuses it";
  return undefined;
}

/**
 * The config schema the provider behind `engine` publishes, or undefined: a bundled provider (its schema is in-process),
 * a go:// engine, one the policy refuses or that does not resolve, and one that publishes none (does not know the flag,
 * prints no JSON, or a schema zod cannot read). Every undefined is logged at debug: the config is then not checked.
 */
export async function publishedConfigSchema(engine: string, lookup: ConfigSchemaLookup): Promise<ConfigSchema | undefined> {
  // A bundled provider's schema is in this process (src/spec/provider-configs.ts): no process is started for it.
  if (Object.hasOwn(bundledProviderBins(), engine.trim())) return undefined;
  const skipped = notAsked(engine, lookup.policy);
  if (skipped !== undefined) {
    lookup.log.debug(`config of provider engine ${engine} not checked: ${skipped}`);
    return undefined;
  }
  let command: string;
  let args: string[];
  try {
    const resolved = resolveEngine(engine, { cwd: lookup.cwd, env: lookup.env });
    command = resolved.command;
    // The start command ends with --mcp; the same program, asked for its schema instead.
    args = [...resolved.args.filter((arg) => arg !== "--mcp"), CONFIG_SCHEMA_FLAG];
  } catch (error) {
    lookup.log.debug(`config of provider engine ${engine} not checked: ${errorMessage(error)}`);
    return undefined;
  }
  const outcome = await askOnce(command, args, lookup);
  if ("schema" in outcome) return outcome.schema;
  lookup.log.debug(`provider ${command} publishes no config schema (${outcome.none}); its config is not checked before it starts`);
  return undefined;
}
