import type { Issue } from "../errors.js";
import { GO_SCHEME } from "./go-engine.js";

// Which `engine:` values a caller may name. A spec's engine is a program this process runs, so a caller who is not
// the host's user (an agent over MCP) may only name providers the host installed: the bundled ones and
// `testenv-vm-provider-*` commands on PATH. The server's own environment can widen that (TESTENV_VM_ENGINE_POLICY=any).

export const ENGINE_POLICY_ENV = "TESTENV_VM_ENGINE_POLICY";

/** installed: bundled providers and `testenv-vm-provider-*` on PATH; any: also paths and go:// engines. */
export type EnginePolicy = "installed" | "any";

export const INSTALLED_ENGINE_PREFIX = "testenv-vm-provider-";
const INSTALLED_ENGINE = /^testenv-vm-provider-[a-z0-9][a-z0-9-]*$/;

/** The policy named in `env`, else `fallback`; an unknown value is the strict one, never the open one. */
export function enginePolicyFrom(env: NodeJS.ProcessEnv, fallback: EnginePolicy): EnginePolicy {
  const value = env[ENGINE_POLICY_ENV]?.trim();
  if (value === undefined || value === "") return fallback;
  return value === "any" ? "any" : "installed";
}

/** Why `engine` may not be run under `policy`; undefined when it may. */
export function enginePolicyProblem(engine: string, policy: EnginePolicy): string | undefined {
  if (policy === "any" || INSTALLED_ENGINE.test(engine.trim())) return undefined;
  const kind = engine.startsWith(GO_SCHEME) ? "a go:// engine" : engine.includes("/") ? "a path" : "a command that is not a testenv-vm provider";
  return (
    `engine ${JSON.stringify(engine.slice(0, 80))} is ${kind}; this server runs only installed providers ` +
    `(bundled, or ${INSTALLED_ENGINE_PREFIX}<name> on PATH). To allow paths and go:// engines, start the server with ${ENGINE_POLICY_ENV}=any`
  );
}

/** One issue per provider whose engine the policy refuses, named by its place in the list (`providers[i].engine`). */
export function engineIssues(providers: readonly { engine: string }[], policy: EnginePolicy): Issue[] {
  return providers.flatMap((provider, index) => {
    const problem = enginePolicyProblem(provider.engine, policy);
    return problem === undefined ? [] : [{ field: `providers[${index}].engine`, message: problem }];
  });
}
