import { join } from "node:path";
import type { AvailabilityResponse, KeyCreateRequest, PlannedStep, VMCreateRequest } from "../../api/provider.js";
import { findInPath, isExecutableFile } from "../../lib/executable.js";
import { checkResourceName, invalidSpec, keyParams, type DiscoveryHandlers, type PlannableRequest, type RecordStore } from "../kit/index.js";
import type { ResolvedConfig } from "./config.js";
import { containerRunArgs, unsupportedField } from "./containers.js";
import { baseImageTag, importArgs } from "./image.js";
import { renderInitScript, userProblems, usersOf, type ContainerUser } from "./init-script.js";
import { baseLabels, type LabelContext } from "./labels.js";
import { networkCreateArgs } from "./networks.js";

// What a create would run, without running it: the argv of every podman command, the init script it would write,
// from the same argv builders create uses. Nothing here starts a process or touches a file, so the same request
// gives the same steps; what only exists at create (the image's own command, a key's public half) is a placeholder.

export interface PodmanPlanContext {
  config: ResolvedConfig;
  labels: LabelContext;
  records: RecordStore;
  /** Where keys go when a request names no outputDir. */
  keyDir: string;
  /** Where per-container init scripts live. */
  containerDir: string;
}

const OCI_ARCHIVE = "oci-archive:";
const known = (what: string): string => `(known at create: ${what})`;
const exec = (podman: string, args: readonly string[], summary: string): PlannedStep => ({ action: "exec", summary, argv: [podman, ...args] });

function keySteps(request: KeyCreateRequest, context: PodmanPlanContext): PlannedStep[] {
  const name = checkResourceName("key", request.name);
  const params = keyParams(request.spec.type, request.spec.bits);
  const privateKeyPath = join(request.spec.outputDir ?? context.keyDir, name);
  return [
    { action: "write", summary: `private ${params.type} key of ${name} (mode 0600, generated in-process at create)`, path: privateKeyPath },
    { action: "write", summary: `public key of ${name} (mode 0644)`, path: `${privateKeyPath}.pub` },
    { action: "write", summary: `record of key ${name}`, path: context.records.path("keys", name) },
  ];
}

/** The image steps and the reference `podman run` gets: the built-in base image, an OCI archive, or a named image. */
function imageSteps(podman: string, reference: string | undefined, context: PodmanPlanContext): { image: string; steps: PlannedStep[] } {
  if (reference === undefined || reference === "") {
    const tag = baseImageTag(context.config.baseImage);
    return { image: tag, steps: [{ action: "note", summary: `use the base image ${tag}; built once with mmdebstrap and \`${[podman, ...importArgs("<rootfs.tar>", tag)].join(" ")}\` when podman's storage lacks it` }] };
  }
  const archive = reference.startsWith(OCI_ARCHIVE) ? reference.slice(OCI_ARCHIVE.length) : reference.endsWith(".tar") ? reference : undefined;
  if (archive !== undefined) return { image: known(`the image loaded from ${archive}`), steps: [exec(podman, ["load", "--quiet", "--input", archive], `load the OCI archive ${archive}`)] };
  return { image: reference, steps: [exec(podman, ["pull", "--quiet", reference], `pull ${reference} when podman's storage lacks it`)] };
}

/** The users the init script sets up; the key of SSH readiness stands for root when cloud-init names none. */
function plannedUsers(request: VMCreateRequest): ContainerUser[] {
  const users = usersOf(request.spec.cloudInit);
  if (users.length > 0 || request.spec.readiness?.ssh?.enabled !== true) return users;
  const key = request.spec.readiness.ssh.privateKey;
  return key === undefined ? [] : [{ name: "root", authorizedKeys: [known(`the public key in ${key}.pub`)] }];
}

function vmSteps(request: VMCreateRequest, context: PodmanPlanContext): PlannedStep[] {
  const name = checkResourceName("vm", request.name);
  const refused = unsupportedField(request.spec);
  if (refused) throw refused;
  const podman = context.config.podman;
  const users = plannedUsers(request);
  const problems = userProblems(users);
  if (problems.length > 0) throw invalidSpec(problems.join("; "));
  const { image, steps } = imageSteps(podman, request.spec.container?.image, context);
  const script = join(context.containerDir, name, "<8 random hex, new per create>", "init.sh");
  const command = request.spec.container?.command ?? [known(`the entrypoint and command of ${image}`)];
  if (users.length > 0) steps.push({ action: "write", summary: `init script of ${name}: sets up ${users.map((u) => u.name).join(", ")}, then runs the container's command`, path: script, content: renderInitScript(users) });
  steps.push(exec(podman, containerRunArgs({ request: { ...request, name }, labels: context.labels, image, users, script, command }), `run container ${name}`));
  const waits = (["ssh", "tcp", "exec"] as const).filter((field) => {
    const check = request.spec.readiness?.[field];
    return check !== undefined && (!("enabled" in check) || check.enabled);
  });
  if (waits.length > 0) steps.push({ action: "note", summary: `wait for readiness: ${waits.join(", ")}` });
  return steps;
}

export function podmanPlanSteps(planned: PlannableRequest, context: PodmanPlanContext): PlannedStep[] {
  switch (planned.tool) {
    case "key_create":
      return keySteps(planned.request, context);
    case "network_create": {
      const name = checkResourceName("network", planned.request.name);
      return [exec(context.config.podman, networkCreateArgs({ ...planned.request, name }, baseLabels(context.labels, name)), `create ${planned.request.kind} network ${name}`)];
    }
    case "vm_create":
      return vmSteps(planned.request, context);
  }
}

/** Availability (podman found, no process started) and plan. */
export function podmanDiscovery(context: PodmanPlanContext, env: NodeJS.ProcessEnv = process.env): DiscoveryHandlers {
  return {
    available: (): AvailabilityResponse => {
      const binary = context.config.podman;
      const path = binary.includes("/") ? (isExecutableFile(binary) ? binary : undefined) : findInPath(binary, env);
      return path === undefined ? { available: false, reason: `${binary} is not on PATH; install podman (and netavark)` } : { available: true, reason: `podman found at ${path}` };
    },
    plan: (planned) => Promise.resolve(podmanPlanSteps(planned, context)),
  };
}
