import { CATEGORY_NOUN, TEMPLATE_FIELDS, type ResourceCategory, type TemplateContext } from "../spec/template.js";

// Values that exist only once a resource is created (a VM's IP, a key's public key) are shown in a plan as stable
// placeholders; the same words in every plan, so plans stay byte-identical.

export function placeholder(kind: string, name: string, field: string): string {
  return `(known after create: ${kind}.${name}.${field})`;
}

/** PublicKey → publicKey, IP → ip, SSHCommand → sshCommand: the state field the value comes from. */
const lowerFirst = (field: string): string => field.replace(/^[A-Z]+(?=[A-Z][a-z])|^[A-Z]+$|^[A-Z]/, (head) => head.toLowerCase());

/** A template entry for a resource not created yet: its name is known, everything else is a placeholder. */
export function placeholderEntry(category: ResourceCategory, name: string, knownName: string): Record<string, string> {
  const entry: Record<string, string> = {};
  for (const field of TEMPLATE_FIELDS[category]) {
    entry[field] = field === "Name" ? knownName : placeholder(CATEGORY_NOUN[category], name, lowerFirst(field));
  }
  return entry;
}

/** Adds a placeholder entry to `context` unless the resource is there already (it exists). */
export function addPlaceholder(context: TemplateContext, category: ResourceCategory, name: string, knownName: string): void {
  const group = context[category];
  if (group[name] === undefined) group[name] = placeholderEntry(category, name, knownName);
}

export const isPlaceholder = (value: string): boolean => value.startsWith("(known after create: ");
