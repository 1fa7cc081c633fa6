import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSsh2 } from "../../lib/ssh2.js";
import { KeyType } from "../../api/spec.js";
import type { KeyCreateRequest, KeyState } from "../../api/provider.js";
import { invalidSpec, usableKeyPair } from "../kit/index.js";

const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface KeyPlan {
  state: KeyState;
  /** Private and public key text to write, when the stub makes real key files. */
  files?: { privateKey: string; publicKey: string };
}

export function normalizeKeyType(type: string): KeyType {
  const parsed = KeyType.safeParse(type.toLowerCase());
  if (!parsed.success) throw invalidSpec(`spec.type: unsupported key type "${type}"; use ed25519, rsa or ecdsa`);
  return parsed.data;
}

function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The state of a key, with fake but well-formed material, or a real key pair when `real` is set. */
export async function planKey(request: KeyCreateRequest, defaultOutputDir: string, real: boolean): Promise<KeyPlan> {
  if (!SAFE_FILE_NAME.test(request.name)) {
    throw invalidSpec(`name: "${request.name}" cannot be a key file name; use letters, digits, '.', '_' and '-'`);
  }
  const type = normalizeKeyType(request.spec.type);
  const outputDir = request.spec.outputDir ?? defaultOutputDir;
  const comment = request.spec.comment ?? request.name;
  const base = {
    name: request.name,
    type,
    publicKeyPath: join(outputDir, `${request.name}.pub`),
    privateKeyPath: join(outputDir, request.name),
    createdAt: new Date().toISOString(),
  };
  if (!real) {
    const blob = Buffer.from(request.name, "utf8");
    return {
      state: {
        ...base,
        publicKey: `ssh-${type} AAAA${blob.toString("base64")} ${comment}`,
        fingerprint: fingerprintOf(blob),
        providerState: { outputDir, filesWritten: false },
      },
    };
  }
  const pair = await generate(type, request.spec.bits, comment);
  const blob = Buffer.from(pair.public.split(" ")[1] ?? "", "base64");
  return {
    state: { ...base, publicKey: pair.public.trim(), fingerprint: fingerprintOf(blob), providerState: { outputDir, filesWritten: true } },
    files: { privateKey: pair.private, publicKey: `${pair.public.trim()}\n` },
  };
}

async function generate(type: KeyType, bits: number | undefined, comment: string): Promise<{ private: string; public: string }> {
  const ssh2 = await loadSsh2();
  if (type === "rsa") {
    const size = bits ?? 4096;
    if (size < 2048 || size > 8192) throw invalidSpec(`spec.bits: rsa keys need 2048-8192 bits, got ${size}`);
    return usableKeyPair(() => ssh2.utils.generateKeyPairSync("rsa", { bits: size, comment }), type);
  }
  if (type === "ecdsa") {
    const size = bits ?? 256;
    if (size !== 256 && size !== 384 && size !== 521) throw invalidSpec(`spec.bits: ecdsa keys are 256, 384 or 521 bits, got ${size}`);
    return usableKeyPair(() => ssh2.utils.generateKeyPairSync("ecdsa", { bits: size, comment }), type);
  }
  return usableKeyPair(() => ssh2.utils.generateKeyPairSync("ed25519", { comment }), type);
}

export function writeKeyFiles(state: KeyState, files: { privateKey: string; publicKey: string }): void {
  const outputDir = (state.providerState?.outputDir as string | undefined) ?? "";
  mkdirSync(outputDir, { recursive: true, mode: 0o700 });
  writeFileSync(state.privateKeyPath, files.privateKey, { mode: 0o600 });
  writeFileSync(state.publicKeyPath, files.publicKey, { mode: 0o644 });
  // mode only applies to new files; a leftover from a crashed run keeps its old mode otherwise.
  chmodSync(state.privateKeyPath, 0o600);
  chmodSync(state.publicKeyPath, 0o644);
}

export function removeKeyFiles(state: KeyState): void {
  if (state.providerState?.filesWritten !== true) return;
  rmSync(state.privateKeyPath, { force: true });
  rmSync(state.publicKeyPath, { force: true });
}
