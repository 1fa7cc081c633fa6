import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../lib/package.js";

/** Every provider binary's name starts with this; the rest is the provider's name (stub, libvirt, podman, ...). */
export const PROVIDER_BIN_PREFIX = "testenv-vm-provider-";

let cached: Readonly<Record<string, string>> | undefined;

/**
 * The provider binaries this package ships, from its package.json `bin` entries named testenv-vm-provider-*:
 * bin name → script path relative to the package root. A new bundled provider needs only its bin entry.
 */
export function bundledProviderBins(): Readonly<Record<string, string>> {
  if (cached !== undefined) return cached;
  const bins: Record<string, string> = {};
  try {
    const manifest = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { bin?: unknown };
    if (manifest.bin && typeof manifest.bin === "object") {
      for (const [name, script] of Object.entries(manifest.bin as Record<string, unknown>)) {
        if (name.startsWith(PROVIDER_BIN_PREFIX) && typeof script === "string") bins[name] = script;
      }
    }
  } catch {
    // A package without a readable manifest ships no providers it could name.
  }
  cached = bins;
  return bins;
}

/** `testenv-vm-provider-stub` → `stub`. */
export function providerNameOfBin(bin: string): string {
  return bin.startsWith(PROVIDER_BIN_PREFIX) ? bin.slice(PROVIDER_BIN_PREFIX.length) : bin;
}
