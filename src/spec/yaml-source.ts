import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { TestenvError, formatIssues, type Issue } from "../errors.js";
import type { FieldPath } from "./paths.js";
import type { Locate } from "./zod-issues.js";

// A parsed YAML file that can tell where a field path sits in the source.

export interface YamlSource {
  value: unknown;
  locate: Locate;
}

function startOf(node: { range?: [number, number, number] | null } | null | undefined): number | undefined {
  return node?.range?.[0];
}

/** Position of the key (mapping entries) or item (list entries) at `path`; the nearest existing ancestor otherwise. */
function offsetOf(root: Node | null, path: FieldPath): number | undefined {
  let node: unknown = root;
  let offset = startOf(root);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair === undefined) return offset;
      offset = startOf(pair.key as Node) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as Node | undefined;
      if (item === undefined) return offset;
      offset = startOf(item) ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

export function parseYaml(text: string, sourcePath?: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const where = sourcePath ?? "the spec text";
  if (doc.errors.length > 0) {
    const issues: Issue[] = doc.errors.map((error) => {
      const position = error.linePos?.[0];
      const firstLine = error.message.split("\n")[0] ?? error.message;
      return { field: sourcePath ?? "spec", message: firstLine.replace(/ at line \d+, column \d+:?$/, ""), line: position?.line, col: position?.col };
    });
    throw new TestenvError("SPEC_INVALID", `${where} is not valid YAML (${issues.length} ${issues.length === 1 ? "problem" : "problems"}):\n${formatIssues(issues)}`, { issues });
  }
  const locate: Locate = (path) => {
    const offset = offsetOf(doc.contents, path);
    return offset === undefined ? undefined : lineCounter.linePos(offset);
  };
  return { value: doc.toJS({ maxAliasCount: 100 }) as unknown, locate };
}
