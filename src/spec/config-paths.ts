import { resolve } from "node:path";
import { PATH_KEYWORD } from "../../api/config-schema.js";
import { creatableProblem } from "../../lib/path-kind.js";
import type { Issue } from "../errors.js";
import { formatPath, type FieldPath } from "./paths.js";
import { hasTemplate } from "./template.js";
import type { Locate } from "./zod-issues.js";

// A provider's config may name a path the provider makes when it starts (the stub's store, libvirt's dataDir). One
// under a regular file passes every schema and fails the create; the JSON Schema marks such fields
// (`"x-testenv-path": "creates"`), so validate can check them, for bundled and published schemas alike, making nothing.

type Node = Record<string, unknown>;

/** Past this many nested schema steps (a published schema's $ref loop) the walk stops. */
const MAX_DEPTH = 64;

export interface CreatedPath {
  /** Where the value sits inside the config. */
  path: FieldPath;
  value: string;
}

const isNode = (value: unknown): value is Node => value !== null && typeof value === "object" && !Array.isArray(value);

/** The schema a local `$ref` (`#`, `#/$defs/x`, `#/definitions/x`) points at; undefined for any other. */
function referenced(ref: string, root: Node): Node | undefined {
  if (ref === "#") return root;
  const match = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
  if (match === null) return undefined;
  const defs = root[match[1] ?? ""];
  const target = isNode(defs) ? defs[(match[2] ?? "").replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
  return isNode(target) ? target : undefined;
}

function walk(node: unknown, value: unknown, path: FieldPath, root: Node, depth: number, found: Map<string, CreatedPath>): void {
  if (!isNode(node) || depth > MAX_DEPTH || value === undefined) return;
  if (typeof node.$ref === "string") walk(referenced(node.$ref, root), value, path, root, depth + 1, found);
  for (const keyword of ["anyOf", "oneOf", "allOf"]) {
    const branches = node[keyword];
    if (Array.isArray(branches)) for (const branch of branches) walk(branch, value, path, root, depth + 1, found);
  }
  if (node[PATH_KEYWORD] === "creates" && typeof value === "string") found.set(formatPath(path), { path, value });
  if (Array.isArray(value)) {
    const items = node.items;
    const prefix = Array.isArray(node.prefixItems) ? (node.prefixItems as unknown[]) : [];
    value.forEach((item, index) => walk(index < prefix.length ? prefix[index] : items, item, [...path, index], root, depth + 1, found));
  } else if (isNode(value)) {
    const properties = isNode(node.properties) ? node.properties : {};
    for (const [key, item] of Object.entries(value)) {
      walk(Object.hasOwn(properties, key) ? properties[key] : node.additionalProperties, item, [...path, key], root, depth + 1, found);
    }
  }
}

/** Every string in `config` whose JSON Schema field is marked as a path the provider creates. */
export function createdPaths(jsonSchema: Readonly<Record<string, unknown>>, config: unknown): CreatedPath[] {
  const found = new Map<string, CreatedPath>();
  walk(jsonSchema, config, [], jsonSchema, 0, found);
  return [...found.values()];
}

/**
 * One issue per marked path in a provider's config that could not be made: an existing ancestor of it is not a
 * directory. Relative paths resolve against `rootDir`, the provider's working directory; templated ones are left
 * alone (they are rendered later). Reads the file system, changes nothing.
 */
export function createdPathIssues(
  jsonSchema: Readonly<Record<string, unknown>>,
  config: unknown,
  rootDir: string,
  at: FieldPath,
  locate?: Locate,
): Issue[] {
  return createdPaths(jsonSchema, config).flatMap(({ path, value }) => {
    if (hasTemplate(value)) return [];
    const problem = creatableProblem(resolve(rootDir, value));
    if (problem === undefined) return [];
    const full = [...at, ...path];
    const field = path.filter((segment) => typeof segment === "string").at(-1) ?? "the path";
    const issue: Issue = { field: formatPath(full), message: `${field} cannot be created: ${problem}; point ${field} at a path under a directory, or move that file away` };
    const position = locate?.(full);
    return [position === undefined ? issue : { ...issue, line: position.line, col: position.col }];
  });
}
