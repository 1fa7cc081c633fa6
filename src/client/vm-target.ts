import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { KeyState, VMState } from "../../api/provider.js";
import type { EnvironmentState, ResourceRecord } from "../../api/state.js";
import { TestenvError } from "../errors.js";
import { parseSshCommand, toEnvVarName, type FlatEnvironment } from "./environment-source.js";

// Where and how to reach one VM over SSH, worked out from the state file (complete) or from the flat artifact/env
// data (what Forge passes when the state file is out of reach).

export interface VmTarget {
  /** Logical name (as in the spec, or as given to createVM). */
  name: string;
  /** Name the provider knows the VM by (prefixed), when known. */
  providerName?: string;
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** Whether the VM boots with cloud-init (waitReady then also waits for cloud-init to finish). */
  cloudInit: boolean;
  runtime: boolean;
}

/** Explicit overrides for what the environment does not record (or records wrongly). */
export interface VmConnectionOverrides {
  user?: string;
  port?: number;
  privateKeyPath?: string;
  host?: string;
}

// The parts of a recorded vm_create request the client reads; everything else is ignored.
const RecordedRequest = z.looseObject({
  spec: z
    .looseObject({
      cloudInit: z
        .looseObject({ users: z.array(z.looseObject({ name: z.string(), sshAuthorizedKeys: z.array(z.string()).optional() })).optional() })
        .optional(),
      readiness: z.looseObject({ ssh: z.looseObject({ user: z.string().optional(), privateKey: z.string().optional() }).optional() }).optional(),
    })
    .optional(),
});

const notFound = (message: string, vm: string): TestenvError =>
  new TestenvError("NOT_FOUND", message, { details: { vm }, issues: [{ field: "vm", message }] });

function absolute(path: string, base: string | undefined): string {
  return isAbsolute(path) || base === undefined ? path : resolve(base, path);
}

/** The private key whose public half is authorized for the login user, from the environment's key resources. */
function keyAuthorizedFor(state: EnvironmentState, authorizedKeys: readonly string[]): string | undefined {
  const wanted = new Set(authorizedKeys.map((k) => k.trim().split(/\s+/).slice(0, 2).join(" ")));
  for (const record of Object.values(state.resources.keys)) {
    const key = KeyState.safeParse(record.state);
    if (!key.success) continue;
    if (wanted.has(key.data.publicKey.trim().split(/\s+/).slice(0, 2).join(" "))) return key.data.privateKeyPath;
  }
  return undefined;
}

function onlyKey(state: EnvironmentState): string | undefined {
  const paths = Object.values(state.resources.keys)
    .map((record) => KeyState.safeParse(record.state))
    .flatMap((key) => (key.success ? [key.data.privateKeyPath] : []));
  return paths.length === 1 ? paths[0] : undefined;
}

export function vmRecordOf(state: EnvironmentState, name: string): ResourceRecord | undefined {
  return state.resources.vms[name];
}

export function targetFromState(state: EnvironmentState, name: string, overrides: VmConnectionOverrides = {}): VmTarget {
  const record = vmRecordOf(state, name);
  if (!record) {
    const known = Object.keys(state.resources.vms);
    throw notFound(
      `vm "${name}" is not part of environment ${state.id} (known: ${known.length > 0 ? known.join(", ") : "none"})`,
      name,
    );
  }
  if (record.status !== "ready") {
    throw new TestenvError("NOT_FOUND", `vm "${name}" of environment ${state.id} is ${record.status}, not ready${record.error ? `: ${record.error}` : ""}`, {
      details: { vm: name, status: record.status },
    });
  }
  const vm = VMState.safeParse(record.state);
  const vmState = vm.success ? vm.data : undefined;
  const request = RecordedRequest.safeParse(record.request ?? {});
  const spec = request.success ? request.data.spec : undefined;
  const ssh = vmState?.sshCommand ? parseSshCommand(vmState.sshCommand) : {};
  const readinessSsh = spec?.readiness?.ssh;
  const users = spec?.cloudInit?.users ?? [];
  const loginUser =
    overrides.user ?? vmState?.sshUser ?? readinessSsh?.user ?? users.find((u) => (u.sshAuthorizedKeys ?? []).length > 0)?.name ?? ssh.user ?? "root";

  const host = overrides.host ?? vmState?.ip ?? ssh.host;
  if (!host) throw notFound(`vm "${name}" of environment ${state.id} has no IP address recorded; its provider did not report one`, name);

  const recordedKey = typeof vmState?.privateKeyPath === "string" ? vmState.privateKeyPath : undefined;
  const userKeys = users.find((u) => u.name === loginUser)?.sshAuthorizedKeys ?? [];
  const keyPath =
    overrides.privateKeyPath ?? recordedKey ?? readinessSsh?.privateKey ?? keyAuthorizedFor(state, userKeys) ?? ssh.identityFile ?? onlyKey(state);
  if (!keyPath) {
    throw notFound(
      `no private key known for vm "${name}" of environment ${state.id}: give it readiness.ssh.privateKey or a cloud-init user ` +
        `with a key of this environment, or pass { privateKeyPath } to env.vm()`,
      name,
    );
  }
  return {
    name,
    providerName: record.providerName,
    host,
    port: overrides.port ?? vmState?.sshPort ?? ssh.port ?? 22,
    user: loginUser,
    privateKeyPath: absolute(keyPath, state.tmpDir),
    cloudInit: spec?.cloudInit !== undefined,
    runtime: record.runtime === true,
  };
}

export function targetFromFlat(flat: FlatEnvironment, name: string, overrides: VmConnectionOverrides = {}): VmTarget {
  const vm = flat.vms.get(toEnvVarName(name));
  if (!vm) {
    const known = [...flat.vms.values()].map((v) => v.name);
    throw notFound(
      `vm "${name}" is not in the environment's artifact/variables (known: ${known.length > 0 ? known.join(", ") : "none"})`,
      name,
    );
  }
  const ssh = vm.sshCommand ? parseSshCommand(vm.sshCommand) : {};
  const host = overrides.host ?? vm.ip ?? ssh.host;
  if (!host) throw notFound(`vm "${name}" has no IP address in the artifact`, name);
  const keys = [...flat.privateKeys.values()];
  const keyPath = overrides.privateKeyPath ?? ssh.identityFile ?? flat.privateKeys.get(toEnvVarName(name)) ?? (keys.length === 1 ? keys[0] : undefined);
  if (!keyPath) {
    throw notFound(
      `no private key known for vm "${name}": the artifact has ${keys.length} keys and no ssh command for it; pass { privateKeyPath } to env.vm()`,
      name,
    );
  }
  return {
    name: vm.name,
    host,
    port: overrides.port ?? ssh.port ?? 22,
    user: overrides.user ?? ssh.user ?? "root",
    privateKeyPath: absolute(keyPath, flat.tmpDir),
    // Without the spec we cannot know; waiting for cloud-init is harmless where it is absent.
    cloudInit: true,
    runtime: false,
  };
}
