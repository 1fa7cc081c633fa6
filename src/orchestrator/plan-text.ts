import type { Plan, PlannedResource, PlanAction } from "../../api/plan.js";
import type { PlannedStep } from "../../api/provider.js";
import { canonicalJson } from "./spec-hash.js";

// The plan as text: the same bytes for the same plan (nothing here reads a clock, the environment or a map order).

const SIGN: Record<PlannedResource["action"], string> = { create: "+", unchanged: "=", replace: "~", use: "<" };

function indentBy(text: string, spaces: number): string {
  const pad = " ".repeat(spaces);
  return text
    .split("\n")
    .map((line) => (line === "" ? line : `${pad}${line}`))
    .join("\n");
}

function stepText(step: PlannedStep): string {
  const lines = [`- ${step.action}: ${step.summary}`];
  if (step.argv) lines.push(`  $ ${step.argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)).join(" ")}`);
  if (step.path !== undefined) lines.push(`  path: ${step.path}`);
  if (step.content !== undefined) lines.push(`  content:\n${indentBy(step.content.replace(/\n$/, ""), 4)}`);
  return lines.join("\n");
}

function resourceText(resource: PlannedResource): string {
  const where = resource.provider !== undefined ? ` on ${resource.provider} as ${resource.providerName ?? resource.name}` : "";
  const lines = [`${SIGN[resource.action]} ${resource.kind} ${resource.name}${where}: ${resource.action}`];
  if (resource.changes && resource.changes.length > 0) lines.push(`  changes: ${resource.changes.join(", ")}`);
  if (resource.request) {
    lines.push(`  request ${resource.requestHash ?? ""}:`);
    lines.push(indentBy(JSON.stringify(JSON.parse(canonicalJson(resource.request)), null, 2), 4));
  }
  if (resource.steps) for (const step of resource.steps) lines.push(indentBy(stepText(step), 2));
  if (resource.stepsUnknown !== undefined) lines.push(`  steps unknown: ${resource.stepsUnknown}`);
  return lines.join("\n");
}

function actionCounts(plan: Plan): Record<PlanAction, number> {
  const counts = { create: 0, unchanged: 0, replace: 0, use: 0 };
  for (const phase of plan.phases) for (const resource of phase.resources) counts[resource.action] += 1;
  return counts;
}

const countsText = (counts: Record<PlanAction, number>): string =>
  `${counts.create} to create, ${counts.replace} to replace, ${counts.unchanged} unchanged, ${counts.use} used as they are`;

const choiceText = (plan: Plan): string[] => [
  ...(plan.providerChoice ? [`provider picked (the spec names none): ${plan.providerChoice.provider}, ${plan.providerChoice.reason}`] : []),
  ...(plan.placements ?? []).map((p) => `placed: provider ${p.provider} on ${p.host} (needs ${p.needs.vcpus} vCPUs, ${p.needs.memoryMiB} MiB, ${p.needs.diskGiB.toFixed(1)} GiB)`),
];

/** The short form `validate` shows: hashes, providers and one line per resource (no requests, no steps). */
export interface PlanSummary {
  specHash: string;
  planHash: string;
  providers: Plan["providers"];
  providerChoice?: Plan["providerChoice"];
  phases: Array<{ phase: number; resources: Array<Pick<PlannedResource, "kind" | "name" | "action" | "provider" | "providerName" | "requestHash" | "changes">> }>;
}

export function planSummary(plan: Plan): PlanSummary {
  return {
    specHash: plan.specHash,
    planHash: plan.planHash,
    providers: plan.providers,
    ...(plan.providerChoice ? { providerChoice: plan.providerChoice } : {}),
    phases: plan.phases.map((phase) => ({
      phase: phase.phase,
      resources: phase.resources.map(({ kind, name, action, provider, providerName, requestHash, changes }) => ({
        kind,
        name,
        action,
        ...(provider !== undefined ? { provider } : {}),
        ...(providerName !== undefined ? { providerName } : {}),
        ...(requestHash !== undefined ? { requestHash } : {}),
        ...(changes !== undefined ? { changes } : {}),
      })),
    })),
  };
}

export function planSummaryText(plan: Plan): string {
  const lines = [
    `plan: ${plan.phases.length} phase(s); ${countsText(actionCounts(plan))}`,
    `  spec hash: ${plan.specHash}`,
    `  plan hash: ${plan.planHash}`,
    `  providers: ${plan.providers.map((p) => `${p.name} (${p.providerName} ${p.version})`).join(", ")}`,
    ...choiceText(plan).map((line) => `  ${line}`),
  ];
  for (const phase of plan.phases) {
    for (const r of phase.resources) {
      const where = r.provider !== undefined ? ` on ${r.provider} as ${r.providerName ?? r.name}` : "";
      lines.push(`  phase ${phase.phase}: ${SIGN[r.action]} ${r.kind} ${r.name}${where}${r.requestHash !== undefined ? ` ${r.requestHash}` : ""}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function planText(plan: Plan): string {
  const counts = actionCounts(plan);
  const header = [
    `plan for ${plan.testID} (stage ${plan.stage}, prefix ${plan.prefix})`,
    `spec hash: ${plan.specHash}`,
    `plan hash: ${plan.planHash}`,
    `providers: ${plan.providers.map((p) => `${p.name} (${p.providerName} ${p.version}, ${p.engine})`).join(", ")}`,
    ...choiceText(plan),
    ...(Object.keys(plan.subnets).length > 0 ? [`subnets: ${Object.entries(plan.subnets).map(([from, to]) => `${from}.0/24 → ${to}.0/24`).join(", ")}`] : []),
    ...Object.entries(plan.inputs).map(([path, fingerprint]) => `input: ${path} (${fingerprint})`),
  ];
  const phases = plan.phases.map((phase) => `phase ${phase.phase} of ${plan.phases.length}\n${phase.resources.map((r) => indentBy(resourceText(r), 2)).join("\n")}`);
  const summary = countsText(counts);
  return `${header.join("\n")}\n\n${phases.join("\n\n")}\n\n${summary}\n`;
}

/** The plan as JSON: keys sorted, two-space indent, one trailing newline. */
export function planJson(plan: Plan): string {
  return `${JSON.stringify(JSON.parse(canonicalJson(plan)), null, 2)}\n`;
}
