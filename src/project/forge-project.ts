import { createHash } from "node:crypto";
import type { ProjectEnv } from "../../api/project-env.js";
import type { Spec } from "../../api/spec.js";
import { TestenvError } from "../errors.js";
import { loadSpecFile } from "../spec/index.js";
import { parseEnvFile } from "./env-file.js";

// A folder with a forge.yaml and no .env: the verbs use that testenv-vm spec as it is. What the `.env` would have
// said comes from the spec: the VMs (the first is the one `ssh` and `status` mean), the login user and key of its
// SSH readiness, and the sizes the host must hold. The spec's hash stands for the `.env` keys, so `up` notices an
// edited forge.yaml exactly as it notices an edited `.env`.

export const FORGE_FILE = "forge.yaml";

export interface ForgeProject {
  spec: Spec;
  env: ProjectEnv;
  given: Record<string, string>;
  vms: string[];
  sshUser: string;
  sshKey: string;
}

const GIB = 1024 ** 3;
const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: GIB, T: 1024 * GIB };

function diskGiB(size: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT])?i?B?$/i.exec(size.trim());
  if (match === null) return 1;
  return (Number(match[1]) * (UNITS[(match[2] ?? "G").toUpperCase()] ?? GIB)) / GIB;
}

export async function loadForgeProject(path: string): Promise<ForgeProject> {
  const loaded = await loadSpecFile(path);
  const spec = loaded.spec;
  const [primary] = spec.vms ?? [];
  if (primary === undefined) {
    throw new TestenvError("SPEC_INVALID", `${path}: its testenv-vm spec has no VMs, and the folder verbs (up, ssh, stop, rm) need one; add a vms: entry, or write a .env (testenv-vm init)`, {
      issues: [{ field: "vms", message: "needs at least one VM" }],
      details: { path },
    });
  }
  const vms = (spec.vms ?? []).map((vm) => vm.name);
  const sum = (pick: (vm: NonNullable<Spec["vms"]>[number]) => number) => (spec.vms ?? []).reduce((total, vm) => total + pick(vm), 0);
  // The sizes the host-capacity check and the progress line use, as a .env would give them.
  const { env } = parseEnvFile(
    `INFRA_TYPE=vm\nMEMORY=${Math.max(128, sum((vm) => vm.spec.memory))}\nCPUS=${Math.min(256, sum((vm) => vm.spec.vcpus))}\nDISK=${Math.max(1, Math.ceil(sum((vm) => (vm.spec.disk === undefined ? 0 : diskGiB(vm.spec.disk.size)))))}\n`,
    path,
  );
  const readiness = primary.spec.readiness?.ssh;
  const sshUser = readiness?.user ?? primary.spec.cloudInit?.users?.[0]?.name ?? "root";
  const sshKey = /\.Keys\.([A-Za-z0-9_.-]+)\.PrivateKeyPath/.exec(readiness?.privateKey ?? "")?.[1] ?? spec.keys?.[0]?.name ?? "";
  const digest = createHash("sha256").update(JSON.stringify(loaded.raw)).digest("hex").slice(0, 16);
  return { spec, env, given: { [FORGE_FILE]: `sha256:${digest}` }, vms, sshUser, sshKey };
}
