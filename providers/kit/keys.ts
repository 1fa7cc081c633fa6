import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { KeyCreateRequest, KeyState } from "../../api/provider.js";
import { loadSsh2 } from "../../lib/ssh2.js";
import { ProviderError, alreadyExists, busy, invalidSpec, notFound } from "./errors.js";
import { pathExists } from "./fs.js";
import { checkResourceName } from "./names.js";
import type { RecordStore } from "./records.js";
import type { ResourceHandlers } from "./server.js";

// SSH keys generated in-process (ssh2) in OpenSSH format. Files are the truth; a record in dataDir says
// where they are, because a fresh process only gets the key's name.

export type KeyKind = "ed25519" | "rsa" | "ecdsa";

export interface KeyParams {
  type: KeyKind;
  bits: number | undefined;
}

export interface KeyRecord {
  name: string;
  type: KeyKind;
  bits?: number;
  comment?: string;
  privateKeyPath: string;
  publicKeyPath: string;
  createdAt: string;
  /** The environment's name prefix at creation, so that `list` shows only this environment's keys. */
  prefix?: string;
  /** The environment that made it, where the records dir is shared by environments (podman): gc tells whose it is. */
  testID?: string;
  stateDir?: string;
}

export function keyParams(type: string, bits: number | undefined): KeyParams {
  const normalized = type.trim().toLowerCase();
  switch (normalized) {
    case "ed25519":
      if (bits !== undefined && bits !== 256) throw invalidSpec(`spec.bits: ed25519 keys have a fixed size; remove bits (got ${bits})`);
      return { type: "ed25519", bits: undefined };
    case "rsa": {
      const size = bits ?? 4096;
      if (size < 2048 || size > 8192) throw invalidSpec(`spec.bits: rsa keys need 2048-8192 bits, got ${size}`);
      return { type: "rsa", bits: size };
    }
    case "ecdsa": {
      const size = bits ?? 256;
      if (![256, 384, 521].includes(size)) throw invalidSpec(`spec.bits: ecdsa keys need 256, 384 or 521 bits, got ${size}`);
      return { type: "ecdsa", bits: size };
    }
    default:
      throw invalidSpec(`spec.type: unsupported key type "${type}"; use ed25519, rsa or ecdsa`);
  }
}

/** `SHA256:<base64 without padding>` of the public key blob, exactly as `ssh-keygen -lf` prints it. */
export function fingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob) throw new ProviderError("PROVIDER_ERROR", `not an OpenSSH public key line: ${publicKeyLine.slice(0, 40)}`);
  return `SHA256:${createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}

async function generateOnce(params: KeyParams, comment: string | undefined): Promise<{ private: string; public: string }> {
  const { utils } = await loadSsh2();
  return new Promise((resolve, reject) => {
    const options = { ...(params.bits !== undefined ? { bits: params.bits } : {}), ...(comment ? { comment } : {}) };
    utils.generateKeyPair(params.type, options, (error, keys) => {
      if (error) reject(new ProviderError("PROVIDER_ERROR", `generating ${params.type} key failed: ${error.message}`, { cause: error }));
      else resolve(keys);
    });
  });
}

/** A pair whose private key ssh2 itself can load. */
export async function generateKeyPair(params: KeyParams, comment: string | undefined): Promise<{ private: string; public: string }> {
  return usableKeyPair(() => generateOnce(params, comment), params.type);
}

/**
 * ssh2 1.17 writes about 1 in 240 ed25519 private keys in a form its own parser refuses ("Malformed OpenSSH private
 * key"; measured 21 of 5000), which would leave an environment whose key the client library cannot load: each pair
 * is parsed back, and a refused one is made again.
 */
export async function usableKeyPair<T extends { private: string }>(generate: () => T | Promise<T>, type: string): Promise<T> {
  const { utils } = await loadSsh2();
  let last: Error | undefined;
  for (let attempt = 0; attempt < 10; attempt++) {
    const pair = await generate();
    const parsed = utils.parseKey(pair.private);
    if (!(parsed instanceof Error)) return pair;
    last = parsed;
  }
  throw new ProviderError("PROVIDER_ERROR", `generating ${type} key failed: ten generated keys could not be parsed back (${last?.message ?? "unknown"})`);
}


export interface KeyDeps {
  records: RecordStore;
  /** Default directory when a request names no outputDir. */
  defaultDir: string;
  /** Names of VMs whose metadata lists this key (best effort). */
  vmsUsingKey(name: string): Promise<string[]>;
  /** The environment's name prefix (TESTENV_VM_NAME_PREFIX): `list` then shows its keys only, as it does VMs and networks. */
  prefix?: string | undefined;
  /** Recorded with each key, for gc, by a provider whose records dir every environment shares. */
  owner?: { testID?: string | undefined; stateDir?: string | undefined };
}

/** A record gc may act on names a pair where we would have made one: `<dir>/<name>` and the same path + `.pub`. */
export function keyFilesLookOurs(record: KeyRecord): boolean {
  return basename(record.privateKeyPath) === record.name && record.publicKeyPath === `${record.privateKeyPath}.pub`;
}

/** gc's reclaim of a key: both files, then the record (stored under `name`). */
export async function removeKeyPair(records: RecordStore, name: string, record: KeyRecord): Promise<void> {
  await rm(record.privateKeyPath, { force: true });
  await rm(record.publicKeyPath, { force: true });
  await records.remove("keys", name);
}

async function stateOf(record: KeyRecord): Promise<KeyState> {
  const publicKey = (await readFile(record.publicKeyPath, "utf8")).trim();
  return {
    name: record.name,
    type: record.type,
    publicKey,
    publicKeyPath: record.publicKeyPath,
    privateKeyPath: record.privateKeyPath,
    fingerprint: fingerprint(publicKey),
    createdAt: record.createdAt,
    providerState: { ...(record.bits !== undefined ? { bits: record.bits } : {}) },
  };
}

/** The record when both of its files are still there. */
async function present(record: KeyRecord | undefined): Promise<KeyRecord | undefined> {
  return record !== undefined && (await pathExists(record.privateKeyPath)) && (await pathExists(record.publicKeyPath)) ? record : undefined;
}

export function createKeyHandlers(deps: KeyDeps): ResourceHandlers<KeyCreateRequest, KeyState> {
  const load = (name: string) => deps.records.read<KeyRecord>("keys", checkResourceName("key", name));
  return {
    async create(request) {
      const name = checkResourceName("key", request.name);
      const params = keyParams(request.spec.type, request.spec.bits);
      const dir = request.spec.outputDir ?? deps.defaultDir;
      const privateKeyPath = join(dir, name);
      const publicKeyPath = `${privateKeyPath}.pub`;
      if ((await present(await load(name))) !== undefined || (await pathExists(privateKeyPath))) throw alreadyExists("key", name);
      const pair = await generateKeyPair(params, request.spec.comment);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      // wx: never overwrite a key someone else put there in the meantime.
      await writeFile(privateKeyPath, pair.private.endsWith("\n") ? pair.private : `${pair.private}\n`, { mode: 0o600, flag: "wx" });
      await writeFile(publicKeyPath, `${pair.public.trim()}\n`, { mode: 0o644 });
      await chmod(privateKeyPath, 0o600);
      await chmod(publicKeyPath, 0o644);
      const record: KeyRecord = {
        name,
        type: params.type,
        ...(params.bits !== undefined ? { bits: params.bits } : {}),
        ...(request.spec.comment ? { comment: request.spec.comment } : {}),
        privateKeyPath,
        publicKeyPath,
        createdAt: new Date().toISOString(),
        ...(deps.prefix !== undefined ? { prefix: deps.prefix } : {}),
        ...(deps.owner?.testID ? { testID: deps.owner.testID } : {}),
        ...(deps.owner?.stateDir ? { stateDir: deps.owner.stateDir } : {}),
      };
      await deps.records.write("keys", name, record);
      return stateOf(record);
    },
    async get(name) {
      const record = await present(await load(name));
      if (!record) throw notFound("key", name);
      return stateOf(record);
    },
    async list() {
      const states: KeyState[] = [];
      for (const name of await deps.records.names("keys")) {
        const record = await present(await deps.records.read<KeyRecord>("keys", name));
        // The records dir is shared by every environment on the host; another environment's key is not ours to list.
        if (record && (deps.prefix === undefined || record.prefix === deps.prefix)) states.push(await stateOf(record));
      }
      return states;
    },
    async delete(name, force) {
      const record = await load(name);
      if (!record) throw notFound("key", name);
      if (!force) {
        const users = await deps.vmsUsingKey(name);
        if (users.length > 0) throw busy("key", name, `VM ${users.join(", ")}`);
      }
      const hadFiles = (await pathExists(record.privateKeyPath)) || (await pathExists(record.publicKeyPath));
      await rm(record.privateKeyPath, { force: true });
      await rm(record.publicKeyPath, { force: true });
      await deps.records.remove("keys", name);
      if (!hadFiles) throw notFound("key", name);
    },
  };
}
