import { relative } from "node:path";
import { METADATA_STATE_DIR, METADATA_TEST_ID, type TestEnvArtifact } from "../../api/forge.js";
import type { EnvironmentState, ResourceRecord } from "../../api/state.js";
import { envVarName } from "../spec/literals.js";

// The artifact Forge reads (contract §1.3). Names are logical; `files` are relative to Forge's tmpDir (a fix:
// the original made them relative to the artifact dir, so Forge resolved them to the wrong place).

export { envVarName };

const text = (value: unknown): string => (typeof value === "string" ? value : "");

function ordered(records: Record<string, ResourceRecord>, order: readonly string[]): ResourceRecord[] {
  const byName = new Map(Object.entries(records));
  const result: ResourceRecord[] = [];
  for (const name of order) {
    const record = byName.get(name);
    if (record) {
      result.push(record);
      byName.delete(name);
    }
  }
  return [...result, ...[...byName.values()].sort((a, b) => a.name.localeCompare(b.name))];
}

export function buildArtifact(state: EnvironmentState): TestEnvArtifact {
  const files: Record<string, string> = {};
  const metadata: Record<string, string> = { [METADATA_STATE_DIR]: state.stateDir, [METADATA_TEST_ID]: state.id };
  const managedResources: string[] = [];
  const env: Record<string, string> = { TESTENV_VM_NAME_PREFIX: state.prefix };
  const set = (target: Record<string, string>, key: string, value: string): void => {
    if (value !== "") target[key] = value;
  };
  const ready = (record: ResourceRecord): boolean => record.status === "ready";
  if (state.providerChoice) {
    metadata["testenv-vm.provider"] = state.providerChoice.provider;
    metadata["testenv-vm.provider.reason"] = state.providerChoice.reason;
  }

  for (const key of ordered(state.resources.keys, (state.spec.keys ?? []).map((k) => k.name)).filter(ready)) {
    const s = key.state ?? {};
    const privatePath = text(s.privateKeyPath);
    const publicPath = text(s.publicKeyPath);
    if (privatePath) files[`testenv-vm.key.${key.name}`] = relative(state.tmpDir, privatePath);
    if (privatePath) managedResources.push(privatePath);
    if (publicPath) managedResources.push(publicPath);
    managedResources.push(`testenv-vm://key/${key.name}`);
    set(env, `TESTENV_KEY_${envVarName(key.name)}_PRIVATE_PATH`, privatePath);
    set(metadata, `testenv-vm.key.${key.name}.fingerprint`, text(s.fingerprint));
  }
  for (const network of ordered(state.resources.networks, (state.spec.networks ?? []).map((n) => n.name)).filter(ready)) {
    const s = network.state ?? {};
    set(metadata, `testenv-vm.network.${network.name}.ip`, text(s.ip));
    set(env, `TESTENV_NETWORK_${envVarName(network.name)}_IP`, text(s.ip));
    set(metadata, `testenv-vm.network.${network.name}.interface`, text(s.interfaceName));
    set(env, `TESTENV_NETWORK_${envVarName(network.name)}_INTERFACE`, text(s.interfaceName));
    managedResources.push(`testenv-vm://network/${network.name}`);
  }
  for (const vm of ordered(state.resources.vms, (state.spec.vms ?? []).map((v) => v.name)).filter(ready)) {
    const s = vm.state ?? {};
    set(metadata, `testenv-vm.vm.${vm.name}.ip`, text(s.ip));
    set(env, `TESTENV_VM_${envVarName(vm.name)}_IP`, text(s.ip));
    set(env, `TESTENV_VM_${envVarName(vm.name)}_SSH`, text(s.sshCommand));
    set(metadata, `testenv-vm.vm.${vm.name}.mac`, text(s.mac));
    managedResources.push(`testenv-vm://vm/${vm.name}`);
  }
  return { testID: state.id, files, metadata, managedResources, env };
}
