import type * as HandlebarsModule from "handlebars";
import { createRequire } from "node:module";
import { TestenvError, quoted, type Issue } from "../errors.js";
import { closestMatch } from "./suggest.js";

// Templates are written in Go syntax (`{{ .Keys.vm-ssh.PublicKey }}`, names may contain hyphens and dots)
// because that is what users of the original write. Each action is translated to a handlebars
// path (`{{[Keys].[vm-ssh].[PublicKey]}}`) and rendered on its own, so literal text never passes
// through handlebars (no escaping surprises) and every reference is checked before rendering.

export type TemplateCategory = "Keys" | "Networks" | "VMs" | "Images" | "Env" | "DefaultBaseImage";
export type ResourceCategory = "Keys" | "Networks" | "VMs" | "Images";

export interface TemplateRef {
  category: TemplateCategory;
  /** Resource name (Keys/Networks/VMs/Images) or variable name (Env). */
  name?: string;
  /** Field of the resource, e.g. PublicKey. */
  field?: string;
  /** The whole action as written, e.g. `{{ .Keys.vm-ssh.PublicKey }}`. */
  raw: string;
  /** Field path of the string that holds the reference. */
  path: string;
}

export const TEMPLATE_FIELDS: Record<ResourceCategory, readonly string[]> = {
  Keys: ["Name", "PublicKey", "PrivateKeyPath", "PublicKeyPath", "Fingerprint"],
  Networks: ["Name", "IP", "CIDR", "Gateway", "InterfaceName", "UUID"],
  VMs: ["Name", "IP", "MAC", "SSHCommand"],
  Images: ["Name", "Path"],
};

const RESOURCE_CATEGORIES = Object.keys(TEMPLATE_FIELDS) as ResourceCategory[];
const ALL_CATEGORIES: readonly TemplateCategory[] = [...RESOURCE_CATEGORIES, "Env", "DefaultBaseImage"];

/** What each resource category is called in messages. */
export const CATEGORY_NOUN: Record<ResourceCategory, string> = { Keys: "key", Networks: "network", VMs: "vm", Images: "image" };

export interface TemplateContext {
  Keys: Record<string, Record<string, string>>;
  Networks: Record<string, Record<string, string>>;
  VMs: Record<string, Record<string, string>>;
  /** Registered under the image name and under its alias. */
  Images: Record<string, Record<string, string>>;
  Env: Record<string, string>;
  DefaultBaseImage: string;
}

export function emptyTemplateContext(env: Record<string, string> = {}): TemplateContext {
  return { Keys: {}, Networks: {}, VMs: {}, Images: {}, Env: { ...env }, DefaultBaseImage: "" };
}

/** The variables a template may use, for documentation and error messages. */
export function templateVariables(): string[] {
  const perResource = RESOURCE_CATEGORIES.flatMap((category) =>
    TEMPLATE_FIELDS[category].map((field) => `{{ .${category}.<name>.${field} }}`),
  );
  return [...perResource, "{{ .Env.<NAME> }}", "{{ .DefaultBaseImage }}"];
}

export function hasTemplate(s: string): boolean {
  return s.includes("{{");
}

type Segment =
  | { kind: "text"; text: string }
  | { kind: "action"; raw: string; ref?: TemplateRef; literal?: string; problem?: string; trimLeft: boolean; trimRight: boolean };

// Quoted strings inside an action are consumed whole, so `{{ "}}" }}` is one action.
const ACTION = /\{\{((?:"(?:[^"\\]|\\.)*"|`[^`]*`|[^"`])*?)\}\}/g;
const PATH_EXPRESSION = /^\.[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$/;
const SUPPORTED =
  'only field references such as {{ .Keys.<name>.PublicKey }} or {{ .Env.<NAME> }} are supported; write literal braces as {{ "{{" }}';
const STRING_LITERAL = /^("(?:[^"\\]|\\.)*"|`[^`]*`)$/;

function parseAction(inner: string, raw: string, path: string): Pick<Extract<Segment, { kind: "action" }>, "ref" | "literal" | "problem"> {
  const expression = inner.trim();
  // A Go string constant renders as itself: the escape for literal braces, e.g. {{ "{{" }}.State{{ "}}" }}.
  if (STRING_LITERAL.test(expression)) {
    if (expression.startsWith("`")) return { literal: expression.slice(1, -1) };
    try {
      return { literal: JSON.parse(expression) as string };
    } catch {
      return { problem: `cannot read the string constant in ${raw}; use \\" and \\\\ escapes only` };
    }
  }
  if (!PATH_EXPRESSION.test(expression)) return { problem: `unsupported template expression ${raw}; ${SUPPORTED}` };
  const [category = "", ...rest] = expression.slice(1).split(".");
  if (!(ALL_CATEGORIES as readonly string[]).includes(category)) {
    const hint = closestMatch(category, ALL_CATEGORIES);
    const suggestion =
      hint === undefined
        ? `use one of ${ALL_CATEGORIES.map((c) => `.${c}`).join(", ")}, or write literal braces as {{ "{{" }}`
        : `did you mean .${hint}?`;
    return { problem: `unknown template variable .${category} in ${raw}; ${suggestion}` };
  }
  if (category === "DefaultBaseImage") {
    return rest.length === 0 ? { ref: { category, raw, path } } : { problem: `.DefaultBaseImage has no fields, in ${raw}` };
  }
  if (category === "Env") {
    return rest.length === 0
      ? { problem: `${raw} names no variable; write {{ .Env.<NAME> }}` }
      : { ref: { category, name: rest.join("."), raw, path } };
  }
  if (rest.length < 2) {
    const fields = TEMPLATE_FIELDS[category as ResourceCategory].join(", ");
    return { problem: `${raw} needs a resource name and a field, e.g. {{ .${category}.<name>.${TEMPLATE_FIELDS[category as ResourceCategory][0]} }} (fields: ${fields})` };
  }
  // Names may contain dots, so the field is the last segment and the name is everything before it.
  return { ref: { category: category as TemplateCategory, name: rest.slice(0, -1).join("."), field: rest.at(-1), raw, path } };
}

function splitTemplate(text: string, path: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const match of text.matchAll(ACTION)) {
    if (match.index > last) segments.push({ kind: "text", text: text.slice(last, match.index) });
    let inner = match[1] ?? "";
    // Go trim markers: `{{- ` and ` -}}` remove the whitespace next to the action.
    const trimLeft = /^-\s/.test(inner);
    const trimRight = /\s-$/.test(inner);
    inner = inner.slice(trimLeft ? 1 : 0, trimRight ? -1 : undefined);
    segments.push({ kind: "action", raw: match[0], trimLeft, trimRight, ...parseAction(inner, match[0], path) });
    last = match.index + match[0].length;
  }
  const tail = text.slice(last);
  if (tail.includes("{{")) {
    segments.push({ kind: "action", raw: tail, trimLeft: false, trimRight: false, problem: `unclosed template action in ${quoted(tail)}; close it with }}` });
  } else if (tail !== "") {
    segments.push({ kind: "text", text: tail });
  }
  return segments;
}

export function childPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  return base === "" ? key : `${base}.${key}`;
}

/** Calls `visit` for every string inside `value` (objects, arrays, maps), with its field path. */
function forEachString(value: unknown, path: string, visit: (text: string, path: string) => void): void {
  if (typeof value === "string") visit(value, path);
  else if (Array.isArray(value)) value.forEach((item, index) => forEachString(item, childPath(path, index), visit));
  else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) forEachString(item, childPath(path, key), visit);
  }
}

/** Every well-formed reference in every string of `value`. */
export function extractTemplateRefs(value: unknown, basePath = ""): TemplateRef[] {
  const refs: TemplateRef[] = [];
  forEachString(value, basePath, (text, path) => {
    if (!hasTemplate(text)) return;
    for (const segment of splitTemplate(text, path)) if (segment.kind === "action" && segment.ref) refs.push(segment.ref);
  });
  return refs;
}

/** Syntax problems (unknown variables, missing fields, unsupported expressions) in every string of `value`. */
export function findTemplateSyntaxIssues(value: unknown, basePath = ""): Issue[] {
  const issues: Issue[] = [];
  forEachString(value, basePath, (text, path) => {
    if (!hasTemplate(text)) return;
    for (const segment of splitTemplate(text, path)) {
      if (segment.kind === "action" && segment.problem !== undefined) issues.push({ field: path, message: segment.problem });
    }
  });
  return issues;
}

function describeRefTarget(ref: TemplateRef): string {
  if (ref.category === "Env") return `environment variable ${quoted(ref.name ?? "")}`;
  if (ref.category === "DefaultBaseImage") return "defaultBaseImage";
  return `${CATEGORY_NOUN[ref.category]} ${quoted(ref.name ?? "")}`;
}

function available(names: readonly string[], wanted: string): string {
  if (names.length === 0) return "none are available yet";
  const hint = closestMatch(wanted, names);
  return `${hint === undefined ? "" : `did you mean ${quoted(hint)}? `}available: ${names.join(", ")}`;
}

/** Why `ref` cannot be rendered from `context`, or undefined when it can. */
export function unresolvedReason(ref: TemplateRef, context: TemplateContext): string | undefined {
  if (ref.category === "DefaultBaseImage") {
    return context.DefaultBaseImage === "" ? "defaultBaseImage is not set in the spec" : undefined;
  }
  const name = ref.name ?? "";
  if (ref.category === "Env") {
    return Object.hasOwn(context.Env, name) ? undefined : `${describeRefTarget(ref)} is not set in the create input env (${available(Object.keys(context.Env), name)})`;
  }
  const entries = context[ref.category];
  const entry = Object.hasOwn(entries, name) ? entries[name] : undefined;
  if (entry === undefined) {
    return `${describeRefTarget(ref)} is not in the template context (${available(Object.keys(entries), name)}); a resource can only use resources created before it`;
  }
  const field = ref.field ?? "";
  if (!Object.hasOwn(entry, field) || entry[field] === undefined) {
    const fields = TEMPLATE_FIELDS[ref.category];
    const known = fields.includes(field) ? `the provider returned no ${field} for it` : `no field ${field}`;
    return `${describeRefTarget(ref)} has ${known} (${available(Object.keys(entry).length > 0 ? Object.keys(entry) : [...fields], field)})`;
  }
  return undefined;
}

// handlebars is CommonJS typed with `export =`, which this config cannot default-import.
const handlebars = (createRequire(import.meta.url)("handlebars") as typeof HandlebarsModule).create();
const compiled = new Map<string, HandlebarsTemplateDelegate>();

function handlebarsPath(ref: TemplateRef): string {
  const parts = [ref.category, ref.name, ref.field].filter((part): part is string => part !== undefined);
  return `{{${parts.map((part) => `[${part}]`).join(".")}}}`;
}

function renderRef(ref: TemplateRef, context: TemplateContext): string {
  const source = handlebarsPath(ref);
  const template = compiled.get(source) ?? handlebars.compile(source, { noEscape: true, strict: true });
  compiled.set(source, template);
  return template(context);
}

function templateError(path: string, raw: string, reason: string): TestenvError {
  const message = `cannot render ${raw} in ${path}: ${reason}`;
  return new TestenvError("TEMPLATE_ERROR", message, { issues: [{ field: path, message }], details: { field: path, reference: raw } });
}

export function renderString(text: string, context: TemplateContext, path: string): string {
  if (!hasTemplate(text)) return text;
  const segments = splitTemplate(text, path);
  const pieces: string[] = [];
  segments.forEach((segment, index) => {
    if (segment.kind === "text") {
      const previous = segments[index - 1];
      const next = segments[index + 1];
      let piece = segment.text;
      if (previous?.kind === "action" && previous.trimRight) piece = piece.trimStart();
      if (next?.kind === "action" && next.trimLeft) piece = piece.trimEnd();
      pieces.push(piece);
      return;
    }
    if (segment.literal !== undefined) {
      pieces.push(segment.literal);
      return;
    }
    if (segment.ref === undefined) throw templateError(path, segment.raw, segment.problem ?? SUPPORTED);
    const reason = unresolvedReason(segment.ref, context);
    if (reason !== undefined) throw templateError(path, segment.raw, reason);
    pieces.push(renderRef(segment.ref, context));
  });
  return pieces.join("");
}

/** A deep copy of `value` with every string rendered against `context`. Throws TEMPLATE_ERROR on any unresolved reference. */
export function renderTemplates<T>(value: T, context: TemplateContext, basePath = ""): T {
  const render = (item: unknown, path: string): unknown => {
    if (typeof item === "string") return renderString(item, context, path);
    if (Array.isArray(item)) return item.map((element, index) => render(element, childPath(path, index)));
    if (item !== null && typeof item === "object") {
      return Object.fromEntries(Object.entries(item).map(([key, element]) => [key, render(element, childPath(path, key))]));
    }
    return item;
  };
  return render(value, basePath) as T;
}
