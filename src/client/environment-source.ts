import { basename, isAbsolute, resolve } from "node:path";
import { METADATA_STATE_DIR, type TestEnvArtifact } from "../../api/forge.js";

// What a test process knows about its environment before (or without) reading the state file: the artifact that
// `create` returned, or the variables a Forge test runner sets (contract §1.4). Both become one FlatEnvironment.

/** Metadata key with the environment's testID (written next to METADATA_STATE_DIR when the orchestrator has it). */
export const METADATA_TEST_ID = "testenv-vm.testID";

/** Artifact env names: upper case, `-` and `.` become `_` (contract §1.3). */
export function toEnvVarName(name: string): string {
  return name.toUpperCase().replace(/[-.]/g, "_");
}

/** Forge's normalisation of artifact/metadata keys into FORGE_ARTIFACT_* / FORGE_METADATA_* names. */
export function forgeEnvKey(key: string): string {
  return key.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

export interface FlatVm {
  /** Exact VM name when known (artifact); the normalised env name when it comes from Forge variables. */
  name: string;
  ip?: string;
  sshCommand?: string;
}

export interface FlatEnvironment {
  testID?: string;
  tmpDir?: string;
  stateDir?: string;
  prefix?: string;
  /** Keyed by toEnvVarName(vm name), since Forge variables only carry that form. */
  vms: Map<string, FlatVm>;
  /** Absolute private key paths, in the order found. */
  privateKeys: Map<string, string>;
}

export interface ParsedSshCommand {
  user?: string;
  host?: string;
  port?: number;
  identityFile?: string;
}

/** Splits a command line the way sh would for plain words and '…'/"…" quoting (enough for the ssh commands we emit). */
function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? "";
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      current += line.slice(i + 1, end === -1 ? undefined : end);
      i = end === -1 ? line.length : end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && j + 1 < line.length) j++;
        current += line[j] ?? "";
      }
      i = j;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      current += line[++i] ?? "";
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** Reads user, host, port and key out of an `ssh -i key [-p port] [-o x] user@host` line. */
export function parseSshCommand(line: string): ParsedSshCommand {
  const words = splitWords(line);
  const parsed: ParsedSshCommand = {};
  let destination: string | undefined;
  for (let i = words[0] === "ssh" ? 1 : 0; i < words.length; i++) {
    const word = words[i] ?? "";
    if (word === "-i" || word === "-p" || word === "-o" || word === "-l") {
      const value = words[++i];
      if (value === undefined) break;
      if (word === "-i") parsed.identityFile = value;
      else if (word === "-p" && /^\d+$/.test(value)) parsed.port = Number(value);
      else if (word === "-l") parsed.user = value;
      else if (/^port=\d+$/i.test(value)) parsed.port = Number(value.split("=")[1]);
    } else if (!word.startsWith("-") && destination === undefined) {
      destination = word;
    }
  }
  if (destination !== undefined) {
    const at = destination.lastIndexOf("@");
    if (at > 0) parsed.user = destination.slice(0, at);
    parsed.host = destination.slice(at + 1);
  }
  return parsed;
}

/** Forge records artifact files relative to its tmpDir; never resolve them against the cwd (the original did). */
function resolveArtifactFile(path: string, tmpDir: string | undefined): string | undefined {
  if (isAbsolute(path)) return path;
  return tmpDir === undefined ? undefined : resolve(tmpDir, path);
}

export function flatFromArtifact(artifact: TestEnvArtifact, options: { tmpDir?: string; stateDir?: string } = {}): FlatEnvironment {
  const flat: FlatEnvironment = {
    testID: artifact.testID,
    vms: new Map(),
    privateKeys: new Map(),
  };
  const tmpDir = options.tmpDir;
  if (tmpDir !== undefined) flat.tmpDir = tmpDir;
  const stateDir = options.stateDir ?? artifact.metadata[METADATA_STATE_DIR];
  if (stateDir !== undefined) flat.stateDir = stateDir;
  const prefix = artifact.env.TESTENV_VM_NAME_PREFIX;
  if (prefix !== undefined) flat.prefix = prefix;

  const vmNames = new Set<string>();
  for (const uri of artifact.managedResources) {
    const match = /^testenv-vm:\/\/vm\/(.+)$/.exec(uri);
    if (match?.[1]) vmNames.add(match[1]);
  }
  for (const key of Object.keys(artifact.metadata)) {
    const match = /^testenv-vm\.vm\.(.+)\.ip$/.exec(key);
    if (match?.[1]) vmNames.add(match[1]);
  }
  for (const name of vmNames) {
    const envName = toEnvVarName(name);
    const vm: FlatVm = { name };
    const ip = artifact.metadata[`testenv-vm.vm.${name}.ip`] ?? artifact.env[`TESTENV_VM_${envName}_IP`];
    if (ip !== undefined) vm.ip = ip;
    const ssh = artifact.env[`TESTENV_VM_${envName}_SSH`];
    if (ssh !== undefined) vm.sshCommand = ssh;
    flat.vms.set(envName, vm);
  }
  for (const [key, path] of Object.entries(artifact.files)) {
    const match = /^testenv-vm\.key\.(.+)$/.exec(key);
    const absolute = match?.[1] ? resolveArtifactFile(path, tmpDir) : undefined;
    if (match?.[1] && absolute !== undefined) flat.privateKeys.set(toEnvVarName(match[1]), absolute);
  }
  for (const [key, value] of Object.entries(artifact.env)) {
    const match = /^TESTENV_KEY_(.+)_PRIVATE_PATH$/.exec(key);
    if (match?.[1] && isAbsolute(value) && ![...flat.privateKeys.values()].includes(value)) flat.privateKeys.set(match[1], value);
  }
  return flat;
}

/**
 * Reads the variables a Forge test runner gives the test process: the artifact's env (TESTENV_*),
 * FORGE_TESTENV_TMPDIR, FORGE_ARTIFACT_<KEY> (already joined with the tmpDir) and FORGE_METADATA_<KEY>.
 */
export function flatFromForgeEnv(env: NodeJS.ProcessEnv): FlatEnvironment {
  const flat: FlatEnvironment = { vms: new Map(), privateKeys: new Map() };
  const tmpDir = env.FORGE_TESTENV_TMPDIR;
  const metadata = (key: string): string | undefined => env[`FORGE_METADATA_${forgeEnvKey(key)}`];
  if (tmpDir) flat.tmpDir = tmpDir;
  // Forge names the tmpDir after the testID (<root>/.forge/tmp/<testID>); metadata wins when present.
  const testID = metadata(METADATA_TEST_ID) ?? (tmpDir ? basename(tmpDir) : undefined);
  if (testID) flat.testID = testID;
  const stateDir = metadata(METADATA_STATE_DIR) ?? env.TESTENV_VM_STATE_DIR;
  if (stateDir) flat.stateDir = stateDir;
  if (env.TESTENV_VM_NAME_PREFIX) flat.prefix = env.TESTENV_VM_NAME_PREFIX;

  const vmOf = (envName: string): FlatVm => {
    let vm = flat.vms.get(envName);
    if (!vm) {
      vm = { name: envName };
      flat.vms.set(envName, vm);
    }
    return vm;
  };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === "") continue;
    let match = /^FORGE_METADATA_TESTENV_VM_VM_(.+)_IP$/.exec(key) ?? /^TESTENV_VM_(.+)_IP$/.exec(key);
    if (match?.[1]) {
      vmOf(match[1]).ip ??= value;
      continue;
    }
    match = /^TESTENV_VM_(.+)_SSH$/.exec(key);
    if (match?.[1]) {
      vmOf(match[1]).sshCommand = value;
      continue;
    }
    match = /^FORGE_ARTIFACT_TESTENV_VM_KEY_(.+)$/.exec(key) ?? /^TESTENV_KEY_(.+)_PRIVATE_PATH$/.exec(key);
    if (match?.[1] && isAbsolute(value) && ![...flat.privateKeys.values()].includes(value)) flat.privateKeys.set(match[1], value);
  }
  return flat;
}
