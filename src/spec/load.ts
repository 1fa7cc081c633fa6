import { readFile } from "node:fs/promises";
import { Spec } from "../../api/spec.js";
import { TestenvError } from "../errors.js";
import { selectSpecEntry } from "./forge-entry.js";
import { rawSpecIssues } from "./limits.js";
import { dropOptionalNulls } from "./nulls.js";
import type { FieldPath } from "./paths.js";
import { specInvalid } from "./report.js";
import { hasTemplate } from "./template.js";
import { parseYaml } from "./yaml-source.js";
import { zodIssuesToIssues, type Locate } from "./zod-issues.js";

export interface LoadedSpec {
  spec: Spec;
  /** The spec mapping as written, before zod parsing. */
  raw: unknown;
  sourcePath?: string;
  /** 1-based position of a spec field (path relative to the spec) in the source file. */
  locate: (path: readonly (string | number)[]) => { line: number; col: number } | undefined;
}

export interface LoadOptions {
  /** Picks a testenv entry (entry name or engine alias) when a forge.yaml holds several. */
  name?: string;
  /** How the caller names that option in messages (default `--name`; MCP: `specName`). */
  nameOption?: string;
}

/** Key types are case-insensitive; providers get the canonical lower-case form. */
function normalizeKeyTypes(spec: Spec): Spec {
  for (const key of spec.keys ?? []) if (!hasTemplate(key.spec.type)) key.spec.type = key.spec.type.toLowerCase();
  return spec;
}

/** An empty `providers:` is a list left unfinished, not a choice left to the engine (that is leaving the key out). */
function keepEmptyProviders(raw: unknown, withoutNulls: unknown): unknown {
  const emptied = raw !== null && typeof raw === "object" && (raw as Record<string, unknown>).providers === null;
  return emptied ? { ...(withoutNulls as Record<string, unknown>), providers: null } : withoutNulls;
}

/** Validates the shape of a spec with zod, reporting every problem at once. */
export function parseSpec(raw: unknown, locate?: LoadedSpec["locate"]): Spec {
  const tooBig = rawSpecIssues(raw);
  if (tooBig.length > 0) throw specInvalid(tooBig);
  const result = Spec.safeParse(keepEmptyProviders(raw, dropOptionalNulls(Spec, raw)));
  if (result.success) return normalizeKeyTypes(result.data);
  throw specInvalid(zodIssuesToIssues(Spec, result.error.issues, raw, locate));
}

export function parseSpecText(text: string, options: LoadOptions & { sourcePath?: string } = {}): LoadedSpec {
  const source = parseYaml(text, options.sourcePath);
  const entry = selectSpecEntry(source.value, options.sourcePath ?? "the spec text", options.name, options.nameOption);
  const locate: Locate = (path: FieldPath) => source.locate([...entry.path, ...path]);
  return { spec: parseSpec(entry.spec, locate), raw: entry.spec, sourcePath: options.sourcePath, locate };
}

export { specInvalid };

export async function loadSpecFile(path: string, options: LoadOptions = {}): Promise<LoadedSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new TestenvError("SPEC_NOT_FOUND", `spec file ${path} does not exist; pass the path of a forge.yaml or spec file`, { cause: error });
    throw new TestenvError("SPEC_NOT_FOUND", `cannot read spec file ${path} (${code ?? "error"}); check the path and its permissions`, { cause: error });
  }
  return parseSpecText(text, { ...options, sourcePath: path });
}
