import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { enginePolicyFrom } from "../provider/engine-policy.js";
import { Orchestrator } from "../orchestrator/orchestrator.js";
import { createLogger } from "../../lib/log.js";
import { ProviderPool } from "../provider/pool.js";
import { hostPathsFrom } from "./host-paths.js";
import { guardedInput } from "./request-guard.js";
import { createTestenvMcpServer } from "./server.js";
import { stateDirScopeFrom } from "./state-dirs.js";

/**
 * Serves the orchestrator over MCP on stdio until stdin closes (Forge closes it after one call) or a
 * signal arrives. Running operations are awaited before exiting, so stopping the process never leaves
 * provider processes or half-written state behind (Forge sends SIGKILL 5 s after SIGTERM; a killed
 * create is cleaned up by a later delete from its state file).
 */
export async function runMcpServer(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const log = createLogger("testenv-vm:mcp");
  const running = new Set<Promise<unknown>>();
  const track = (operation: Promise<unknown>): void => {
    const settled = operation.then(
      () => undefined,
      () => undefined,
    );
    running.add(settled);
    void settled.then(() => running.delete(settled));
  };
  // An agent's delete right after its create reuses the providers the create started.
  const providerPool = new ProviderPool({ idleMs: 30_000, log });
  // Agents name specs too: only installed providers run unless the server's environment allows more.
  const enginePolicy = enginePolicyFrom(process.env, "installed");
  // Agents reach only the environments of the server's own state dirs, whatever their arguments name.
  const { own: stateDir, scope: stateDirScope } = stateDirScopeFrom(argv, process.env, process.cwd());
  const { server, closeSessions } = createTestenvMcpServer(new Orchestrator({ log, providerPool, enginePolicy, ...(stateDirScope ? { stateDirScope } : {}) }), {
    log,
    track,
    stateDir,
    hostPaths: hostPathsFrom(argv, process.env),
  });

  let stopping = false;
  const shutdown = async (reason: string, exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (running.size > 0) {
      log.info(`${reason}: waiting for ${running.size} running operation(s) before exit`);
      await Promise.all(running);
    }
    await closeSessions().catch(() => undefined);
    await providerPool.closeAll().catch(() => undefined);
    await server.close().catch(() => undefined);
    process.exit(exitCode);
  };
  process.stdin.on("end", () => void shutdown("stdin closed", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM received", 0));
  process.on("SIGINT", () => void shutdown("SIGINT received", 130));

  // Malformed JSON-RPC (an object id, a batch, params of the wrong shape) is answered before the SDK sees it.
  const input = guardedInput(process.stdin, (line) => process.stdout.write(line));
  await server.connect(new StdioServerTransport(input));
  log.debug("serving MCP on stdio");
}
