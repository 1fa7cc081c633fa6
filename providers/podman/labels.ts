// Labels on every podman object the provider makes, so that a fresh process (and the gc sweeper) finds what
// belongs to which environment without any record of its own.

export const LABEL = {
  managedBy: "managed-by",
  testID: "testenv-vm.test-id",
  prefix: "testenv-vm.prefix",
  /** The state dir of the environment (for gc: its state file tells whether the environment is gone). */
  stateDir: "testenv-vm.state-dir",
  resource: "testenv-vm.resource",
  kind: "testenv-vm.kind",
  /** Container only: what vm_start must wait for again, as JSON. */
  readiness: "testenv-vm.readiness",
  sshUser: "testenv-vm.ssh-user",
  privateKey: "testenv-vm.private-key",
  image: "testenv-vm.image",
} as const;

export const MANAGED_BY = "testenv-vm";

export interface LabelContext {
  testID: string | undefined;
  prefix: string | undefined;
  stateDir?: string | undefined;
}

/** The logical resource name: the provider-level name without the environment's prefix. */
export function resourceName(name: string, prefix: string | undefined): string {
  return prefix !== undefined && name.startsWith(`${prefix}-`) ? name.slice(prefix.length + 1) : name;
}

export function baseLabels(context: LabelContext, name: string): Record<string, string> {
  return {
    [LABEL.managedBy]: MANAGED_BY,
    ...(context.testID !== undefined ? { [LABEL.testID]: context.testID } : {}),
    ...(context.prefix !== undefined ? { [LABEL.prefix]: context.prefix } : {}),
    ...(context.stateDir !== undefined ? { [LABEL.stateDir]: context.stateDir } : {}),
    [LABEL.resource]: resourceName(name, context.prefix),
  };
}

export function labelArgs(labels: Record<string, string>): string[] {
  return Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
}

/** `--filter label=...` that selects this environment's objects (all managed ones when there is no prefix). */
export function ownedFilter(context: LabelContext): string[] {
  return ["--filter", `label=${LABEL.managedBy}=${MANAGED_BY}`, ...(context.prefix !== undefined ? ["--filter", `label=${LABEL.prefix}=${context.prefix}`] : [])];
}
