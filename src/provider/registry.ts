import {
  AvailabilityResponse,
  HealthResponse,
  type CapabilitiesResponse,
  type OperationResult,
  type OptionalProviderToolName,
} from "../../api/provider.js";
import type { ProviderConfig } from "../../api/spec.js";
import type { Logger } from "../../lib/log.js";
import { errorMessage } from "../errors.js";
import { PROVIDER_BIN_PREFIX, bundledProviderBins, providerNameOfBin } from "./bundled.js";
import { ProviderClient } from "./client.js";
import { findAllInPath } from "./executable.js";

// The registry of provider engines: the ones this package ships (its testenv-vm-provider-* bins), every
// testenv-vm-provider-* on PATH, and the providers a spec names. No provider name is written down here.

export type CandidateSource = "bundled" | "path" | "spec";

export interface ProviderCandidate {
  /** The spec's provider name, or the binary's name without testenv-vm-provider-. */
  name: string;
  engine: string;
  source: CandidateSource;
  /** ProviderConfig.spec, for a provider the spec names. */
  config?: Record<string, unknown>;
}

export interface DiscoverOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The providers of the spec at hand, checked with their own config. */
  specProviders?: readonly ProviderConfig[];
}

/** Every provider engine known here, each once: a spec's entry replaces the bundled or PATH one of its engine. */
export function discoverProviders(options: DiscoverOptions): ProviderCandidate[] {
  const byEngine = new Map<string, ProviderCandidate>();
  for (const bin of Object.keys(bundledProviderBins()).sort()) byEngine.set(bin, { name: providerNameOfBin(bin), engine: bin, source: "bundled" });
  for (const found of findAllInPath(PROVIDER_BIN_PREFIX, options.env, options.cwd)) {
    if (!byEngine.has(found.name)) byEngine.set(found.name, { name: providerNameOfBin(found.name), engine: found.name, source: "path" });
  }
  const candidates = [...byEngine.values()];
  for (const provider of options.specProviders ?? []) {
    const fromSpec: ProviderCandidate = { name: provider.name, engine: provider.engine, source: "spec", ...(provider.spec ? { config: provider.spec } : {}) };
    const same = candidates.findIndex((candidate) => candidate.source !== "spec" && candidate.engine === provider.engine.trim());
    if (same >= 0) candidates.splice(same, 1, fromSpec);
    else candidates.push(fromSpec);
  }
  return candidates;
}

/** "unknown": the provider does not implement the question (an older provider), which is no failure. */
export type Tristate = boolean | "unknown";

export interface ProviderReport extends ProviderCandidate {
  /** ok: it answered; timed out: not within the time limit; failed: it did not start or broke. */
  outcome: "ok" | "timed out" | "failed";
  available: Tristate;
  availableReason?: string;
  healthy: Tristate;
  health?: HealthResponse;
  capabilities?: CapabilitiesResponse;
  /** Why it timed out or failed. */
  error?: string;
  ms: number;
}

export interface CheckOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Per provider: start, availability and health together. */
  timeoutMs: number;
  log?: Logger;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 20_000;

/** The value of TESTENV_VM_PROVIDER_MODE that makes a provider change nothing (the kit's INSPECT_MODE). */
const INSPECT_ENV = { TESTENV_VM_PROVIDER_MODE: "inspect" };

/** Providers written for the original answer a tool they lack with error text and no code. */
const LACKS_TOOL = /not implemented|unknown tool|no such tool|not found/i;

export function optionalAnswer<T>(result: OperationResult, schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }): T | "unknown" | Error {
  if (!result.success) {
    const code = result.error?.code;
    if (code === "NOT_IMPLEMENTED" || (code === "PROVIDER_ERROR" && LACKS_TOOL.test(result.error?.message ?? ""))) return "unknown";
    return new Error(`${result.error?.code ?? "PROVIDER_ERROR"}: ${result.error?.message ?? "no detail"}`);
  }
  const parsed = schema.safeParse(result.resource);
  return parsed.success ? parsed.data : new Error("the answer does not match the protocol");
}

async function askProvider(candidate: ProviderCandidate, options: CheckOptions, deadline: number, onClient: (client: ProviderClient) => void): Promise<Omit<ProviderReport, keyof ProviderCandidate | "ms">> {
  const remaining = (): number => Math.max(1, deadline - Date.now());
  const client = await ProviderClient.start({
    name: candidate.name,
    engine: candidate.engine,
    cwd: options.cwd,
    parentEnv: options.env,
    env: INSPECT_ENV,
    startTimeoutMs: remaining(),
    closeGraceMs: 500,
    ...(candidate.config ? { config: candidate.config } : {}),
    ...(options.log ? { log: options.log.child(`doctor:${candidate.name}`) } : {}),
  });
  onClient(client);
  const ask = (tool: OptionalProviderToolName): Promise<OperationResult> => client.call(tool, {}, { timeoutMs: remaining() });
  const [availability, health] = await Promise.all([ask("provider_available"), ask("provider_health")]);
  const timedOut = [availability, health].find((result) => result.error?.code === "TIMEOUT");
  const available = optionalAnswer(availability, AvailabilityResponse);
  const healthAnswer = optionalAnswer(health, HealthResponse);
  const report = {
    outcome: timedOut ? ("timed out" as const) : ("ok" as const),
    capabilities: client.capabilities,
    available: available instanceof Error ? false : available === "unknown" ? ("unknown" as const) : available.available,
    ...(available instanceof Error ? { availableReason: available.message } : available === "unknown" || available.reason === undefined ? {} : { availableReason: available.reason }),
    healthy: healthAnswer instanceof Error ? false : healthAnswer === "unknown" ? ("unknown" as const) : healthAnswer.healthy,
    ...(healthAnswer instanceof Error || healthAnswer === "unknown" ? {} : { health: healthAnswer }),
  };
  const errors = [available, healthAnswer].filter((answer): answer is Error => answer instanceof Error);
  return errors.length > 0 ? { ...report, error: errors.map((e) => e.message).join("; ") } : report;
}

/** Starts the provider in inspect mode, asks availability and health, closes it; never throws, never exceeds the limit by much. */
export async function checkProvider(candidate: ProviderCandidate, options: CheckOptions): Promise<ProviderReport> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const opened: { client?: ProviderClient } = {};
  let timer: NodeJS.Timeout | undefined;
  const timeLimit = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
  });
  try {
    const answer = await Promise.race([askProvider(candidate, options, deadline, (client) => (opened.client = client)), timeLimit]);
    if (answer === "timeout") {
      return { ...candidate, outcome: "timed out", available: "unknown", healthy: false, error: `no answer within ${options.timeoutMs} ms`, ms: Date.now() - started };
    }
    return { ...candidate, ...answer, ...(answer.outcome === "timed out" ? { healthy: false as const } : {}), ms: Date.now() - started };
  } catch (error) {
    const outcome = Date.now() >= deadline ? "timed out" : "failed";
    return { ...candidate, outcome, available: false, healthy: false, error: errorMessage(error), ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
    // A provider that hangs must not keep doctor waiting: closing escalates to SIGKILL after the grace time.
    void opened.client?.close();
  }
}

/** Every candidate checked at once, each within its own time limit; the reports in the candidates' order. */
export function checkProviders(candidates: readonly ProviderCandidate[], options: CheckOptions): Promise<ProviderReport[]> {
  return Promise.all(candidates.map((candidate) => checkProvider(candidate, options)));
}
