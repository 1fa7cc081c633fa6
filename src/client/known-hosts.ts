import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { readTextIfExists, writeJsonAtomic } from "../../lib/durable-file.js";
import { withFileLock } from "../../lib/file-lock.js";
import { TestenvError } from "../errors.js";
import { HostKeyMismatchError, type SshEndpoint } from "./errors.js";

// Trust on first use, per environment. The original accepted any host key (InsecureIgnoreHostKey). Here the first
// key seen at an ip:port is recorded; a different key at the same ip:port later is refused, whichever VM claims it,
// because a reused address with a new key is exactly the case where a test would talk to the wrong machine.
// Entries of a VM are forgotten when the library deletes that VM, so a runtime VM recreated on the same address works.
// Several test workers share the file, hence the cross-process lock around every read-modify-write.

export interface KnownHostEntry {
  vm: string;
  keyType: string;
  fingerprint: string;
  /** The host key blob, base64 (the middle field of an OpenSSH known_hosts line). */
  publicKey: string;
  firstSeen: string;
}

interface KnownHostsFile {
  version: 1;
  /** Keyed by `host:port`. */
  hosts: Record<string, KnownHostEntry>;
}

/** OpenSSH's fingerprint format: SHA256:<unpadded base64>. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type is the first length-prefixed string of an SSH public key blob (RFC 4253 §6.6). */
export function hostKeyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return "unknown";
  const length = keyBlob.readUInt32BE(0);
  if (length > keyBlob.length - 4 || length > 64) return "unknown";
  return keyBlob.subarray(4, 4 + length).toString("latin1");
}

const endpointKey = (host: string, port: number): string => `${host}:${port}`;

export class KnownHostsStore {
  constructor(readonly path: string) {}

  /**
   * Accepts the key when it matches the recorded one or when none is recorded (recording it); otherwise throws
   * HostKeyMismatchError naming both fingerprints.
   */
  async verify(endpoint: SshEndpoint, keyBlob: Buffer): Promise<"known" | "recorded"> {
    const fingerprint = hostKeyFingerprint(keyBlob);
    return this.update((file) => {
      const key = endpointKey(endpoint.host, endpoint.port);
      const existing = file.hosts[key];
      if (existing) {
        if (existing.fingerprint === fingerprint) return { result: "known", changed: false };
        throw new HostKeyMismatchError(endpoint, existing, fingerprint, this.path);
      }
      file.hosts[key] = {
        vm: endpoint.vm,
        keyType: hostKeyType(keyBlob),
        fingerprint,
        publicKey: keyBlob.toString("base64"),
        firstSeen: new Date().toISOString(),
      };
      return { result: "recorded", changed: true };
    });
  }

  /** Drops every entry recorded for a VM (called when the library deletes that VM). */
  async forgetVm(vm: string): Promise<number> {
    return this.update((file) => {
      const keys = Object.keys(file.hosts).filter((k) => file.hosts[k]?.vm === vm);
      for (const k of keys) delete file.hosts[k];
      return { result: keys.length, changed: keys.length > 0 };
    });
  }

  async entries(): Promise<Record<string, KnownHostEntry>> {
    return (await this.read()).hosts;
  }

  private async update<T>(change: (file: KnownHostsFile) => { result: T; changed: boolean }): Promise<T> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const busy = () =>
      new TestenvError("STATE_LOCKED", `known hosts file ${this.path} stayed locked by another process for 30 s; retry`, {
        retryable: true,
        details: { path: this.path },
      });
    return withFileLock(this.path, { waitMs: 30_000, busy }, async () => {
      const file = await this.read();
      const { result, changed } = change(file);
      if (changed) await this.write(file);
      return result;
    });
  }

  private async read(): Promise<KnownHostsFile> {
    const text = await readTextIfExists(this.path);
    if (text === undefined) return { version: 1, hosts: {} };
    try {
      const parsed = JSON.parse(text) as Partial<KnownHostsFile>;
      if (typeof parsed.hosts !== "object" || parsed.hosts === null) throw new Error("no 'hosts' object");
      return { version: 1, hosts: parsed.hosts };
    } catch (error) {
      throw new TestenvError(
        "STATE_CORRUPT",
        `known hosts file ${this.path} is not valid JSON of the expected shape (${error instanceof Error ? error.message : String(error)}); fix or delete it`,
        { cause: error, details: { path: this.path } },
      );
    }
  }

  private async write(file: KnownHostsFile): Promise<void> {
    await writeJsonAtomic(this.path, file, { mode: 0o600 });
  }
}
