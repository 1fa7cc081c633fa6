import { join } from "node:path";
import type { ProviderConfig } from "../../api/spec.js";
import { TestenvError, errorMessage, type Issue } from "../errors.js";
import type { Logger } from "../../lib/log.js";
import { ProviderClient } from "./client.js";
import type { ProviderPool } from "./pool.js";
import { supportIssues, type SupportRequirement } from "./support.js";

export type { SupportRequirement } from "./support.js";

export interface ProviderManagerOptions {
  cwd: string;
  /** Added to every provider's environment (TESTENV_VM_TEST_ID, TESTENV_VM_NAME_PREFIX, ...). */
  env?: Record<string, string>;
  /** The environment the allowlist is taken from and engines are resolved in; default process.env. */
  parentEnv?: NodeJS.ProcessEnv;
  /** Provider stderr goes to {artifactDir}/providers/<name>.log. */
  artifactDir?: string;
  log?: Logger;
  callTimeoutMs?: number;
  closeGraceMs?: number;
  /** Reuse provider processes across operations of a long-lived orchestrator (MCP server). */
  pool?: ProviderPool;
}

/** The provider processes of one orchestrator run. */
export class ProviderManager {
  private readonly options: ProviderManagerOptions;
  private readonly clients = new Map<string, ProviderClient>();
  private readonly poolKeys = new Map<ProviderClient, string>();

  constructor(options: ProviderManagerOptions) {
    this.options = options;
  }

  /** Starts all providers in parallel; if one fails, the others are closed and the failure is thrown. */
  async start(providers: readonly ProviderConfig[]): Promise<void> {
    for (const provider of providers) {
      if (this.clients.has(provider.name)) {
        throw new TestenvError("PROVIDER_SPAWN_FAILED", `provider "${provider.name}" is already running; provider names must be unique`);
      }
    }
    const results = await Promise.allSettled(providers.map((provider) => this.startOne(provider)));
    const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    if (failed.length > 0) {
      await Promise.all(started.map((client) => (this.poolKeys.delete(client), client.close())));
      const first = failed[0];
      if (first instanceof TestenvError && failed.length === 1) throw first;
      const message = failed.map((error) => errorMessage(error)).join("\n");
      throw new TestenvError("PROVIDER_SPAWN_FAILED", message, { cause: first });
    }
    for (const client of started) this.clients.set(client.name, client);
  }

  private async startOne(provider: ProviderConfig): Promise<ProviderClient> {
    const pool = this.options.pool;
    if (!pool) return this.spawn(provider);
    const key = JSON.stringify([provider.name, provider.engine, provider.spec ?? null, this.options.env ?? {}, this.options.cwd, this.options.artifactDir ?? ""]);
    const client = await pool.acquire(key, () => this.spawn(provider));
    this.poolKeys.set(client, key);
    return client;
  }

  private async spawn(provider: ProviderConfig): Promise<ProviderClient> {
    const log = this.options.log?.child(`provider:${provider.name}`);
    const client = await ProviderClient.start({
      name: provider.name,
      engine: provider.engine,
      cwd: this.options.cwd,
      ...(provider.spec !== undefined ? { config: provider.spec } : {}),
      ...(this.options.env !== undefined ? { env: this.options.env } : {}),
      ...(this.options.parentEnv !== undefined ? { parentEnv: this.options.parentEnv } : {}),
      ...(this.options.artifactDir !== undefined ? { logFile: join(this.options.artifactDir, "providers", `${safeFileName(provider.name)}.log`) } : {}),
      ...(this.options.callTimeoutMs !== undefined ? { callTimeoutMs: this.options.callTimeoutMs } : {}),
      ...(this.options.closeGraceMs !== undefined ? { closeGraceMs: this.options.closeGraceMs } : {}),
      ...(log !== undefined ? { log } : {}),
    });
    client.onExit((code, signal) => {
      log?.debug(`provider process exited`, { code, signal });
    });
    return client;
  }

  get(name: string): ProviderClient {
    const client = this.clients.get(name);
    if (client === undefined) {
      const known = [...this.clients.keys()];
      throw new TestenvError(
        "INTERNAL",
        `provider "${name}" is not running (running: ${known.length > 0 ? known.join(", ") : "none"}); declare it under spec.providers`,
      );
    }
    return client;
  }

  has(name: string): boolean {
    return this.clients.has(name);
  }

  names(): string[] {
    return [...this.clients.keys()];
  }

  /** Issues for everything a provider does not declare, so nothing is created when something is unsupported. */
  checkSupport(requirements: readonly SupportRequirement[]): Issue[] {
    return supportIssues(requirements, (name) => this.clients.get(name)?.capabilities);
  }

  async closeAll(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(
      clients.map((client) => {
        const key = this.poolKeys.get(client);
        this.poolKeys.delete(client);
        return key !== undefined && this.options.pool ? this.options.pool.release(key, client) : client.close();
      }),
    );
  }
}

function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}
