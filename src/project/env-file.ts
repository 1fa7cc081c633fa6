import { parse as parseDotenv } from "dotenv";
import { PROJECT_ENV_KEYS, ProjectEnv, REQUIRED_PROJECT_ENV_KEYS } from "../../api/project-env.js";
import { TestenvError, type Issue } from "../errors.js";
import { suggestionSuffix } from "../spec/suggest.js";

// Reads a project folder's `.env`: dotenv parses the syntax (comments, quotes, `export`), this module checks what
// dotenv would silently skip (lines that are not KEY=value, repeated keys), then the schema, and reports every
// problem at once with the key, its line and the fix.

export const ENV_FILE = ".env";

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=(.*)$/;
const OPENING_QUOTE = /^\s*(["'`])/;

interface ScannedLines {
  /** The line on which each key is (last) assigned. */
  lineOf: Map<string, number>;
  issues: Issue[];
}

/** Line positions of the assignments, and the lines dotenv would drop without a word. */
function scanLines(text: string): ScannedLines {
  const lineOf = new Map<string, number>();
  const issues: Issue[] = [];
  let openQuote: string | undefined;
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    const number = index + 1;
    if (openQuote !== undefined) {
      // Inside a multi-line quoted value: only its closing quote matters.
      if (line.includes(openQuote)) openQuote = undefined;
      continue;
    }
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const match = ASSIGNMENT.exec(line);
    const key = match?.[1];
    if (match === null || key === undefined) {
      issues.push({ field: ENV_FILE, line: number, col: 1, message: `line ${number} is not KEY=value: ${JSON.stringify(line.trim().slice(0, 60))}` });
      continue;
    }
    if (lineOf.has(key)) {
      issues.push({ field: key, line: number, col: 1, message: `${key} is set twice (lines ${lineOf.get(key)} and ${number}); keep one` });
    }
    lineOf.set(key, number);
    const quote = OPENING_QUOTE.exec(match[2] ?? "")?.[1];
    if (quote !== undefined && !(match[2] ?? "").trim().slice(1).includes(quote)) openQuote = quote;
  }
  return { lineOf, issues };
}

const located = (lineOf: Map<string, number>, key: string, message: string): Issue => {
  const line = lineOf.get(key);
  return line === undefined ? { field: key, message } : { field: key, message, line, col: 1 };
};

/** Problems between keys: settings that only make sense together. */
function crossFieldIssues(env: ProjectEnv, given: Record<string, string>, lineOf: Map<string, number>): Issue[] {
  const issues: Issue[] = [];
  const isUrl = /^https?:\/\//i.test(env.IMAGE);
  if (isUrl && !env.IMAGE.toLowerCase().startsWith("https://")) {
    issues.push(located(lineOf, "IMAGE", "must be https:// (a plain http download cannot be trusted); use https or a local path"));
  }
  if (isUrl && env.IMAGE_SHA256 === undefined) {
    issues.push(located(lineOf, "IMAGE_SHA256", "is required when IMAGE is a URL: set it to the image's SHA-256 (sha256sum <file>)"));
  }
  if (!isUrl && env.IMAGE_SHA256 !== undefined) {
    issues.push(located(lineOf, "IMAGE_SHA256", "is only used with an https IMAGE; remove it, or set IMAGE to the URL it checks"));
  }
  if (env.NETWORK_TYPE !== "bridge" && given.BRIDGE !== undefined) {
    issues.push(located(lineOf, "BRIDGE", "is only used with NETWORK_TYPE=bridge; set NETWORK_TYPE=bridge or remove BRIDGE"));
  }
  const prefixed = env.FIXED_IP?.includes("/") === true;
  if (env.NETWORK_TYPE === "bridge" && env.FIXED_IP !== undefined) {
    if (!prefixed) issues.push(located(lineOf, "FIXED_IP", "needs its prefix on a bridge, such as 192.168.1.50/24: the guest configures it itself"));
    if (env.GATEWAY === undefined) issues.push(located(lineOf, "FIXED_IP", "needs GATEWAY on a bridge: add GATEWAY=<your LAN's router address>"));
  }
  if (env.NETWORK_TYPE !== "bridge" && prefixed) {
    issues.push(located(lineOf, "FIXED_IP", "takes no prefix with NETWORK_TYPE=default (the libvirt network has its own); write just the address, such as 192.168.122.50"));
  }
  for (const key of ["GATEWAY", "DNS"] as const) {
    if (given[key] !== undefined && (env.NETWORK_TYPE !== "bridge" || env.FIXED_IP === undefined)) {
      issues.push(located(lineOf, key, "is only used with NETWORK_TYPE=bridge and FIXED_IP; remove it, or set both"));
    }
  }
  if (env.NETWORK_TYPE === "bridge" && given.NETWORK !== undefined) {
    issues.push(located(lineOf, "NETWORK", "is only used with NETWORK_TYPE=default; remove NETWORK, or set NETWORK_TYPE=default"));
  }
  return issues;
}

export interface ParsedEnvFile {
  env: ProjectEnv;
  /** The keys exactly as written (after dotenv's unquoting), for messages and drift checks. */
  given: Record<string, string>;
}

/** Parses `.env` text; SPEC_INVALID lists every problem, each with its key and line. */
export function parseEnvFile(text: string, path: string): ParsedEnvFile {
  const { lineOf, issues } = scanLines(text);
  const given = parseDotenv(text);
  const allowed = PROJECT_ENV_KEYS as readonly string[];
  for (const key of Object.keys(given)) {
    if (!allowed.includes(key)) {
      issues.push(located(lineOf, key, `is not a testenv-vm setting${suggestionSuffix(key, allowed, "settings")}`));
    }
  }
  for (const key of REQUIRED_PROJECT_ENV_KEYS) {
    if (given[key] === undefined || given[key].trim() === "") {
      issues.push({ field: key, message: `is required: add a line ${key}=<value> (see testenv-vm init for a commented template)` });
    }
  }
  const known = Object.fromEntries(Object.entries(given).filter(([key, value]) => allowed.includes(key) && value.trim() !== ""));
  const parsed = ProjectEnv.safeParse(known);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? ENV_FILE);
      const value = known[key];
      if (value === undefined) continue; // a required key that is missing: reported above
      const shown = ` (got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)})`;
      issues.push(located(lineOf, key, `${issue.message}${shown}`));
    }
  } else {
    issues.push(...crossFieldIssues(parsed.data, given, lineOf));
  }
  if (issues.length > 0 || !parsed.success) {
    const sorted = issues.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
    throw new TestenvError("SPEC_INVALID", `${path} has ${sorted.length} problem(s); nothing was created`, {
      issues: sorted,
      details: { path },
    });
  }
  return { env: parsed.data, given };
}
