import type { KeyResource, NetworkResource, ResourceKind, Spec, VMResource } from "../../api/spec.js";
import { TestenvError, quoted, type Issue } from "../errors.js";
import { imageSourceProblem } from "./images.js";
import { envVarName, nameProblem } from "./literals.js";
import { parsePath, type FieldPath } from "./paths.js";
import { bundledProviderConfigIssues } from "./provider-configs.js";
import { isBlank, isLiteral, Report, specInvalid } from "./report.js";
import { suggestionSuffix } from "./suggest.js";
import {
  CATEGORY_NOUN,
  TEMPLATE_FIELDS,
  extractTemplateRefs,
  findTemplateSyntaxIssues,
  hasTemplate,
  type TemplateCategory,
  type TemplateRef,
} from "./template.js";
import { baseImageProblem, checkKey, imageNamesAndAliases, checkNetwork, checkVM, type ResourceCheckContext } from "./validate-resources.js";
import type { Locate } from "./zod-issues.js";

export { logicalNetworkName, vmNetworkNames } from "./validate-resources.js";

// Phase 1 (before anything is created) checks the whole spec and reports every problem at once.
// Phase 2 (right before each create) checks one rendered resource.

type Section = "keys" | "networks" | "vms";
const SECTIONS: readonly Section[] = ["keys", "networks", "vms"];
const SECTION_NOUN: Record<Section, string> = { keys: "key", networks: "network", vms: "vm" };
const SECTION_OF_KIND: Record<ResourceKind, Section> = { key: "keys", network: "networks", vm: "vms" };

interface Named {
  name: string;
  provider?: string;
}

function resourcesOf(spec: Spec, section: Section): readonly Named[] {
  return spec[section] ?? [];
}

function checkUniqueNames(report: Report, section: string, noun: string, items: readonly { name: string }[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const problem = nameProblem(item.name);
    if (problem !== undefined) report.add([section, index, "name"], `${noun} ${problem}`);
    const first = seen.get(item.name);
    if (first !== undefined) report.add([section, index, "name"], `duplicate ${noun} name ${quoted(item.name)} (also ${section}[${first}])`);
    else seen.set(item.name, index);
  });
}

/** TESTENV_* variable prefix of each section's exports (see the artifact): two names mapping to one would hide one. */
const ENV_PREFIX: Record<Section, string> = { keys: "TESTENV_KEY_", networks: "TESTENV_NETWORK_", vms: "TESTENV_VM_" };

function checkEnvVarNames(report: Report, section: Section, items: readonly { name: string }[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const variable = envVarName(item.name);
    const first = seen.get(variable);
    const other = first === undefined ? undefined : items[first]?.name;
    if (other !== undefined && other !== item.name) {
      report.add([section, index, "name"], `${SECTION_NOUN[section]} names ${quoted(other)} and ${quoted(item.name)} both export ${ENV_PREFIX[section]}${variable}_*; rename one`);
    } else if (first === undefined) {
      seen.set(variable, index);
    }
  });
}

/** A spec without `providers:` leaves the choice to the engine, so nothing in it may name a provider. */
function checkProviderChoiceLeftOpen(report: Report, spec: Spec): void {
  const hint = "the spec has pickProvider: true (testenv-vm picks one); list the provider under providers: or remove this field";
  if (spec.defaultProvider !== undefined) report.add(["defaultProvider"], `provider ${quoted(spec.defaultProvider)} is not defined: ${hint}`);
  for (const section of SECTIONS) {
    resourcesOf(spec, section).forEach((resource, index) => {
      if (resource.provider !== undefined) report.add([section, index, "provider"], `provider ${quoted(resource.provider)} is not defined: ${hint}`);
    });
  }
}

function checkProviders(report: Report, spec: Spec): void {
  const providers = spec.providers;
  if (providers === undefined) {
    // A forgotten list must not become a create on whatever provider the host has: picking is asked for.
    if (spec.pickProvider === true) checkProviderChoiceLeftOpen(report, spec);
    else report.add(["providers"], "providers is required: list them, e.g. [{ name: stub, engine: testenv-vm-provider-stub }], or set pickProvider: true to let testenv-vm pick");
    return;
  }
  if (spec.pickProvider === true) report.add(["pickProvider"], "pickProvider: true picks the provider, so the spec may list none; remove providers or pickProvider");
  if (providers.length === 0) {
    report.add(["providers"], "at least one provider is required, e.g. { name: stub, engine: testenv-vm-provider-stub }");
    return;
  }
  checkUniqueNames(report, "providers", "provider", providers);
  providers.forEach((provider, index) => {
    if (provider.engine.trim() === "") {
      report.add(["providers", index, "engine"], "engine is empty; give an executable path, a command name or a go:// URI");
    }
  });
  const names = providers.map((provider) => provider.name);
  const defaults = providers.flatMap((provider, index) => (provider.default === true ? [index] : []));
  for (const index of defaults.slice(1)) {
    const both = defaults.map((i) => providers[i]?.name).join(", ");
    report.add(["providers", index, "default"], `several providers are marked default (${both}); mark only one`);
  }
  if (spec.defaultProvider !== undefined) {
    const flagged = defaults.length === 1 ? providers[defaults[0] ?? 0]?.name : undefined;
    if (!names.includes(spec.defaultProvider)) {
      report.add(["defaultProvider"], `provider ${quoted(spec.defaultProvider)} is not defined${suggestionSuffix(spec.defaultProvider, names, "providers", true)}`);
    } else if (flagged !== undefined && flagged !== spec.defaultProvider) {
      report.add(["defaultProvider"], `defaultProvider is ${quoted(spec.defaultProvider)} but provider ${quoted(flagged)} is marked default: true; make them agree`);
    }
  }
  for (const section of SECTIONS) {
    resourcesOf(spec, section).forEach((resource, index) => {
      if (resource.provider !== undefined && !names.includes(resource.provider)) {
        report.add([section, index, "provider"], `provider ${quoted(resource.provider)} is not defined${suggestionSuffix(resource.provider, names, "providers", true)}`);
      }
    });
  }
  if (providers.length > 1 && defaults.length === 0 && spec.defaultProvider === undefined) {
    const unassigned = SECTIONS.flatMap((section) =>
      resourcesOf(spec, section).flatMap((resource, index) => (resource.provider === undefined ? [`${section}[${index}]`] : [])),
    );
    if (unassigned.length > 0) {
      report.add(
        ["providers"],
        `${providers.length} providers are defined and none is the default; set default: true on one, set defaultProvider, or name a provider on ${unassigned.join(", ")}`,
      );
    }
  }
}

function checkImages(report: Report, spec: Spec): void {
  const images = spec.images ?? [];
  checkUniqueNames(report, "images", "image", images);
  const owners = new Map<string, string>(images.map((image) => [image.name, `image ${quoted(image.name)}`]));
  images.forEach((image, index) => {
    const alias = image.spec.alias;
    if (alias !== undefined && alias !== image.name) {
      const problem = nameProblem(alias);
      const owner = owners.get(alias);
      if (problem !== undefined) report.add(["images", index, "spec", "alias"], `alias ${problem.replace(/^name /, "")}`);
      else if (owner !== undefined) report.add(["images", index, "spec", "alias"], `alias ${quoted(alias)} is already used by ${owner}`);
      else owners.set(alias, `the alias of image ${quoted(image.name)}`);
    }
    if (isLiteral(image.spec.source)) {
      const problem = imageSourceProblem(image.spec.source, image.spec.sha256);
      if (problem !== undefined) report.add(["images", index, "spec", problem.field], problem.message);
    }
  });
}

function checkTopLevel(report: Report, spec: Spec): void {
  for (const field of ["imageCacheDir", "stateDir", "artifactDir"] as const) {
    if (isBlank(spec[field])) report.add([field], `${field} is empty; remove it to use the default, or give a directory`);
    // These directories are needed before any template is rendered (delete finds the state without the spec).
    else if (spec[field] !== undefined && hasTemplate(spec[field])) {
      report.add([field], `${field} cannot use templates; write the path out, or set it through the environment (TESTENV_VM_STATE_DIR, TESTENV_VM_IMAGE_CACHE_DIR) or --state-dir`);
    }
  }
  report.check(["defaultBaseImage"], spec.defaultBaseImage, (value) => baseImageProblem(value, spec));
}

/** Which template categories may appear where: only keys, networks and VMs are rendered after other resources exist. */
function allowedCategories(path: string): readonly TemplateCategory[] {
  const section = path.split(/[.[]/)[0];
  if (section === "keys" || section === "networks" || section === "vms") return ["Keys", "Networks", "VMs", "Images", "Env", "DefaultBaseImage"];
  if (section === "defaultBaseImage") return ["Images", "Env"];
  return ["Env"];
}

function namesFor(spec: Spec, category: Exclude<TemplateCategory, "Env" | "DefaultBaseImage">): string[] {
  if (category === "Images") return imageNamesAndAliases(spec);
  const section: Section = category === "Keys" ? "keys" : category === "Networks" ? "networks" : "vms";
  return resourcesOf(spec, section).map((resource) => resource.name);
}

function templateRefProblem(ref: TemplateRef, spec: Spec): string | undefined {
  const allowed = allowedCategories(ref.path);
  if (!allowed.includes(ref.category)) {
    return `${ref.raw} cannot be used here: ${ref.path.split(/[.[]/)[0]} is resolved before keys, networks and VMs exist; allowed: ${allowed.map((c) => `.${c}`).join(", ")}`;
  }
  if (ref.category === "Env") return undefined;
  if (ref.category === "DefaultBaseImage") return spec.defaultBaseImage === undefined ? `${ref.raw} is used but defaultBaseImage is not set` : undefined;
  const noun = CATEGORY_NOUN[ref.category];
  const names = namesFor(spec, ref.category);
  const name = ref.name ?? "";
  if (!names.includes(name)) return `${ref.raw} references ${noun} ${quoted(name)}, which is not defined${suggestionSuffix(name, names, `${noun}s`, true)}`;
  const fields = TEMPLATE_FIELDS[ref.category];
  const field = ref.field ?? "";
  if (!fields.includes(field)) return `${ref.raw}: a ${noun} has no field ${field}${suggestionSuffix(field, fields, "fields", true)}`;
  return undefined;
}

function checkTemplates(report: Report, spec: Spec): void {
  for (const issue of findTemplateSyntaxIssues(spec)) report.add(parsePath(issue.field), issue.message);
  for (const ref of extractTemplateRefs(spec)) {
    const problem = templateRefProblem(ref, spec);
    if (problem !== undefined) report.add(parsePath(ref.path), problem);
  }
}

/** Phase 1: every rule that can be checked before anything is created. Returns all issues (empty when valid). */
export function validateEarly(spec: Spec, locate?: Locate): Issue[] {
  const report = new Report(locate);
  const context: ResourceCheckContext = { spec, phase: "early" };
  checkProviders(report, spec);
  for (const section of SECTIONS) checkUniqueNames(report, section, SECTION_NOUN[section], resourcesOf(spec, section));
  for (const section of SECTIONS) checkEnvVarNames(report, section, resourcesOf(spec, section));
  (spec.keys ?? []).forEach((key, index) => checkKey(report, ["keys", index], key));
  (spec.networks ?? []).forEach((network, index) => checkNetwork(report, ["networks", index], network, context));
  (spec.vms ?? []).forEach((vm, index) => checkVM(report, ["vms", index], vm, context));
  checkImages(report, spec);
  checkTopLevel(report, spec);
  checkTemplates(report, spec);
  return [...report.issues, ...bundledProviderConfigIssues(spec, locate)];
}

/**
 * `{{ .Env.X }}` only reads the env the caller passed (CreateInput.env), never this process's own: a reference
 * to a variable it did not pass is refused before anything is created (it could only fail later, mid-create).
 */
export function missingEnvIssues(spec: Spec, env: Readonly<Record<string, string>>): Issue[] {
  const report = new Report();
  for (const ref of extractTemplateRefs(spec)) {
    if (ref.category !== "Env" || ref.name === undefined || Object.hasOwn(env, ref.name)) continue;
    report.add(parsePath(ref.path), `${ref.raw} reads ${quoted(ref.name)}, which the create input env does not set; pass it in env`);
  }
  return report.issues;
}

export function assertValidEarly(spec: Spec, locate?: Locate): void {
  const issues = validateEarly(spec, locate);
  if (issues.length > 0) throw specInvalid(issues);
}

/** resource.provider → defaultProvider → the provider marked default → the only provider. */
export function resolveProviderName(spec: Spec, resource: { provider?: string }): string {
  const name =
    resource.provider ??
    spec.defaultProvider ??
    spec.providers?.find((provider) => provider.default === true)?.name ??
    (spec.providers?.length === 1 ? spec.providers[0]?.name : undefined);
  if (name === undefined) {
    throw new TestenvError("SPEC_INVALID", "no provider for this resource and no default provider; set default: true on one provider or set defaultProvider", {
      issues: [{ field: "providers", message: "no default provider" }],
    });
  }
  return name;
}

export interface LateValidationOptions {
  /** The environment's isolation prefix, so `<prefix>-<network>` is recognised exactly. */
  prefix?: string;
}

/** Phase 2: checks one resource after its templates were rendered, right before it is created. */
export function validateLate(
  kind: ResourceKind,
  rendered: KeyResource | NetworkResource | VMResource,
  spec: Spec,
  options: LateValidationOptions = {},
): Issue[] {
  const report = new Report();
  const section = SECTION_OF_KIND[kind];
  const index = resourcesOf(spec, section).findIndex((resource) => resource.name === rendered.name);
  const at: FieldPath = index >= 0 ? [section, index] : [`${SECTION_NOUN[section]} ${quoted(rendered.name)}`];
  const context: ResourceCheckContext = { spec, phase: "late", prefix: options.prefix };
  if (kind === "key") checkKey(report, at, rendered as KeyResource);
  else if (kind === "network") checkNetwork(report, at, rendered as NetworkResource, context);
  else checkVM(report, at, rendered as VMResource, context);
  return report.issues;
}

export function assertValidLate(
  kind: ResourceKind,
  rendered: KeyResource | NetworkResource | VMResource,
  spec: Spec,
  options: LateValidationOptions = {},
): void {
  const issues = validateLate(kind, rendered, spec, options);
  if (issues.length > 0) throw specInvalid(issues, `${kind} ${quoted(rendered.name)} is invalid after rendering its templates`);
}

