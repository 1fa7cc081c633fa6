import type { Placement } from "../../api/host-pool.js";
import { CreateInput } from "../../api/forge.js";
import { PLAN_VERSION, type Plan, type PlannedResource } from "../../api/plan.js";
import type { PlannedStep } from "../../api/provider.js";
import type { KeyResource, NetworkResource, ResourceKind, Spec, VMResource } from "../../api/spec.js";
import type { EnvironmentState, ProviderChoice, ResourceRef } from "../../api/state.js";
import { TestenvError, formatIssues } from "../errors.js";
import type { ProviderManager } from "../provider/manager.js";
import { parseSpec } from "../spec/load.js";
import { emptyTemplateContext, renderTemplates, type TemplateContext } from "../spec/template.js";
import { assertValidEarly, resolveProviderName, validateLate } from "../spec/validate.js";
import { buildDag } from "./dag.js";
import { GROUP_OF } from "./executor.js";
import { parseInput, requireField } from "./input.js";
import { computeSubnetPlan, isolateSpec, namePrefix, prefixName } from "./isolation.js";
import type { EnvironmentLayout } from "./layout.js";
import { keyRequest, networkProviderName, networkRequest, vmRequest, type RequestContext } from "./requests.js";
import { hashSpec, sha256Of } from "./spec-hash.js";
import { addImageToContext, contextFromState, resolveDefaultBaseImage } from "./template-context.js";
import { changedFields } from "./plan-diff.js";
import { inputFingerprints, localImagePaths } from "./plan-inputs.js";
import { addPlaceholder, placeholder } from "./plan-placeholders.js";

// The plan of a create: the same validation, DAG, subnets, templates and requests as the create itself, with
// placeholders for what only exists afterwards, and each provider's own account of what it would do.

export interface PlanSubject {
  input: CreateInput & { spec: NonNullable<CreateInput["spec"]> };
  /** The spec to plan, its providers filled in (the picked one when it named none). */
  spec: Spec & { providers: NonNullable<Spec["providers"]> };
  /** `sha256:` of the spec as written, which is what create compares. */
  specHash: string;
  phases: ResourceRef[][];
  /** How the provider was picked, when the spec named none. */
  choice?: ProviderChoice;
  /** Where the providers that name a pool of hosts are placed (their spec.providers entries name the host). */
  placements?: readonly Placement[];
}

/** A spec checked as create checks it, before its providers are known. */
export interface WrittenPlanSubject extends Omit<PlanSubject, "spec"> {
  spec: Spec;
}

/** Checks a create's input and spec exactly as create does. */
export function planSubject(rawInput: CreateInput): WrittenPlanSubject {
  const input = parseInput(CreateInput, rawInput, "plan");
  requireField(input.testID, "testID");
  requireField(input.stage, "stage");
  requireField(input.tmpDir, "tmpDir");
  if (!input.spec) throw new TestenvError("INPUT_INVALID", "missing required field 'spec'", { issues: [{ field: "spec", message: "required" }] });
  const spec = parseSpec(input.spec);
  assertValidEarly(spec);
  return { input: { ...input, spec: input.spec }, spec, specHash: `sha256:${hashSpec(spec)}`, phases: buildDag(spec).phases() };
}

export interface PlanEnvironment {
  layout: EnvironmentLayout;
  /** The subnet mapping the create would use (or uses: create --plan passes its reservation). */
  subnets: Record<string, string>;
  /** The environment of this testID when one exists: resources in it are unchanged or replaced. */
  existing: EnvironmentState | undefined;
  /** Started providers of the spec (inspect mode for a plan). */
  providers: ProviderManager;
}

type SpecResource = KeyResource | NetworkResource | VMResource;

function specResource(spec: Spec, ref: ResourceRef): SpecResource | undefined {
  if (ref.kind === "key") return spec.keys?.find((k) => k.name === ref.name);
  if (ref.kind === "network") return spec.networks?.find((n) => n.name === ref.name);
  if (ref.kind === "vm") return spec.vms?.find((v) => v.name === ref.name);
  return undefined;
}

/** The templates a plan renders with: what exists (from the state), placeholders for the rest. */
function planTemplates(spec: Spec, prefix: string, rootDir: string, env: Record<string, string>, existing: EnvironmentState | undefined): TemplateContext {
  const context = existing ? contextFromState(existing) : emptyTemplateContext(env);
  const localImages = localImagePaths(spec, rootDir);
  for (const image of spec.images ?? []) {
    if (context.Images[image.name] !== undefined) continue;
    // A local image is used where it is, so its path is known; a download lands in the cache at create.
    const path = localImages.get(image.name) ?? placeholder("image", image.name, "path");
    addImageToContext(context, { name: image.name, path, ...(image.spec.alias ? { alias: image.spec.alias } : {}) });
  }
  for (const key of spec.keys ?? []) addPlaceholder(context, "Keys", key.name, prefixName(prefix, key.name));
  for (const network of spec.networks ?? []) addPlaceholder(context, "Networks", network.name, network.external || prefixName(prefix, network.name));
  for (const vm of spec.vms ?? []) addPlaceholder(context, "VMs", vm.name, prefixName(prefix, vm.name));
  context.DefaultBaseImage = resolveDefaultBaseImage(spec.defaultBaseImage, context);
  return context;
}

function renderedRequest(kind: ResourceKind, resource: SpecResource, ctx: RequestContext): Record<string, unknown> {
  const path = `${GROUP_OF[kind]}.${resource.name}`;
  const rendered = renderTemplates(resource, ctx.templates, path);
  const issues = validateLate(kind, rendered, ctx.spec, { prefix: ctx.state.prefix });
  if (issues.length > 0) throw new TestenvError("SPEC_INVALID", `${kind} ${resource.name}: validation failed:\n${formatIssues(issues)}`, { issues });
  if (kind === "key") return keyRequest(rendered as KeyResource, ctx);
  if (kind === "network") return networkRequest(rendered as NetworkResource, ctx);
  return vmRequest(rendered as VMResource, ctx);
}

async function providerSteps(providers: ProviderManager, provider: string, kind: ResourceKind, request: Record<string, unknown>): Promise<Pick<PlannedResource, "steps" | "stepsUnknown">> {
  const result = await providers.get(provider).call("provider_plan", { tool: `${kind}_create`, arguments: request });
  if (result.success) return { steps: ((result.resource as { steps?: PlannedStep[] } | undefined)?.steps ?? []).map(stepInOrder) };
  const code = result.error?.code ?? "PROVIDER_ERROR";
  if (code === "NOT_IMPLEMENTED" || /not implemented|unknown tool/i.test(result.error?.message ?? "")) {
    return { stepsUnknown: `provider "${provider}" cannot say what it would do (no provider_plan)` };
  }
  throw new TestenvError(code, `${kind} ${String(request.name)} (provider ${provider}): ${code}: ${result.error?.message ?? "no detail"}`, { details: { provider } });
}

/** A step's members in one order, so the plan's bytes do not depend on the provider's JSON. */
function stepInOrder(step: PlannedStep): PlannedStep {
  return {
    action: step.action,
    summary: step.summary,
    ...(step.argv ? { argv: step.argv } : {}),
    ...(step.path !== undefined ? { path: step.path } : {}),
    ...(step.content !== undefined ? { content: step.content } : {}),
  };
}

function actionFor(existing: EnvironmentState | undefined, kind: ResourceKind, name: string, request: Record<string, unknown>): Pick<PlannedResource, "action" | "changes"> {
  const record = existing?.resources[GROUP_OF[kind]][name];
  if (record?.status !== "ready" || record.request === undefined) return { action: "create" };
  const changes = changedFields(record.request, request);
  return changes.length === 0 ? { action: "unchanged" } : { action: "replace", changes };
}

/** The plan of `subject` in `environment`; deterministic: the same inputs give the same bytes. */
export async function computePlan(subject: PlanSubject, environment: PlanEnvironment): Promise<Plan> {
  const { input, spec, phases } = subject;
  const { layout, subnets, existing, providers } = environment;
  const prefix = namePrefix(input.testID);
  const ctx: RequestContext = {
    spec: isolateSpec(spec, subnets),
    templates: planTemplates(spec, prefix, layout.rootDir, input.env ?? {}, existing),
    state: { prefix, rootDir: layout.rootDir, artifactDir: layout.artifactDir },
  };
  const baseImages: string[] = [...localImagePaths(spec, layout.rootDir).values()];
  const planned: Plan["phases"] = [];
  for (const [index, phase] of phases.entries()) {
    const resources: PlannedResource[] = [];
    for (const ref of phase) {
      if (ref.kind === "image") {
        const known = existing?.images?.[ref.name] !== undefined;
        resources.push({ kind: "image", name: ref.name, action: known ? "unchanged" : "create", steps: [{ action: "note", summary: `resolve image ${ref.name} into the image cache (a local file is used where it is)` }] });
        continue;
      }
      const resource = specResource(ctx.spec, ref);
      if (resource === undefined) continue;
      const kind = ref.kind;
      const provider = resolveProviderName(ctx.spec, resource);
      const external = kind === "network" && (resource as NetworkResource).external;
      if (external) {
        const providerName = networkProviderName(ref.name, ctx);
        resources.push({ kind, name: ref.name, action: "use", provider, providerName, steps: [{ action: "note", summary: `look up the existing network ${providerName} (network_get); it is never created` }] });
        continue;
      }
      const request = renderedRequest(kind, resource, ctx);
      if (kind === "vm") baseImages.push(String((request as { spec?: { disk?: { baseImage?: string } } }).spec?.disk?.baseImage ?? ""));
      resources.push({
        kind,
        name: ref.name,
        ...actionFor(existing, kind, ref.name, request),
        provider,
        providerName: String(request.name),
        request,
        requestHash: sha256Of(request),
        ...(await providerSteps(providers, provider, kind, request)),
      });
    }
    planned.push({ phase: index + 1, resources });
  }
  const body: Omit<Plan, "planHash"> = {
    version: PLAN_VERSION,
    testID: input.testID,
    stage: input.stage,
    prefix,
    specHash: subject.specHash,
    subnets,
    providers: spec.providers.map((p) => {
      const client = providers.get(p.name);
      return { name: p.name, engine: p.engine, providerName: client.capabilities.providerName, version: client.capabilities.version };
    }),
    ...(subject.choice ? { providerChoice: subject.choice } : {}),
    ...(subject.placements && subject.placements.length > 0 ? { placements: subject.placements.map(({ provider, host, needs }) => ({ provider, host, needs })) } : {}),
    inputs: inputFingerprints(baseImages),
    phases: planned,
  };
  return { ...body, planHash: sha256Of(body) };
}

/** Every subnet prefix of the spec, for a preview or a reservation. */
export const subnetPrefixes = (spec: Spec): string[] => computeSubnetPlan(spec);
