import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { existsSync } from "node:fs";
import { stringify } from "yaml";
import { VmManifest } from "../../api/vm-manifest.js";
import { TestenvError } from "../errors.js";
import { writeFileAtomic } from "../../lib/durable-file.js";
import { specInvalid } from "../spec/report.js";
import { parseYaml } from "../spec/yaml-source.js";
import { zodIssuesToIssues } from "../spec/zod-issues.js";

// The manifest file: vms.json or vms.yaml, found at ./manifests/vms.json, then ./vms.json (and their .yaml forms)
// unless --manifest names it.

export const DEFAULT_MANIFEST_PATHS = ["manifests/vms.json", "manifests/vms.yaml", "vms.json", "vms.yaml"] as const;

export interface LoadedManifest {
  /** Absolute path: domains record it, so prune knows which domains this manifest made. */
  path: string;
  manifest: VmManifest;
  /** The file as written (before defaults), so capture can keep the user's spelling. */
  raw: unknown;
}

export function findManifest(cwd: string, given: string | undefined): string {
  if (given !== undefined) return resolve(cwd, given);
  const found = DEFAULT_MANIFEST_PATHS.map((path) => resolve(cwd, path)).find((path) => existsSync(path));
  if (found === undefined) {
    throw new TestenvError("SPEC_NOT_FOUND", `no VM manifest: looked for ${DEFAULT_MANIFEST_PATHS.map((p) => `./${p}`).join(", ")}; create one (docs/vm-manifest.md) or pass --manifest <file>`);
  }
  return found;
}

/** Validates manifest text; every problem is reported at once with its field and line. */
export function parseManifestText(text: string, path: string): LoadedManifest {
  const source = parseYaml(text, path);
  const result = VmManifest.safeParse(source.value);
  if (!result.success) throw specInvalid(zodIssuesToIssues(VmManifest, result.error.issues, source.value, source.locate), `VM manifest ${path} is invalid`);
  return { path, manifest: result.data, raw: source.value };
}

export async function loadManifest(path: string): Promise<LoadedManifest> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TestenvError(code === "ENOENT" ? "SPEC_NOT_FOUND" : "INPUT_INVALID", `cannot read VM manifest ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseManifestText(text, path);
}

/** Writes the manifest back in its own format (YAML for .yaml/.yml, else JSON), atomically. */
export async function writeManifest(path: string, document: unknown): Promise<void> {
  const yaml = [".yaml", ".yml"].includes(extname(path).toLowerCase());
  await writeFileAtomic(path, yaml ? stringify(document, { lineWidth: 0 }) : `${JSON.stringify(document, null, 2)}\n`, { mode: 0o644 });
}
