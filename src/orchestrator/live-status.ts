import type { OperationResult, ProviderToolName } from "../../api/provider.js";
import type { EnvironmentState, ResourceRecord } from "../../api/state.js";
import { errorMessage } from "../errors.js";
import type { ProviderManager } from "../provider/manager.js";
import type { EngineDeps } from "./deps.js";
import { judgeResource, summarizeLive, type LiveResource, type LiveStatus, type Lookup } from "./live-state.js";
import { providersFor } from "./providers.js";
import { environmentStatus, type StateDirOption } from "./status.js";
import { liveRecords } from "./summary.js";

// The live status of an environment: every resource its state file records is looked up with the provider's
// `<kind>_get`, and the answer is set next to what the state file says (judged in live-state.ts). Read-only: no
// lock, nothing is written; where the two disagree it is said in words (`mismatches`), never silently repaired.

const GET_TOOL: Record<ResourceRecord["kind"], ProviderToolName> = { key: "key_get", network: "network_get", vm: "vm_get" };

const asObject = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

function lookupOf(result: OperationResult): Lookup {
  if (result.success) return { found: true, state: asObject(result.resource) ?? {} };
  if (result.error?.code === "NOT_FOUND") return { found: false };
  return { error: `${result.error?.code ?? "PROVIDER_ERROR"}: ${result.error?.message ?? "the provider gave no detail"}` };
}

/** Starts each provider the records name on its own: one that cannot start leaves only its own resources unknown. */
async function startProviders(providers: ProviderManager, state: EnvironmentState, records: readonly ResourceRecord[]): Promise<Map<string, string>> {
  const unavailable = new Map<string, string>();
  const names = [...new Set(records.map((r) => r.provider))];
  await Promise.all(
    names.map(async (name) => {
      const config = state.providers.find((p) => p.name === name);
      if (!config) {
        unavailable.set(name, `provider ${name} is not recorded in the state of ${state.id}`);
        return;
      }
      try {
        await providers.start([config]);
      } catch (error) {
        unavailable.set(name, `provider ${name} could not be started: ${errorMessage(error)}`);
      }
    }),
  );
  return unavailable;
}

/** Asks every provider of the environment about each resource the state file records (destroyed ones excepted). */
export async function liveEnvironmentStatus(deps: EngineDeps, testID: string, options: StateDirOption = {}): Promise<LiveStatus> {
  const state = await environmentStatus(deps, testID, options);
  const records = liveRecords(state);
  const providers = providersFor(deps, state, deps.log.child("live-status"));
  try {
    const unavailable = await startProviders(providers, state, records);
    const resources = await Promise.all(
      records.map(async (record): Promise<LiveResource> => {
        const reason = unavailable.get(record.provider);
        if (reason !== undefined) return judgeResource(record, { error: reason });
        const result = await providers.get(record.provider).call(GET_TOOL[record.kind], { name: record.providerName });
        return judgeResource(record, lookupOf(result));
      }),
    );
    return summarizeLive(state, resources);
  } finally {
    await providers.closeAll();
  }
}
