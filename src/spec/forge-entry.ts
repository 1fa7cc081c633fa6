import { TestenvError, quoted } from "../errors.js";
import type { FieldPath } from "./paths.js";

// Finds the testenv-vm spec inside a forge.yaml (or accepts a bare spec). Forge writes it either as
// `testenv: [{name, engine, spec}]` or as `engines: [{alias, type: testenv, testenv: [{engine, spec}]}]`.

export interface SpecEntry {
  /** Where the spec mapping sits in the document. */
  path: FieldPath;
  spec: unknown;
  /** Entry name (`testenv[].name`) or engine alias, when there is one. */
  name?: string;
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The orchestrator's engine, not one of its providers (`testenv-vm-provider-*`). */
export function isTestenvVmEngine(engine: unknown): boolean {
  return typeof engine === "string" && engine.includes("testenv-vm") && !engine.includes("testenv-vm-provider");
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function listEntries(doc: Mapping): SpecEntry[] {
  const entries: SpecEntry[] = [];
  const testenv = Array.isArray(doc.testenv) ? (doc.testenv as unknown[]) : [];
  testenv.forEach((entry, index) => {
    if (isMapping(entry) && isTestenvVmEngine(entry.engine)) {
      entries.push({ path: ["testenv", index, "spec"], spec: entry.spec, name: optionalString(entry.name) });
    }
  });
  const engines = Array.isArray(doc.engines) ? (doc.engines as unknown[]) : [];
  engines.forEach((engine, engineIndex) => {
    if (!isMapping(engine) || !Array.isArray(engine.testenv)) return;
    (engine.testenv as unknown[]).forEach((entry, index) => {
      if (isMapping(entry) && isTestenvVmEngine(entry.engine)) {
        entries.push({
          path: ["engines", engineIndex, "testenv", index, "spec"],
          spec: entry.spec,
          name: optionalString(engine.alias) ?? optionalString(entry.name),
        });
      }
    });
  });
  return entries;
}

/** A spec itself rather than a forge.yaml: it lists providers, or leaves the pick to the engine (pickProvider). */
function isBareSpec(doc: Record<string, unknown>): boolean {
  if ("providers" in doc) return true;
  return "pickProvider" in doc && !("testenv" in doc) && !("engines" in doc);
}

const entryNames = (entries: readonly SpecEntry[]): string => entries.map((entry) => entry.name ?? "(unnamed)").join(", ");

/** `nameOption` is how the caller's surface spells the entry choice: `--name` (CLI), `specName` (MCP). */
export function selectSpecEntry(doc: unknown, where: string, name?: string, nameOption = "--name"): SpecEntry {
  if (!isMapping(doc)) {
    throw new TestenvError("SPEC_INVALID", `${where} must be a mapping: a forge.yaml with a testenv entry or a spec with providers (or pickProvider) at the top`);
  }
  if (isBareSpec(doc)) return { path: [], spec: doc };
  const all = listEntries(doc);
  if (all.length === 0) {
    throw new TestenvError(
      "SPEC_NOT_FOUND",
      `${where} has no testenv-vm spec: expected top-level providers or pickProvider (a bare spec), or a testenv[] / engines[].testenv[] entry whose engine contains "testenv-vm"`,
    );
  }
  const matching = name === undefined ? all : all.filter((entry) => entry.name === name);
  if (matching.length === 0) {
    throw new TestenvError("SPEC_NOT_FOUND", `${where} has no testenv-vm entry named ${quoted(name ?? "")}; entries: ${entryNames(all)}`);
  }
  const [first, ...others] = matching;
  if (first === undefined || others.length > 0) {
    throw new TestenvError("SPEC_INVALID", `${where} has several testenv-vm entries (${entryNames(matching)}); pick one with ${nameOption}`);
  }
  if (!isMapping(first.spec)) {
    throw new TestenvError("SPEC_INVALID", `the testenv-vm entry ${first.name ?? ""} in ${where} has no spec mapping`.replace("  ", " "));
  }
  return first;
}
