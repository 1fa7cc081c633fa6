import { stringify } from "yaml";
import { z } from "zod";
import * as specSchemas from "../../api/spec.js";
import { WELL_KNOWN_IMAGES } from "./images.js";
import { templateVariables } from "./template.js";

// spec.openapi.yaml and docs/schema.md are generated from the zod schemas in api/spec.ts (the single
// source of truth) by `npm run generate`; a unit test fails when the committed files drift.

type JsonSchema = Record<string, unknown>;

const ROOT = "Spec";
const REF_PREFIX = "#/components/schemas/";

/** Every schema exported by api/spec.ts, named by its export name, reachable from Spec. */
export function specComponents(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [name, value] of Object.entries(specSchemas)) {
    if (value instanceof z.ZodType) registry.add(value, { id: name });
  }
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `${REF_PREFIX}${id}` }) as { schemas: Record<string, JsonSchema> };
  const reachable: Record<string, JsonSchema> = {};
  const queue = [ROOT];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const schema = schemas[name];
    if (schema === undefined || name in reachable) continue;
    const { $schema: _schema, $id: _id, ...rest } = schema;
    reachable[name] = rest;
    for (const match of JSON.stringify(rest).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) queue.push(match[1] ?? "");
  }
  return reachable;
}

export function renderOpenApi(): string {
  const document = {
    openapi: "3.1.0",
    info: {
      title: "testenv-vm spec",
      version: "1",
      description: "The spec of a testenv-vm environment (forge.yaml testenv[].spec). Generated from api/spec.ts.",
    },
    paths: {},
    components: { schemas: specComponents() },
  };
  return `# Generated from api/spec.ts by \`npm run generate\`. Do not edit.\n${stringify(document, { lineWidth: 0 })}`;
}

// ---- Markdown -------------------------------------------------------------------------------------

interface Section {
  title: string;
  schema: JsonSchema;
}

const anchor = (title: string): string => title.toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-");
const link = (title: string): string => `[${title}](#${anchor(title)})`;
const cell = (text: string): string =>
  text.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\n+/g, " ");

function isObjectSchema(schema: JsonSchema): boolean {
  return schema.type === "object" && typeof schema.properties === "object";
}

function describeNumber(schema: JsonSchema): string {
  const base = schema.type === "integer" ? "integer" : "number";
  const min = typeof schema.minimum === "number" ? schema.minimum : undefined;
  const max = typeof schema.maximum === "number" && schema.maximum < Number.MAX_SAFE_INTEGER ? schema.maximum : undefined;
  if (schema.exclusiveMinimum === 0 && max === undefined) return `${base} > 0`;
  if (min !== undefined && max !== undefined) return `${base} ${min}–${max}`;
  return base;
}

interface MarkdownContext {
  components: Record<string, JsonSchema>;
  /** Sections still to render; nested anonymous objects are appended as they are found. */
  queue: Section[];
}

/** A readable type: objects link to their section, scalar components (enums, Duration) are inlined. */
function typeOf(schema: JsonSchema, title: string, context: MarkdownContext): string {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.slice(REF_PREFIX.length);
    const target = context.components[name];
    return target === undefined || isObjectSchema(target) ? link(name) : typeOf(target, title, context);
  }
  if (Array.isArray(schema.anyOf)) {
    return (schema.anyOf as JsonSchema[]).map((option) => typeOf(option, title, context)).join(" or ");
  }
  if (Array.isArray(schema.enum)) return `one of: ${schema.enum.map((value) => `\`${String(value)}\``).join(", ")}`;
  if (schema.type === "null") return "null";
  if (schema.type === "array") return `list of ${typeOf((schema.items ?? {}) as JsonSchema, title, context)}`;
  if (schema.type === "integer" || schema.type === "number") return describeNumber(schema);
  if (isObjectSchema(schema)) {
    context.queue.push({ title, schema });
    return link(title);
  }
  if (schema.type === "object") return "map (free-form)";
  return typeof schema.type === "string" ? schema.type : "any";
}

/** The field's own description, else the description of the component it refers to. */
function descriptionOf(schema: JsonSchema, components: Record<string, JsonSchema>): string {
  if (typeof schema.description === "string") return schema.description;
  const options = Array.isArray(schema.anyOf) ? (schema.anyOf as JsonSchema[]) : [schema];
  for (const option of options) {
    if (typeof option.description === "string") return option.description;
    const target = typeof option.$ref === "string" ? components[option.$ref.slice(REF_PREFIX.length)] : undefined;
    if (typeof target?.description === "string") return target.description;
  }
  return "";
}

function renderSection(section: Section, context: MarkdownContext): string {
  const properties = section.schema.properties as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(section.schema.required) ? (section.schema.required as string[]) : []);
  const rows = Object.entries(properties).map(([field, schema]) => {
    const type = typeOf(schema, `${section.title}.${field}`, context);
    return `| \`${field}\` | ${cell(type)} | ${required.has(field) ? "yes" : "no"} | ${cell(descriptionOf(schema, context.components))} |`;
  });
  const intro = typeof section.schema.description === "string" ? `${section.schema.description}\n\n` : "";
  return `### ${section.title}\n\n${intro}| field | type | required | description |\n| --- | --- | --- | --- |\n${rows.join("\n")}\n`;
}

/** A small spec used in docs/schema.md (and checked by a unit test to stay valid). */
export const SCHEMA_EXAMPLE = `testenv:
  - name: vms
    engine: testenv-vm
    spec:
      providers:
        - name: libvirt
          engine: testenv-vm-provider-libvirt
      images:
        - name: ubuntu
          spec: { source: "ubuntu:24.04", alias: base-image }
      keys:
        - name: vm-ssh
          spec: { type: ed25519 }
      networks:
        - name: test-net
          kind: nat
          spec:
            cidr: 192.168.100.1/24   # the third octet is per environment: read the real address from TESTENV_VM_TEST_VM_IP
            dhcp: { rangeStart: 192.168.100.10, rangeEnd: 192.168.100.100 }
      vms:
        - name: test-vm
          spec:
            memory: 1024
            vcpus: 1
            networks: [test-net]
            disk: { baseImage: base-image, size: 10G }
            cloudInit:
              users:
                - name: ubuntu
                  sudo: "ALL=(ALL) NOPASSWD:ALL"
                  sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"]
            readiness:
              ssh: { enabled: true, timeout: 3m, privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}" }
`;

export function renderSchemaMarkdown(): string {
  const components = specComponents();
  const queue: Section[] = Object.entries(components)
    .filter(([, schema]) => isObjectSchema(schema))
    .map(([title, schema]) => ({ title, schema }));
  const context: MarkdownContext = { components, queue };
  const rendered: string[] = [];
  for (let index = 0; index < queue.length; index++) {
    const section = queue[index];
    if (section !== undefined) rendered.push(renderSection(section, context));
  }
  const variables = templateVariables().map((variable) => `- \`${variable}\``).join("\n");
  const images = WELL_KNOWN_IMAGES.map((image) => `- \`${image.ref}\`: ${image.description}`).join("\n");
  return `<!-- Generated from api/spec.ts by \`npm run generate\`. Do not edit. -->
# testenv-vm spec reference

The spec sits under a \`testenv\` entry of \`forge.yaml\` whose engine is testenv-vm (or is a file with
\`providers\` at the top). Unknown fields are errors. Every problem is reported at once, with its field
path and line.

## Example

\`\`\`yaml
${SCHEMA_EXAMPLE}\`\`\`

## Templates

Strings may reference resources created earlier, in Go template syntax; names may contain hyphens
(\`{{ .Keys.vm-ssh.PublicKey }}\`). A reference to something that does not exist is an error, never an
empty string. References also order creation: a VM that uses a key is created after it.

${variables}

\`.Env\` is the \`env\` of the create input (what earlier Forge engines exported). Images are also
available under their alias.

## Well-known images

${images}

## Objects

${rendered.join("\n")}`;
}
