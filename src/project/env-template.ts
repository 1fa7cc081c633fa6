import { PROJECT_ENV_KEYS, ProjectEnv, REQUIRED_PROJECT_ENV_KEYS } from "../../api/project-env.js";

// What `testenv-vm init` writes, and the reference table of docs/project-folder.md: both come from the schema.

const EXAMPLES: Partial<Record<keyof ProjectEnv, string>> = {
  INFRA_TYPE: "vm",
  MEMORY: "2048",
  CPUS: "2",
  DISK: "20",
  PORTS: "8080:80",
  PROVISION_SCRIPT: "provision.sh",
  FIXED_IP: "192.168.122.50",
  IMAGE: "debian:12",
  SSH_USER: "dev",
  CLOUD_CONFIG: "cloud-config.yaml",
};

function describe(key: keyof ProjectEnv): string {
  return ProjectEnv.shape[key].description ?? "";
}

function defaultOf(key: keyof ProjectEnv): string | undefined {
  const parsed = ProjectEnv.shape[key].safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return undefined;
  return Array.isArray(parsed.data) ? (parsed.data.length === 0 ? "(none)" : JSON.stringify(parsed.data)) : String(parsed.data);
}

const isRequired = (key: keyof ProjectEnv): boolean => (REQUIRED_PROJECT_ENV_KEYS as readonly string[]).includes(key);

/** A commented `.env`: the required keys set, every optional key commented out with its default. */
export function envTemplate(): string {
  const lines = ["# testenv-vm project folder: `testenv-vm up` reads this file. Reference: docs/project-folder.md", ""];
  for (const key of PROJECT_ENV_KEYS) {
    lines.push(`# ${describe(key)}`);
    const fallback = defaultOf(key);
    if (isRequired(key)) lines.push(`${key}=${EXAMPLES[key] ?? ""}`);
    else lines.push(`# ${key}=${fallback !== undefined && fallback !== "(none)" ? fallback : (EXAMPLES[key] ?? "")}`);
    lines.push("");
  }
  return lines.join("\n");
}

/** The Markdown reference table of every key. */
export function envReferenceTable(): string {
  const rows = PROJECT_ENV_KEYS.map((key) => {
    const fallback = defaultOf(key);
    const cell = isRequired(key) ? "required" : fallback === undefined ? "—" : `\`${fallback}\``;
    return `| \`${key}\` | ${cell} | ${describe(key).replace(/\|/g, "\\|")} |`;
  });
  return ["| key | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

const START = /<!-- env-reference:start[^>]*-->/;
const END = "<!-- env-reference:end -->";

/** `markdown` with the table between its env-reference markers replaced by the current one. */
export function withEnvReference(markdown: string): string {
  const start = START.exec(markdown);
  const end = markdown.indexOf(END);
  if (start === null || end < start.index) throw new Error("docs/project-folder.md has no env-reference markers");
  const head = markdown.slice(0, start.index + start[0].length);
  return `${head}\n${envReferenceTable()}\n${markdown.slice(end)}`;
}
