import type { ProviderConfig } from "../../api/spec.js";
import { unmetNeeds } from "../provider/needs.js";
import { DEFAULT_CHECK_TIMEOUT_MS, checkProviders, discoverProviders, type ProviderReport } from "../provider/registry.js";
import type { EngineDeps } from "./deps.js";
import { expandPool, isPool } from "./pool-placement.js";

export interface DoctorOptions {
  /** The providers of the spec at hand: doctor is healthy only when all of them are. */
  specProviders?: readonly ProviderConfig[];
  /** What some provider must serve (uefi, tpm, container, ...): doctor is healthy only when a healthy one does. */
  needs?: readonly string[];
  /** Per provider (start, availability, health); default 20 s. */
  timeoutMs?: number;
}

export interface DoctorProvider extends ProviderReport {
  /** The needs this provider does not cover (only when needs were given). */
  unmet?: string[];
}

export interface DoctorReport {
  healthy: boolean;
  /** Why doctor is (not) healthy, in one sentence. */
  verdict: string;
  providers: DoctorProvider[];
  /** With needs: the healthy providers that serve all of them, best first. */
  serving?: string[];
  ms: number;
}

function verdictOf(providers: readonly DoctorProvider[], options: DoctorOptions): { healthy: boolean; verdict: string; serving?: string[] } {
  if (options.needs !== undefined && options.needs.length > 0) {
    const serving = providers.filter((p) => p.healthy === true && p.unmet?.length === 0).map((p) => p.name);
    const needs = options.needs.join(", ");
    return serving.length > 0
      ? { healthy: true, verdict: `${serving.join(", ")} can serve ${needs}`, serving }
      : { healthy: false, verdict: `no healthy provider serves ${needs}`, serving };
  }
  const fromSpec = providers.filter((p) => p.source === "spec");
  if (fromSpec.length > 0) {
    const sick = fromSpec.filter((p) => p.healthy !== true).map((p) => p.name);
    return sick.length === 0
      ? { healthy: true, verdict: `the spec's providers are healthy: ${fromSpec.map((p) => p.name).join(", ")}` }
      : { healthy: false, verdict: `the spec's provider(s) ${sick.join(", ")} are not healthy` };
  }
  const healthy = providers.filter((p) => p.healthy === true).map((p) => p.name);
  return healthy.length > 0 ? { healthy: true, verdict: `at least one provider is healthy (${healthy.join(", ")})` } : { healthy: false, verdict: "no provider is healthy" };
}

/** Finds every provider, checks them all at once (each within its time limit) and says whether the need is met. */
export async function runDoctor(deps: EngineDeps, options: DoctorOptions = {}): Promise<DoctorReport> {
  const started = Date.now();
  // A pool is checked host by host (`lab@qemu+ssh://…`): the provider itself only ever serves one.
  const specProviders = options.specProviders?.flatMap((provider) => (isPool(provider) ? expandPool(provider).map((one) => ({ ...one, name: `${provider.name}@${String(one.spec?.uri)}` })) : [provider]));
  const candidates = discoverProviders({ cwd: deps.rootDir, env: deps.env, ...(specProviders ? { specProviders } : {}) });
  const reports = await checkProviders(candidates, { cwd: deps.rootDir, env: deps.env, timeoutMs: options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, log: deps.log });
  const needs = options.needs ?? [];
  const providers: DoctorProvider[] = reports.map((report) =>
    needs.length === 0 ? report : { ...report, unmet: report.capabilities ? unmetNeeds(report.capabilities, needs) : [...needs] },
  );
  return { ...verdictOf(providers, options), providers, ms: Date.now() - started };
}
