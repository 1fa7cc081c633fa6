import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { BENCHMARKS } from "../../../bench/catalog.js";
import { parseSpecText } from "../../../src/spec/load.js";
import { validateEarly } from "../../../src/spec/validate.js";

// The documents stay true to the tree: DESIGN.md's tree names every source folder and nothing that is gone, the
// README's example is a valid spec, every file the documents point at is in the repository, and every benchmark
// is one the runner knows.

const ROOT = resolve(import.meta.dirname, "../../..");
const SOURCE_ROOTS = ["api", "lib", "src", "providers"];
/** Top-level folders that are not part of the repository: build output, dependencies. */
const NOT_IN_REPO = new Set(["node_modules", "dist", "coverage"]);

const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");
const isDirectory = (path: string): boolean => existsSync(path) && statSync(path).isDirectory();

/** The lines of the first ``` block after `heading` (a whole line, e.g. "## Tree = architecture"). */
function codeBlockAfter(markdown: string, heading: string): string[] {
  const lines = markdown.split("\n");
  const at = lines.findIndex((line) => line.trim() === heading);
  if (at < 0) throw new Error(`no heading "${heading}"`);
  const open = lines.findIndex((line, i) => i > at && line.startsWith("```"));
  const close = lines.findIndex((line, i) => i > open && line.startsWith("```"));
  if (open < 0 || close < 0) throw new Error(`no code block under "${heading}"`);
  return lines.slice(open + 1, close);
}

const FOLDER = /^[\w.-]+\/$/;
const FILE = /^[\w.-]+\.\w+$/;

/**
 * The paths a tree block names. An entry is a folder (`name/`) or a file (`name.ext`) indented two spaces per
 * level below its folder, followed by its description; a line indented otherwise continues the description
 * above it. A folder line whose rest is only folders (`test/  unit/ e2e/`) names those as its children.
 */
function treePaths(block: readonly string[]): string[] {
  const paths: string[] = [];
  const folders: string[] = []; // folders[depth]: the open folder at that depth
  for (const line of block) {
    const indent = line.length - line.trimStart().length;
    const [first, ...rest] = line.trim().split(/\s+/);
    const depth = indent / 2;
    const isEntry = first !== undefined && (FOLDER.test(first) || FILE.test(first)) && Number.isInteger(depth) && depth <= folders.length;
    if (!isEntry) continue;
    folders.length = depth;
    const path = `${folders.join("")}${first}`;
    paths.push(path);
    if (!FOLDER.test(first)) continue;
    folders.push(first);
    if (rest.length > 0 && rest.every((word) => FOLDER.test(word))) paths.push(...rest.map((child) => `${path}${child}`));
  }
  return paths;
}

/** Every folder under the source roots (themselves included) that holds a .ts file, as `src/spec/`. */
function sourceFolders(): string[] {
  const found: string[] = [];
  const visit = (folder: string): void => {
    const entries = readdirSync(join(ROOT, folder), { withFileTypes: true });
    if (entries.some((entry) => entry.isFile() && entry.name.endsWith(".ts"))) found.push(`${folder}/`);
    for (const entry of entries) if (entry.isDirectory()) visit(`${folder}/${entry.name}`);
  };
  for (const root of SOURCE_ROOTS) visit(root);
  return found.sort();
}

describe("DESIGN.md's tree", () => {
  const tree = treePaths(codeBlockAfter(read("DESIGN.md"), "## Tree = architecture"));

  it("is read from the tree block", () => {
    expect(tree).toEqual(expect.arrayContaining(["src/", "src/spec/", "providers/kit/"]));
  });

  it("names every source folder", () => {
    expect(sourceFolders().filter((folder) => !tree.includes(folder))).toEqual([]);
  });

  it("names only folders and files that exist", () => {
    const missing = tree.filter((path) => (path.endsWith("/") ? !isDirectory(join(ROOT, path)) : !existsSync(join(ROOT, path))));
    expect(missing).toEqual([]);
  });
});

describe("README.md's example", () => {
  it("is a spec the loader accepts, with no Phase-1 issue", () => {
    const [example] = /^```yaml\n([\s\S]*?)^```$/m.exec(read("README.md"))?.slice(1) ?? [];
    expect(example, "README.md has a ```yaml block").toBeDefined();
    const loaded = parseSpecText(example!, { sourcePath: "README.md" });
    expect(validateEarly(loaded.spec, loaded.locate)).toEqual([]);
  });
});

const DOCUMENTS = ["README.md", "DESIGN.md", ...readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];
const TOP_LEVEL = new Set(readdirSync(ROOT, { withFileTypes: true }).filter((entry) => entry.isDirectory() && !entry.name.startsWith(".") && !NOT_IN_REPO.has(entry.name)).map((entry) => entry.name));

const MARKDOWN_LINK = /\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const REFERENCE_LINK = /^\s*\[[^\]]+\]:\s*(\S+)/;
/** A path-like word: `docs/cli.md`, `../shared/x.md`, `bench/baseline/`, `test/unit/**`; not part of a longer one. */
const PATH_WORD = /(?<![\w./~<>-])((?:\.{1,2}\/)?(?:[\w.*-]+\/)+[\w.*-]*)/g;
/** A bare document name: `fixes.md`. */
const MARKDOWN_NAME = /(?<![\w./-])([\w-][\w.-]*\.md)(?![\w/])/g;
const EXTERNAL = /^([a-z][a-z0-9+.-]*:|#)/i;

/** The path where `target` points, or why it points nowhere in the repository. */
function check(target: string, bases: readonly string[]): string | undefined {
  const path = target.replace(/[#?].*$/, "").replace(/[.,:;)]+$/, "");
  // A glob names the folder it searches.
  const literal = path.includes("*") ? path.slice(0, path.indexOf("*")).replace(/[^/]*$/, "") : path;
  let outside = false;
  for (const base of bases) {
    const resolved = resolve(base, literal);
    const inside = relative(ROOT, resolved);
    if (inside.startsWith("..") || isAbsolute(inside)) {
      outside = true;
      continue;
    }
    if (existsSync(resolved)) return undefined;
  }
  return outside ? `${target} (outside the repository)` : `${target} (no such file in the repository)`;
}

/** Every file reference of a document that does not resolve to a file of the repository, as `file:line: target (why)`. */
function brokenReferences(document: string): string[] {
  const here = dirname(join(ROOT, document));
  const broken: string[] = [];
  let fenced = false;
  for (const [index, line] of read(document).split("\n").entries()) {
    const isFence = line.trimStart().startsWith("```");
    if (isFence) fenced = !fenced;
    // Code blocks show commands and example files of the user's project, not files of this repository.
    if (fenced || isFence) continue;
    const problems: (string | undefined)[] = [];
    const prose = line.replace(/`[^`]*`/g, "");
    const links = [...prose.matchAll(MARKDOWN_LINK)].map((match) => match[1]!);
    const reference = REFERENCE_LINK.exec(prose)?.[1];
    if (reference !== undefined) links.push(reference);
    for (const target of links) if (!EXTERNAL.test(target)) problems.push(check(target, [here]));
    const linked = new Set(links);
    for (const [, word] of line.matchAll(PATH_WORD)) {
      if (linked.has(word!)) continue;
      const first = word!.split("/")[0]!;
      // `./forge.yaml` is the user's working directory; `../` climbs from the document.
      if (first === "..") problems.push(check(word!, [here]));
      else if (TOP_LEVEL.has(first)) problems.push(check(word!, [ROOT]));
    }
    for (const [, name] of line.matchAll(MARKDOWN_NAME)) if (!linked.has(name!)) problems.push(check(name!, [here, ROOT]));
    for (const problem of problems) if (problem !== undefined) broken.push(`${document}:${index + 1}: ${problem}`);
  }
  return broken;
}

describe("file references in the documents", () => {
  it.each(DOCUMENTS)("%s points only at files of the repository", (document) => {
    expect(brokenReferences(document)).toEqual([]);
  });
});

describe("docs/performance.md and the benchmark runner", () => {
  /** bench/ modules that are not benchmarks: the runner, its catalog, and what benchmarks share. */
  const SUPPORT = new Set(["run", "catalog", "stats", "libvirt-common", "podman-common"]);
  const scripts = readdirSync(join(ROOT, "bench"))
    .filter((name) => name.endsWith(".ts"))
    .map((name) => name.slice(0, -".ts".length))
    .filter((name) => !SUPPORT.has(name))
    .sort();

  it("the runner lists every benchmark script, and only those", () => {
    expect(BENCHMARKS.map((benchmark) => benchmark.name).sort()).toEqual(scripts);
  });

  it("each benchmark has its section in docs/performance.md", () => {
    const performance = read("docs/performance.md");
    expect(scripts.filter((name) => !performance.includes(`(\`bench/${name}.ts\`)`))).toEqual([]);
  });
});
