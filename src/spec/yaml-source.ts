import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
import { TestenvError, formatIssues, type Issue } from "../errors.js";
import { FORBIDDEN_KEY, SPEC_LIMITS, forbiddenKeyIssue } from "./limits.js";
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

function invalidYaml(where: string, issues: Issue[]): TestenvError {
  return new TestenvError("SPEC_INVALID", `${where} is not valid YAML (${issues.length} ${issues.length === 1 ? "problem" : "problems"}):\n${formatIssues(issues)}`, { issues });
}

/** The parser gives up on very deep nesting with the engine's own stack message; say what it means instead. */
function parseErrorMessage(message: string): string {
  const firstLine = message.split("\n")[0] ?? message;
  if (/maximum call stack/i.test(firstLine)) return `the document is nested too deeply to read; the limit is ${SPEC_LIMITS.maxDepth} levels`;
  return firstLine.replace(/ at line \d+, column \d+:?$/, "");
}

/** `__proto__` keys would be swallowed by toJS (set as the prototype); refuse them where they are written. */
function forbiddenKeys(doc: Document, lineCounter: LineCounter, field: string): Issue[] {
  const issues: Issue[] = [];
  visit(doc, {
    Pair(_key, pair) {
      if (!isScalar(pair.key) || String(pair.key.value) !== FORBIDDEN_KEY) return;
      const offset = startOf(pair.key);
      const position = offset === undefined ? undefined : lineCounter.linePos(offset);
      issues.push({ ...forbiddenKeyIssue([]), field, ...(position === undefined ? {} : { line: position.line, col: position.col }) });
    },
  });
  return issues;
}

function toValue(doc: Document, field: string, where: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: SPEC_LIMITS.maxAliases }) as unknown;
  } catch (error) {
    // The yaml library throws ReferenceError for an unresolved alias and for an alias bomb.
    const message = error instanceof Error ? error.message : String(error);
    const text = /excessive alias count/i.test(message)
      ? `aliases expand to too many nodes (limit ${SPEC_LIMITS.maxAliases} aliases); write the values out or use fewer aliases`
      : parseErrorMessage(message);
    throw invalidYaml(where, [{ field, message: text }]);
  }
}

export function parseYaml(text: string, sourcePath?: string): YamlSource {
  const where = sourcePath ?? "the spec text";
  const field = sourcePath ?? "spec";
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > SPEC_LIMITS.maxSpecBytes) {
    throw invalidYaml(where, [{ field, message: `the spec is ${bytes} bytes; the limit is ${SPEC_LIMITS.maxSpecBytes}` }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues: Issue[] = doc.errors.map((error) => {
      const position = error.linePos?.[0];
      return { field, message: parseErrorMessage(error.message), line: position?.line, col: position?.col };
    });
    throw invalidYaml(where, issues);
  }
  const forbidden = forbiddenKeys(doc, lineCounter, field);
  if (forbidden.length > 0) throw invalidYaml(where, forbidden);
  const locate: Locate = (path) => {
    const offset = offsetOf(doc.contents, path);
    return offset === undefined ? undefined : lineCounter.linePos(offset);
  };
  return { value: toValue(doc, field, where), locate };
}
