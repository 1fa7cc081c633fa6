import type { ProviderChoice } from "../../api/state.js";
import type { CapabilitiesResponse } from "../../api/provider.js";
import type { Spec } from "../../api/spec.js";
import { TestenvError, formatIssues, type Issue } from "../errors.js";
import { PROVIDER_BIN_PREFIX } from "../provider/bundled.js";
import { PROVIDER_PREFERENCE_ENV, inPreferenceOrder, providerPreference } from "../provider/preference.js";
import { DEFAULT_CHECK_TIMEOUT_MS, checkProviders, discoverProviders, type ProviderReport } from "../provider/registry.js";
import { missingWord, supportIssues } from "../provider/support.js";
import { capabilityRequirements } from "./capabilities.js";
import type { EngineDeps } from "./deps.js";
import { vmFeatureGaps, vmFeaturesUsed } from "./vm-features.js";

// The best provider for a spec that names none: the first candidate, in preference order, that is available,
// healthy and declares everything the spec uses, judged by the same rules create checks a named provider by.
// A simulated provider (the stub) creates nothing real, so it is taken only when the preference names it.

/** The spec as it would run on `candidate`: one provider, the default of every resource. */
export function specOn(spec: Spec, candidate: { name: string; engine: string }): Spec {
  return { ...spec, providers: [{ name: candidate.name, engine: candidate.engine }] };
}

/** What the spec asks of a provider, in the words of `doctor --need`: vm, network:nat, key:ed25519, uefi, ... */
export function specNeeds(spec: Spec): string[] {
  const words = new Set<string>();
  for (const requirement of capabilityRequirements(specOn(spec, { name: "any", engine: "any" }))) {
    words.add(requirement.networkKind !== undefined ? `network:${requirement.networkKind}` : requirement.keyType !== undefined ? `key:${requirement.keyType}` : requirement.kind);
  }
  (spec.vms ?? []).forEach((vm, index) => {
    for (const use of vmFeaturesUsed(vm, index)) words.add(use.feature);
  });
  return [...words].sort();
}

/** What `capabilities` lack for `spec`, as short words; empty when the provider serves all of it. */
export function lacksFor(spec: Spec, name: string, capabilities: CapabilitiesResponse): string[] {
  const onIt = specOn(spec, { name, engine: name });
  const lacks = new Set<string>();
  const requirements = capabilityRequirements(onIt);
  for (const requirement of requirements) {
    if (supportIssues([requirement], () => capabilities).length > 0) lacks.add(missingWord(requirement, capabilities));
  }
  (spec.vms ?? []).forEach((vm, index) => {
    for (const gap of vmFeatureGaps(vm, index, capabilities)) lacks.add(gap.gap === "unsupported" ? gap.feature : `${gap.feature} on every VM (required)`);
  });
  return [...lacks];
}

interface Rejection {
  /** Stable across runs on one host (a plan holds it): the category and what the spec needs that it lacks. */
  why: string;
  /** With the provider's own words (health warnings, errors), for the log and the "none fits" error. */
  detail: string;
}

/** Why `report` cannot serve `spec`, or undefined when it can. */
function rejection(spec: Spec, report: ProviderReport, preferred: boolean): Rejection | undefined {
  const both = (why: string, said: string | undefined): Rejection => ({ why, detail: said === undefined || said === "" ? why : `${why}: ${said}` });
  if (report.outcome !== "ok") return both(report.outcome, report.error);
  if (report.capabilities === undefined) return both("declared no capabilities", undefined);
  // What it declares first, then how it is: a plan then names the same reason while the host's state changes.
  if (report.capabilities.simulated === true && !preferred) return both(`simulated (creates nothing real); name it in ${PROVIDER_PREFERENCE_ENV} to use it`, undefined);
  const lacks = lacksFor(spec, report.name, report.capabilities);
  if (lacks.length > 0) return both(`lacks ${lacks.join(", ")}`, undefined);
  if (report.available === false) return both("not available", report.availableReason ?? report.error);
  if (report.healthy === false) {
    const warnings = report.health?.warnings.map((warning) => `${warning.message} (fix: ${warning.fix})`) ?? [];
    return both("not healthy", warnings.join("; ") || report.error);
  }
  return undefined;
}

/** Picks from checked candidates; throws NOT_IMPLEMENTED listing what each lacks when none fits. Pure. */
export function chooseProvider(spec: Spec, reports: readonly ProviderReport[], preference: readonly string[]): ProviderChoice & { details: string[] } {
  const ordered = inPreferenceOrder(reports, preference);
  const order = ordered.map((report) => report.name);
  const needs = specNeeds(spec);
  const rejected: (Rejection & { name: string })[] = [];
  for (const report of ordered) {
    const rejectedBecause = rejection(spec, report, preference.includes(report.name));
    if (rejectedBecause !== undefined) {
      rejected.push({ name: report.name, ...rejectedBecause });
      continue;
    }
    const passedOver = rejected.length > 0 ? `; passed over: ${rejected.map((r) => `${r.name} (${r.why})`).join("; ")}` : "";
    const orderText = preference.length > 0 ? `${PROVIDER_PREFERENCE_ENV} order ${order.join(", ")}` : `registry order ${order.join(", ")}`;
    return {
      provider: report.name,
      engine: report.engine,
      reason: `first healthy provider in ${orderText} that serves ${needs.join(", ") || "the spec"}${passedOver}`,
      needs,
      rejected: rejected.map(({ name, why }) => ({ name, why })),
      details: rejected.map((r) => `${r.name}: ${r.detail}`),
    };
  }
  // The candidates' own words, one issue each; the field is the spec's (absent) providers list, where the fix goes.
  const issues: Issue[] = rejected.map((r) => ({ field: "providers", message: `${r.name}: ${r.detail}` }));
  const uses = needs.join(", ") || "nothing special";
  const head =
    issues.length === 0
      ? `the spec names no provider, and no provider was found (bundled or ${PROVIDER_BIN_PREFIX}* on PATH); nothing was created`
      : `the spec names no provider, and none serves what it uses (${uses}); nothing was created. List one under providers:, or fix what a candidate lacks:\n${formatIssues(issues)}`;
  throw new TestenvError("NOT_IMPLEMENTED", head, {
    issues: issues.length > 0 ? issues : [{ field: "providers", message: "no provider found" }],
    details: { needs, rejected: rejected.map(({ name, why }) => ({ name, why })) },
  });
}

export interface ChooseOptions {
  /** Where engines resolve (the environment's rootDir). */
  cwd: string;
  /** Per candidate: start, availability and health together; default 20 s. */
  timeoutMs?: number;
}

/** Discovers every provider, checks them all at once and picks the best for `spec` (which names none). */
export async function chooseProviderFor(deps: EngineDeps, spec: Spec, options: ChooseOptions): Promise<ProviderChoice> {
  const candidates = discoverProviders({ cwd: options.cwd, env: deps.env });
  const reports = await checkProviders(candidates, { cwd: options.cwd, env: deps.env, timeoutMs: options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, log: deps.log });
  const { details, ...choice } = chooseProvider(spec, reports, providerPreference(deps.env));
  deps.log.info(`provider ${choice.provider} picked: ${choice.reason}`, details.length > 0 ? { passedOver: details } : {});
  return choice;
}

/** The spec with its providers filled in: as written when it lists them, else the picked one. */
export async function withProviders(deps: EngineDeps, spec: Spec, options: ChooseOptions): Promise<{ spec: Spec & { providers: NonNullable<Spec["providers"]> }; choice?: ProviderChoice }> {
  if (spec.providers !== undefined) return { spec: { ...spec, providers: spec.providers } };
  const choice = await chooseProviderFor(deps, spec, options);
  const chosen = specOn(spec, { name: choice.provider, engine: choice.engine });
  return { spec: { ...chosen, providers: chosen.providers ?? [] }, choice };
}
