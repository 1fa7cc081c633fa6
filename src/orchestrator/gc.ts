import { resolve } from "node:path";
import { OwnedResponse, type OwnedKind, type OwnedObject } from "../../api/provider.js";
import type { ProviderConfig } from "../../api/spec.js";
import { TestenvError, errorMessage } from "../errors.js";
import { engineIssues } from "../provider/engine-policy.js";
import { ProviderClient } from "../provider/client.js";
import { discoverProviders, optionalAnswer, type ProviderCandidate } from "../provider/registry.js";
import { StateStore, resolveStateDir } from "../state/index.js";
import type { EngineDeps } from "./deps.js";
import { namePrefix } from "./isolation.js";
import { expandPool } from "./pool-placement.js";

// gc: objects whose environment is gone. Each provider lists what it made (provider_owned) with the owner it
// recorded; an owner is gone when its state file is missing or marked destroyed (and no create or delete holds its
// lock). Only those, older than the grace period, are removed (provider_reclaim), VMs first, files last.

export const DEFAULT_GC_GRACE_MS = 10 * 60_000;
/** Each provider gets this long to start and list what it owns. */
const LIST_TIMEOUT_MS = 60_000;
const RECLAIM_TIMEOUT_MS = 5 * 60_000;

export interface GcOptions {
  /** Only objects older than this are removed (default 10 minutes). */
  olderThanMs?: number;
  /** Remove the orphans; without it gc only lists them. */
  apply?: boolean;
  /** Only objects of this environment. */
  testID?: string;
  /** Where the owners of objects that record no state dir are looked up (default: like status and list). */
  stateDir?: string;
  /** The providers to ask with their config (a spec's); absent: those recorded in the state dir, else every one found. */
  providers?: readonly ProviderConfig[];
  /**
   * `delete --force` of this environment, whose state file cannot be read: its objects count as orphans unless the
   * file reads as a live state after all (a corrupt file otherwise keeps them, as it may list live resources).
   */
  distrustStateOf?: string;
}

/**
 * orphan: its environment is gone (removed with apply); live: its environment exists; young: gone, but within the
 * grace period; unowned: it records no environment we could look up, so gc never touches it.
 */
export type GcVerdict = "orphan" | "live" | "young" | "unowned";

export interface GcObject extends OwnedObject {
  provider: string;
  verdict: GcVerdict;
  /** Why, in words (names the state file looked at). */
  reason: string;
  ageMs?: number;
  /** With apply, for orphans: removed (or already gone), or the error that kept it. */
  removed?: boolean;
  error?: string;
}

export interface GcProviderReport {
  name: string;
  engine: string;
  /** ok: it listed its objects; unknown: it predates provider_owned; failed: it did not start or answer. */
  answer: "ok" | "unknown" | "failed";
  error?: string;
}

export interface GcReport {
  applied: boolean;
  olderThanMs: number;
  stateDir: string;
  objects: GcObject[];
  providers: GcProviderReport[];
  orphans: number;
  removed: number;
  failed: number;
}

/** gc removes in this order, so nothing is removed while something made of it still exists. */
const REMOVAL_ORDER: readonly OwnedKind[] = ["vm", "network", "key", "file"];

interface Asked {
  candidate: ProviderCandidate;
  client?: ProviderClient;
  report: GcProviderReport;
  objects: OwnedObject[];
}

export async function collectGarbage(deps: EngineDeps, options: GcOptions = {}): Promise<GcReport> {
  const olderThanMs = options.olderThanMs ?? DEFAULT_GC_GRACE_MS;
  const stateDir = options.stateDir ? resolve(deps.rootDir, options.stateDir) : resolveStateDir({ env: deps.env, rootDir: deps.rootDir });
  assertEnginesAllowed(deps, options.providers ?? []);
  const candidates = await providersToAsk(deps, stateDir, options.providers);
  const asked = await Promise.all(candidates.map((candidate) => askOwned(deps, candidate)));
  try {
    const now = Date.now();
    const objects: Array<{ object: GcObject; client: ProviderClient | undefined }> = [];
    for (const entry of asked) {
      for (const owned of entry.objects) {
        if (options.testID !== undefined && !belongsTo(owned, options.testID)) continue;
        const object = await judge(owned, entry.report.name, {
          stateDir,
          olderThanMs,
          now,
          ...(options.testID !== undefined ? { testID: options.testID } : {}),
          ...(options.distrustStateOf !== undefined ? { distrustStateOf: options.distrustStateOf } : {}),
        });
        objects.push({ object, client: entry.client });
      }
    }
    if (options.apply === true) await removeOrphans(deps, objects, stateDir, options.distrustStateOf);
    const list = objects.map((o) => o.object);
    const orphans = list.filter((o) => o.verdict === "orphan");
    return {
      applied: options.apply === true,
      olderThanMs,
      stateDir,
      objects: list,
      providers: asked.map((a) => a.report),
      orphans: orphans.length,
      removed: orphans.filter((o) => o.removed === true).length,
      failed: orphans.filter((o) => o.error !== undefined).length,
    };
  } finally {
    await Promise.all(asked.flatMap((a) => (a.client ? [a.client.close()] : [])));
  }
}

/** gc starts the providers it is given, so they pass the same engine policy as a create's. */
function assertEnginesAllowed(deps: EngineDeps, providers: readonly ProviderConfig[]): void {
  if (deps.enginePolicy === undefined) return;
  const issues = engineIssues(providers, deps.enginePolicy);
  if (issues.length > 0) throw new TestenvError("INPUT_INVALID", `gc: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`, { issues });
}

/** The spec's providers; else those recorded in the state dir's environments; else every provider found here. */
async function providersToAsk(deps: EngineDeps, stateDir: string, specProviders: readonly ProviderConfig[] | undefined): Promise<ProviderCandidate[]> {
  // A pool's hosts are each asked, as the providers its environments were placed with.
  const configs: ProviderConfig[] = (specProviders ?? []).flatMap(expandPool);
  if (configs.length === 0) {
    for (const entry of await new StateStore(stateDir).list()) configs.push(...(entry.state?.providers ?? []));
  }
  if (configs.length === 0) return discoverProviders({ cwd: deps.rootDir, env: deps.env });
  const seen = new Set<string>();
  const candidates: ProviderCandidate[] = [];
  for (const config of configs) {
    const key = JSON.stringify([config.engine, config.spec ?? null]);
    if (seen.has(key)) continue;
    seen.add(key);
    const taken = candidates.filter((c) => c.name === config.name || c.name.startsWith(`${config.name}#`)).length;
    candidates.push({ name: taken === 0 ? config.name : `${config.name}#${taken + 1}`, engine: config.engine, source: "spec", ...(config.spec ? { config: config.spec } : {}) });
  }
  return candidates;
}

async function askOwned(deps: EngineDeps, candidate: ProviderCandidate): Promise<Asked> {
  const report: GcProviderReport = { name: candidate.name, engine: candidate.engine, answer: "failed" };
  let client: ProviderClient | undefined;
  try {
    client = await ProviderClient.start({
      name: candidate.name,
      engine: candidate.engine,
      cwd: deps.rootDir,
      parentEnv: deps.env,
      startTimeoutMs: LIST_TIMEOUT_MS,
      closeGraceMs: 2_000,
      ...(candidate.config ? { config: candidate.config } : {}),
      log: deps.log.child(`gc:${candidate.name}`),
    });
    const answer = optionalAnswer(await client.call("provider_owned", {}, { timeoutMs: LIST_TIMEOUT_MS }), OwnedResponse);
    if (answer instanceof Error) return { candidate, client, report: { ...report, error: answer.message }, objects: [] };
    if (answer === "unknown") return { candidate, client, report: { ...report, answer: "unknown", error: "it does not list what it owns (provider_owned); its objects are not looked at" }, objects: [] };
    return { candidate, client, report: { ...report, answer: "ok" }, objects: answer.objects };
  } catch (error) {
    deps.log.warn(`gc: provider ${candidate.name} (${candidate.engine}) did not answer: ${errorMessage(error)}`);
    return { candidate, ...(client ? { client } : {}), report: { ...report, error: errorMessage(error) }, objects: [] };
  }
}

function belongsTo(object: OwnedObject, testID: string): boolean {
  return object.testID === testID || (object.testID === undefined && object.prefix === namePrefix(testID));
}

interface JudgeContext {
  stateDir: string;
  olderThanMs: number;
  now: number;
  testID?: string;
  distrustStateOf?: string;
}

/** Whether the environment may still own objects; for a distrusted (corrupt) state only a readable live one counts. */
async function ownerLive(store: StateStore, testID: string, distrustStateOf: string | undefined): Promise<boolean> {
  if (testID !== distrustStateOf) return store.isLive(testID);
  try {
    const state = await store.load(testID);
    return state !== undefined && state.status !== "destroyed";
  } catch {
    return false;
  }
}

async function judge(owned: OwnedObject, provider: string, context: JudgeContext): Promise<GcObject> {
  const createdMs = owned.createdAt === undefined ? Number.NaN : Date.parse(owned.createdAt);
  const ageMs = Number.isNaN(createdMs) ? undefined : Math.max(0, context.now - createdMs);
  const base = { ...owned, provider, ...(ageMs !== undefined ? { ageMs } : {}) };
  // An object that records only its prefix belongs to the environment gc was asked about, when the prefix is its.
  const testID = owned.testID ?? (context.testID !== undefined && owned.prefix === namePrefix(context.testID) ? context.testID : undefined);
  if (testID === undefined) {
    return { ...base, verdict: "unowned", reason: "it records no testID; gc leaves it alone (run gc --id <testID> if you know its environment)" };
  }
  const store = new StateStore(owned.stateDir ?? context.stateDir);
  const where = safeStatePath(store, testID);
  if (where === undefined) return { ...base, verdict: "unowned", reason: `its testID ${JSON.stringify(testID.slice(0, 80))} is not one testenv-vm makes` };
  if (await ownerLive(store, testID, context.distrustStateOf)) return { ...base, verdict: "live", reason: `its environment ${testID} exists (${where})` };
  if (ageMs !== undefined && ageMs < context.olderThanMs) {
    return { ...base, verdict: "young", reason: `its environment ${testID} is gone (no live state at ${where}), but it is only ${Math.round(ageMs / 1000)} s old` };
  }
  return { ...base, verdict: "orphan", reason: `its environment ${testID} is gone: no live state at ${where}` };
}

function safeStatePath(store: StateStore, testID: string): string | undefined {
  try {
    return store.statePath(testID);
  } catch {
    return undefined;
  }
}

type Candidate = { object: GcObject; client: ProviderClient | undefined };

/**
 * Orphans in dependency order; each is checked again just before, in case its environment came back meanwhile.
 * Within one kind (a network attached to another) what is still in use is tried again once something else went.
 */
async function removeOrphans(deps: EngineDeps, objects: readonly Candidate[], stateDir: string, distrustStateOf: string | undefined): Promise<void> {
  for (const kind of REMOVAL_ORDER) {
    let pending = objects.filter((o) => o.object.verdict === "orphan" && o.object.kind === kind);
    while (pending.length > 0) {
      const busy = (await Promise.all(pending.map(async (candidate) => ((await reclaimOne(deps, candidate, stateDir, distrustStateOf)) === "busy" ? [candidate] : [])))).flat();
      if (busy.length === pending.length) break;
      pending = busy;
    }
  }
}

async function reclaimOne(deps: EngineDeps, { object, client }: Candidate, stateDir: string, distrustStateOf: string | undefined): Promise<"done" | "busy"> {
  const store = new StateStore(object.stateDir ?? stateDir);
  if (object.testID !== undefined && (await ownerLive(store, object.testID, distrustStateOf))) {
    object.verdict = "live";
    object.reason = `its environment ${object.testID} came back while gc ran; left alone`;
    return "done";
  }
  if (client === undefined) {
    object.error = `provider ${object.provider} is not running`;
    return "done";
  }
  const result = await client.call("provider_reclaim", { kind: object.kind, name: object.name }, { timeoutMs: RECLAIM_TIMEOUT_MS });
  if (result.success || result.error?.code === "NOT_FOUND") {
    delete object.error;
    object.removed = true;
    deps.log.info(`gc: removed ${object.kind} ${object.name} (${object.provider}) of ${object.testID ?? "?"}`);
    return "done";
  }
  object.error = `${result.error?.code ?? "PROVIDER_ERROR"}: ${result.error?.message ?? "no detail"}`;
  return result.error?.code === "RESOURCE_BUSY" ? "busy" : "done";
}
