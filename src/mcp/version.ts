import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/**
 * The version in this package's package.json. Walks up from this module because the same code runs
 * from src/ (tests) and from dist/src/ (the installed bin).
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (manifest.name === "testenv-vm" && typeof manifest.version === "string") {
        cached = manifest.version;
        return cached;
      }
    } catch {
      // No package.json at this level: keep walking up.
    }
    dir = dirname(dir);
  }
  cached = "dev";
  return cached;
}
