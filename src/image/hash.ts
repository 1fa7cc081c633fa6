import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";

// Two large buffers used in turn: the next read (a copy out of the page cache, on libuv's thread pool)
// runs while this thread hashes the previous chunk, so reading costs almost nothing on top of SHA-256.
// Verification sits on the path of every `create`, on multi-GiB images.
const CHUNK_BYTES = 4 * 1024 * 1024;

/** Feeds a file's bytes into `hash`; returns how many bytes were read. */
export async function hashInto(hash: Hash, path: string, signal?: AbortSignal): Promise<number> {
  const file = await open(path, "r");
  try {
    const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)] as const;
    let total = 0;
    let turn = 0;
    let pending = file.read(buffers[0], 0, CHUNK_BYTES, null);
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) return total;
      signal?.throwIfAborted();
      turn ^= 1;
      pending = file.read(buffers[turn as 0 | 1], 0, CHUNK_BYTES, null);
      hash.update(buffer.subarray(0, bytesRead));
      total += bytesRead;
    }
  } finally {
    await file.close();
  }
}

export async function sha256File(path: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  const size = await hashInto(hash, path, signal);
  return { sha256: hash.digest("hex"), size };
}

export function sha256Text(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
