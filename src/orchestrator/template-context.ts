import type { EnvironmentState, ResourceRecord } from "../../api/state.js";
import { emptyTemplateContext, type TemplateContext } from "../spec/template.js";

// The template context holds what earlier resources produced, by logical name. Values come from provider states.

const str = (value: unknown): string => (typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : "");

export function keyContextEntry(record: ResourceRecord): Record<string, string> {
  const state = record.state ?? {};
  return {
    Name: record.providerName,
    PublicKey: str(state.publicKey).trim(),
    PrivateKeyPath: str(state.privateKeyPath),
    PublicKeyPath: str(state.publicKeyPath),
    Fingerprint: str(state.fingerprint),
  };
}

export function networkContextEntry(record: ResourceRecord): Record<string, string> {
  const state = record.state ?? {};
  return {
    Name: record.providerName,
    IP: str(state.ip),
    CIDR: str(state.cidr),
    Gateway: str(state.gateway ?? state.ip),
    InterfaceName: str(state.interfaceName),
    UUID: str(state.uuid),
  };
}

export function vmContextEntry(record: ResourceRecord): Record<string, string> {
  const state = record.state ?? {};
  return {
    Name: record.providerName,
    IP: str(state.ip),
    MAC: str(state.mac),
    SSHCommand: str(state.sshCommand),
  };
}

export function addRecordToContext(context: TemplateContext, record: ResourceRecord): void {
  switch (record.kind) {
    case "key":
      context.Keys[record.name] = keyContextEntry(record);
      break;
    case "network":
      context.Networks[record.name] = networkContextEntry(record);
      break;
    case "vm":
      context.VMs[record.name] = vmContextEntry(record);
      break;
  }
}

export function addImageToContext(context: TemplateContext, image: { name: string; path: string; alias?: string }): void {
  const entry = { Name: image.name, Path: image.path };
  context.Images[image.name] = entry;
  if (image.alias) context.Images[image.alias] = entry;
}

/** Rebuilds the context of a ready environment, e.g. to render a runtime VM. */
export function contextFromState(state: EnvironmentState): TemplateContext {
  const context = emptyTemplateContext(state.env ?? {});
  for (const image of Object.values(state.images ?? {})) addImageToContext(context, image);
  for (const group of [state.resources.keys, state.resources.networks, state.resources.vms]) {
    for (const record of Object.values(group)) {
      if (record.status === "ready") addRecordToContext(context, record);
    }
  }
  context.DefaultBaseImage = resolveDefaultBaseImage(state.spec.defaultBaseImage, context);
  return context;
}

/** `defaultBaseImage` may name an image or alias; then templates see its path. */
export function resolveDefaultBaseImage(value: string | undefined, context: TemplateContext): string {
  if (!value) return "";
  return context.Images[value]?.Path ?? value;
}
