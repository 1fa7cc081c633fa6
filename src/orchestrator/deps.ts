import type { Logger } from "../../lib/log.js";
import type { EnginePolicy } from "../provider/engine-policy.js";
import type { ProviderPool } from "../provider/pool.js";
import type { StateDirScope } from "../state/scope.js";

/** What every use case gets from its owner (the Orchestrator facade), resolved once: no defaults left to apply. */
export interface EngineDeps {
  /** Absolute; where relative paths resolve when an input names no rootDir. */
  rootDir: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Provider processes kept between operations (a long-lived MCP server); closed by the owner. */
  providerPool?: ProviderPool;
  /** Which `engine:` values a create may run; absent: any (the caller is the host's own user). */
  enginePolicy?: EnginePolicy;
  /** Which state dirs a call may reach (an MCP server's); absent: any (the caller is the host's own user). */
  stateDirScope?: StateDirScope;
}
