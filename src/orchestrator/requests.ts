import { isAbsolute, resolve } from "node:path";
import type { KeyCreateRequest, NetworkCreateRequest, ProviderVMSpec, VMCreateRequest } from "../../api/provider.js";
import type { KeyResource, NetworkResource, Spec, VMResource } from "../../api/spec.js";
import type { EnvironmentState } from "../../api/state.js";
import { logicalNetworkName, vmNetworkNames } from "../spec/validate.js";
import type { TemplateContext } from "../spec/template.js";
import { prefixName } from "./isolation.js";

// Turns a rendered (and subnet-isolated) spec resource into the request its provider receives.
// Provider-level names are `<prefix>-<name>`; paths are absolute; defaults the original never applied are applied here.

/** The part of the execution context a request is built from (an ExecutionContext is one). */
export interface RequestContext {
  /** The subnet-isolated spec. */
  spec: Spec;
  templates: TemplateContext;
  state: Pick<EnvironmentState, "prefix" | "rootDir" | "artifactDir">;
}

const DEFAULT_TIMEOUTS = { ssh: "3m", tcp: "3m", cloudInit: "10m" } as const;

const absolute = (path: string, base: string): string => (isAbsolute(path) ? path : resolve(base, path));

export function keyRequest(key: KeyResource, ctx: RequestContext): KeyCreateRequest {
  return {
    name: prefixName(ctx.state.prefix, key.name),
    spec: {
      ...key.spec,
      type: key.spec.type.toLowerCase(),
      outputDir: absolute(key.spec.outputDir ?? "keys", key.spec.outputDir ? ctx.state.rootDir : ctx.state.artifactDir),
    },
    ...(key.providerSpec ? { providerSpec: key.providerSpec } : {}),
  };
}

/** The name a provider knows a spec network by: `<prefix>-<name>`, or the real name of an external network. */
export function networkProviderName(logical: string, ctx: Pick<RequestContext, "spec" | "state">): string {
  const external = ctx.spec.networks?.find((network) => network.name === logical)?.external;
  return external !== undefined && external !== "" ? external : prefixName(ctx.state.prefix, logical);
}

/** A literal attachTo naming a network of this spec becomes that network's provider-level name. */
function attachTarget(value: string | undefined, ctx: RequestContext): string | undefined {
  if (value === undefined || value === "") return undefined;
  const logical = logicalNetworkName(value, ctx.spec, ctx.state.prefix);
  return logical === undefined ? value : networkProviderName(logical, ctx);
}

export function networkRequest(network: NetworkResource, ctx: RequestContext): NetworkCreateRequest {
  const spec = { ...network.spec };
  const attachTo = attachTarget(spec.attachTo, ctx);
  if (attachTo === undefined) delete spec.attachTo;
  else spec.attachTo = attachTo;
  if (spec.tftp?.root) spec.tftp = { ...spec.tftp, root: absolute(spec.tftp.root, ctx.state.rootDir) };
  return {
    name: prefixName(ctx.state.prefix, network.name),
    kind: network.kind,
    spec,
    ...(network.providerSpec ? { providerSpec: network.providerSpec } : {}),
  };
}

/** baseImage may name an image (or alias) of the spec, or be a path; empty means a blank disk. */
export function resolveBaseImage(value: string | undefined, ctx: RequestContext): string | undefined {
  const wanted = value === undefined || value === "" ? ctx.spec.defaultBaseImage : value;
  if (wanted === undefined || wanted === "") return undefined;
  const image = ctx.templates.Images[wanted];
  if (image?.Path) return image.Path;
  return absolute(wanted, ctx.state.rootDir);
}

function readiness(vm: VMResource, ctx: RequestContext): ProviderVMSpec["readiness"] {
  const given = vm.spec.readiness;
  if (!given) return undefined;
  const result: NonNullable<ProviderVMSpec["readiness"]> = {};
  if (given.ssh) {
    const firstUser = vm.spec.cloudInit?.users?.[0]?.name;
    result.ssh = {
      ...given.ssh,
      timeout: given.ssh.timeout || DEFAULT_TIMEOUTS.ssh,
      ...(given.ssh.user || firstUser ? { user: given.ssh.user || firstUser } : {}),
      ...(given.ssh.privateKey ? { privateKey: absolute(given.ssh.privateKey, ctx.state.rootDir) } : {}),
    };
  }
  if (given.tcp) result.tcp = { ...given.tcp, timeout: given.tcp.timeout || DEFAULT_TIMEOUTS.tcp };
  if (given.cloudInit) result.cloudInit = { ...given.cloudInit, timeout: given.cloudInit.timeout || DEFAULT_TIMEOUTS.cloudInit };
  if (given.exec) result.exec = { ...given.exec, timeout: given.exec.timeout || DEFAULT_TIMEOUTS.tcp };
  return result;
}

export function vmRequest(vm: VMResource, ctx: RequestContext): VMCreateRequest {
  const providerNetworkName = (value: string) => {
    const logical = logicalNetworkName(value, ctx.spec, ctx.state.prefix);
    return logical === undefined ? prefixName(ctx.state.prefix, value) : networkProviderName(logical, ctx);
  };
  const networks = vmNetworkNames(vm).map(providerNetworkName);
  const fixedIPs = vm.spec.fixedIPs === undefined
    ? undefined
    : Object.fromEntries(Object.entries(vm.spec.fixedIPs).map(([network, ip]) => [providerNetworkName(network), ip]));
  const disk = vm.spec.disk;
  const baseImage = disk === undefined ? undefined : resolveBaseImage(disk.baseImage, ctx);
  const cloudInit = vm.spec.cloudInit ? { ...vm.spec.cloudInit, hostname: vm.spec.cloudInit.hostname ?? vm.name } : undefined;
  const spec: ProviderVMSpec = {
    memory: vm.spec.memory,
    vcpus: vm.spec.vcpus,
    networks,
    ...(fixedIPs ? { fixedIPs } : {}),
    ...(disk ? { disk: { size: disk.size, ...(baseImage ? { baseImage } : {}) } } : {}),
    ...(vm.spec.container ? { container: vm.spec.container } : {}),
    boot: {
      order: vm.spec.boot?.order && vm.spec.boot.order.length > 0 ? vm.spec.boot.order : ["hd"],
      ...(vm.spec.boot?.firmware ? { firmware: vm.spec.boot.firmware } : {}),
      ...(vm.spec.boot?.secureBoot !== undefined ? { secureBoot: vm.spec.boot.secureBoot } : {}),
      ...(vm.spec.boot?.tpm !== undefined ? { tpm: vm.spec.boot.tpm } : {}),
    },
    ...(cloudInit ? { cloudInit } : {}),
  };
  const ready = readiness(vm, ctx);
  if (ready) spec.readiness = ready;
  return {
    name: prefixName(ctx.state.prefix, vm.name),
    spec,
    ...(vm.providerSpec ? { providerSpec: vm.providerSpec } : {}),
  };
}
