import type { Logger } from "../../lib/log.js";
import type { ProviderClient } from "./client.js";

/**
 * Keeps provider processes alive between operations of one long-lived orchestrator (the MCP server), so that a
 * `delete` right after its `create` talks to the process that is already running instead of spawning a new one.
 * A process is reused only for the exact same engine, config, environment variables and working directory, and
 * by one operation at a time; idle processes are closed after `idleMs`.
 */
export class ProviderPool {
  private readonly idle = new Map<string, Array<{ client: ProviderClient; timer: NodeJS.Timeout }>>();
  private closed = false;

  constructor(private readonly options: { idleMs: number; log?: Logger }) {}

  async acquire(key: string, start: () => Promise<ProviderClient>): Promise<ProviderClient> {
    const entry = this.idle.get(key)?.pop();
    if (entry) {
      clearTimeout(entry.timer);
      this.options.log?.debug(`reusing provider process ${entry.client.pid ?? "?"} for ${entry.client.name}`);
      return entry.client;
    }
    return start();
  }

  release(key: string, client: ProviderClient): Promise<void> {
    if (this.closed) return client.close();
    const timer = setTimeout(() => {
      const list = this.idle.get(key);
      const index = list?.findIndex((e) => e.client === client) ?? -1;
      if (list && index >= 0) list.splice(index, 1);
      void client.close();
    }, this.options.idleMs);
    timer.unref();
    const list = this.idle.get(key) ?? [];
    list.push({ client, timer });
    this.idle.set(key, list);
    return Promise.resolve();
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const entries = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(
      entries.map((entry) => {
        clearTimeout(entry.timer);
        return entry.client.close();
      }),
    );
  }
}
