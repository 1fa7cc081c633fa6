import type { CreateInput } from "../../api/forge.js";
import type { Plan } from "../../api/plan.js";
import { assertProvidersServe } from "./capabilities.js";
import type { EngineDeps } from "./deps.js";
import { namePrefix } from "./isolation.js";
import { environmentLayout } from "./layout.js";
import { inspectingProvidersFor } from "./providers.js";
import { hostSubnetRegistry, previewSubnets } from "./subnet-reservations.js";
import { computePlan, planSubject, subnetPrefixes, type PlanSubject } from "./plan-compute.js";
import { withProviders } from "./provider-choice.js";
import { assertProviderConfigsUsable } from "./provider-config-check.js";
import { hostPlacementLedger, PlacementLedger } from "./placement-ledger.js";
import { placeEnvironment } from "./pool-placement.js";

/**
 * `plan`: what create would do, without doing any of it. Reads the state dir (existing environment, subnet
 * reservations); starts the spec's providers in inspect mode, with no log file; writes, locks and reserves nothing.
 */
export async function planEnvironment(deps: EngineDeps, rawInput: CreateInput): Promise<Plan> {
  const written = planSubject(rawInput);
  const { input } = written;
  const layout = environmentLayout(deps, input, written.spec);
  await assertProviderConfigsUsable(written.spec, { rootDir: layout.rootDir, env: deps.env, log: deps.log, ...(deps.enginePolicy ? { policy: deps.enginePolicy } : {}) });
  const { spec: chosen, choice } = await withProviders(deps, written.spec, { cwd: layout.rootDir });
  const placed = await placeEnvironment(chosen, { testID: input.testID, stateDir: layout.stateDir, cwd: layout.rootDir, env: deps.env, log: deps.log, ledger: new PlacementLedger(hostPlacementLedger(deps.env)), preview: true });
  const spec = placed ? { ...chosen, providers: placed.providers } : chosen;
  const subject: PlanSubject = { ...written, spec, ...(choice ? { choice } : {}), ...(placed ? { placements: placed.placements } : {}) };
  const [subnets, existing] = await Promise.all([previewSubnets(layout.stateDir, input.testID, subnetPrefixes(spec), { registry: hostSubnetRegistry(deps.env) }), layout.store.load(input.testID)]);
  const facts = { id: input.testID, prefix: namePrefix(input.testID), artifactDir: layout.artifactDir, stateDir: layout.stateDir, rootDir: layout.rootDir };
  const providers = inspectingProvidersFor(facts, deps.log);
  try {
    await providers.start(spec.providers);
    assertProvidersServe(spec, providers, "");
    return await computePlan(subject, { layout, subnets, existing, providers });
  } finally {
    await providers.closeAll();
  }
}
