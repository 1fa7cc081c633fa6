import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { ProviderError, invalidSpec } from "../kit/index.js";
import type { LibvirtHost } from "./host.js";

// Base images reach a remote host once: uploaded to its image cache under their SHA-256, checked there, and
// renamed into place only when the digest matches, so a half-copied file is never used. Later VMs (of any
// environment) on that host find the digest and upload nothing.

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export class RemoteImageCache {
  /** One placement per local file and version in this process, however many VMs ask at once. */
  private readonly placing = new Map<string, Promise<string>>();

  constructor(
    private readonly host: LibvirtHost,
    private readonly dir: string,
  ) {}

  /** The path on the host of a copy of the local base image `localPath`. */
  async place(localPath: string): Promise<string> {
    let info;
    try {
      info = await stat(localPath);
    } catch {
      throw invalidSpec(`spec.disk.baseImage: ${localPath} does not exist or is not readable here (it is uploaded to ${this.host.name} from this machine)`);
    }
    const key = `${localPath}\0${info.size}\0${info.mtimeMs}`;
    let placed = this.placing.get(key);
    if (!placed) {
      placed = this.upload(localPath);
      this.placing.set(key, placed);
      placed.catch(() => this.placing.delete(key));
    }
    return placed;
  }

  private async upload(localPath: string): Promise<string> {
    const digest = await sha256File(localPath);
    const target = join(this.dir, `sha256-${digest}${extname(localPath) || ".img"}`);
    if (await this.host.exists(target)) return target;
    await this.host.makeDir(this.dir);
    const partial = `${target}.partial-${randomBytes(6).toString("hex")}`;
    try {
      await this.host.upload(localPath, partial);
      const remoteDigest = (await this.host.run("sha256sum", ["--", partial], { timeoutMs: 10 * 60_000 })).stdout.split(/\s+/)[0];
      if (remoteDigest !== digest) {
        throw new ProviderError("PROVIDER_ERROR", `base image ${localPath} arrived damaged on ${this.host.name} (sha256 ${remoteDigest ?? "?"}, expected ${digest})`, { retryable: true });
      }
      await this.host.run("chmod", ["0644", "--", partial]);
      // Another process may have placed the same digest meanwhile: same bytes, so either copy wins.
      await this.host.run("mv", ["-f", "--", partial, target]);
    } catch (error) {
      await this.host.remove(partial).catch(() => undefined);
      throw error;
    }
    return target;
  }
}
