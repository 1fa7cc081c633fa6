import type { Plan, PlannedResource } from "../../api/plan.js";
import { TestenvError } from "../errors.js";
import { canonicalJson } from "./spec-hash.js";

// create --plan applies a plan only when the plan it would make now is the same one, to the byte.

const key = (resource: Pick<PlannedResource, "kind" | "name">): string => `${resource.kind} ${resource.name}`;

/** What differs between the plan given and the plan made now, in words; empty when they are the same plan. */
export function staleReasons(given: Plan, current: Plan): string[] {
  if (given.planHash === current.planHash && canonicalJson(given) === canonicalJson(current)) return [];
  const reasons: string[] = [];
  if (given.testID !== current.testID) reasons.push(`it is for environment ${given.testID}, not ${current.testID}`);
  if (given.specHash !== current.specHash) reasons.push(`the spec changed (spec hash ${given.specHash} → ${current.specHash})`);
  if (canonicalJson(given.subnets) !== canonicalJson(current.subnets)) reasons.push("the free subnets changed (another environment took one)");
  if (canonicalJson(given.providers) !== canonicalJson(current.providers)) reasons.push("a provider changed (engine, name or version)");
  if (canonicalJson(given.placements ?? []) !== canonicalJson(current.placements ?? [])) reasons.push("the placement on the pool's hosts changed (other environments took room, or a host came or went)");
  for (const path of new Set([...Object.keys(given.inputs), ...Object.keys(current.inputs)])) {
    if (given.inputs[path] !== current.inputs[path]) reasons.push(`the base image ${path} changed (${given.inputs[path] ?? "not in the plan"} → ${current.inputs[path] ?? "not used now"})`);
  }
  const before = new Map(given.phases.flatMap((phase) => phase.resources.map((r) => [key(r), r] as const)));
  const now = new Map(current.phases.flatMap((phase) => phase.resources.map((r) => [key(r), r] as const)));
  for (const [name, resource] of now) {
    const old = before.get(name);
    if (old === undefined) reasons.push(`${name} is new`);
    else if (old.requestHash !== resource.requestHash) reasons.push(`the rendered request of ${name} changed (${old.requestHash ?? "none"} → ${resource.requestHash ?? "none"})`);
    else if (canonicalJson(old.steps ?? null) !== canonicalJson(resource.steps ?? null)) reasons.push(`what provider ${resource.provider ?? "?"} would do for ${name} changed`);
    else if (old.action !== resource.action) reasons.push(`${name} would now be ${resource.action}, not ${old.action}`);
  }
  for (const name of before.keys()) if (!now.has(name)) reasons.push(`${name} is no longer in the spec`);
  if (reasons.length === 0) reasons.push(`the plan's bytes differ (plan hash ${given.planHash} → ${current.planHash}); was it edited?`);
  return reasons;
}

export function assertPlanCurrent(given: Plan, current: Plan): void {
  const reasons = staleReasons(given, current);
  if (reasons.length === 0) return;
  throw new TestenvError("PLAN_STALE", `the plan is stale; nothing was created:\n${reasons.map((r) => `  - ${r}`).join("\n")}\nmake a new plan (testenv-vm plan) and review it`, {
    details: { planHash: given.planHash, currentPlanHash: current.planHash, reasons },
  });
}
