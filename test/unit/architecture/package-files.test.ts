import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, posix, resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

// What `npm pack` puts in the tarball, pinned: the built library and bins, the generated schema, the docs the README
// links to, LICENSE — and nothing else (no compiled tests or benchmarks, no source maps whose sources stay behind).

const ROOT = resolve(import.meta.dirname, "../../..");
const run = promisify(execFile);

interface PackageJson {
  license: string;
  bin: Record<string, string>;
  exports: Record<string, string>;
  files: string[];
}

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as PackageJson;
let files: string[] = [];
let shipped = new Set<string>();

/** Where shipped files may live; anything else in the tarball is a mistake. */
const SHIPPED_DIRS = ["dist/api/", "dist/lib/", "dist/src/", "dist/providers/", "dist/chunks/", "docs/"];
const SHIPPED_FILES = ["package.json", "README.md", "LICENSE", "DESIGN.md", "spec.openapi.yaml"];
/** What the public declarations may import besides their own files: the rest would need types the consumer lacks. */
const DECLARATION_IMPORTS = /^(node:.+|zod|zod\/.+|vitest|vitest\/node)$/;

const normalise = (path: string): string => posix.normalize(path.replace(/^\.\//, ""));

beforeAll(async () => {
  // CI builds before the unit stage; a fresh checkout gets its build here.
  if (!existsSync(join(ROOT, "dist/src/bin.js"))) await run("npm", ["run", "--silent", "build"], { cwd: ROOT });
  const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const [report] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  files = (report?.files ?? []).map((file) => file.path).sort();
  shipped = new Set(files);
}, 180_000);

describe("the npm tarball", () => {
  it("holds only the library, its bins, the schema, the docs and the license", () => {
    const stray = files.filter((file) => !SHIPPED_FILES.includes(file) && !SHIPPED_DIRS.some((dir) => file.startsWith(dir)));
    expect(stray).toEqual([]);
    expect(files.filter((file) => file.startsWith("dist/test/") || file.startsWith("dist/bench/"))).toEqual([]);
    expect(files.filter((file) => /\.test\.|\.map$|\.tsbuildinfo$/.test(file))).toEqual([]);
    for (const file of SHIPPED_FILES) expect(shipped.has(file), file).toBe(true);
    expect(shipped.has("docs/client.md")).toBe(true);
  });

  it("has the Apache-2.0 text that package.json names", () => {
    expect(pkg.license).toBe("Apache-2.0");
    const license = readFileSync(join(ROOT, "LICENSE"), "utf8");
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain("END OF TERMS AND CONDITIONS");
  });

  it("has every export-map target with its declarations, and every bin", () => {
    for (const [entry, target] of Object.entries(pkg.exports)) {
      const file = normalise(target);
      expect(shipped.has(file), `exports["${entry}"] → ${file}`).toBe(true);
      if (file.endsWith(".js")) expect(shipped.has(file.replace(/\.js$/, ".d.ts")), `declarations of exports["${entry}"]`).toBe(true);
    }
    for (const [name, target] of Object.entries(pkg.bin)) expect(shipped.has(normalise(target)), `bin ${name} → ${target}`).toBe(true);
    expect(pkg.bin["testenv-vm"]).toBe("dist/src/bin.js");
  });

  it("ships every chunk the bundled bins load, and each bin is a bundle", () => {
    const missing: string[] = [];
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      if (!shipped.has(file)) missing.push(file);
      if (!existsSync(join(ROOT, file))) return;
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const match of text.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)"(\.{1,2}\/[^"]+)"/g)) visit(posix.normalize(posix.join(posix.dirname(file), match[1] ?? "")));
    };
    for (const target of Object.values(pkg.bin)) {
      expect(readFileSync(join(ROOT, target), "utf8"), target).toContain("bundled by scripts/bundle-bins.mjs");
      visit(normalise(target));
    }
    expect(missing).toEqual([]);
    expect([...seen].filter((file) => file.startsWith("dist/chunks/")).length).toBeGreaterThan(3);
  });

  it("every relative link of its markdown files leads to a file it ships", () => {
    const broken: string[] = [];
    for (const file of files.filter((f) => f.endsWith(".md"))) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = match[1] ?? "";
        if (/^[a-z]+:/i.test(link) || link.startsWith("#")) continue;
        const target = posix.normalize(posix.join(posix.dirname(file), link.split("#")[0] ?? ""));
        if (!shipped.has(target)) broken.push(`${file}: ${link}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("the declarations reachable from the export map import nothing but node, zod, vitest and their own files", () => {
    const foreign = new Set<string>();
    const seen = new Set<string>();
    const queue = Object.values(pkg.exports)
      .map(normalise)
      .filter((file) => file.endsWith(".js"))
      .map((file) => file.replace(/\.js$/, ".d.ts"));
    while (queue.length > 0) {
      const file = queue.pop() ?? "";
      if (seen.has(file)) continue;
      seen.add(file);
      expect(shipped.has(file), `${file} is imported by a public declaration but not shipped`).toBe(true);
      const text = readFileSync(join(ROOT, file), "utf8");
      const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["']([^"']+)["']/g), ...text.matchAll(/<reference\s+types="([^"]+)"/g)].map(
        (m) => m[1] ?? "",
      );
      for (const specifier of specifiers) {
        if (specifier.startsWith(".")) queue.push(normalise(posix.join(dirname(file), specifier).replace(/\.js$/, ".d.ts")));
        else if (!DECLARATION_IMPORTS.test(specifier)) foreign.add(`${file}: ${specifier}`);
      }
    }
    expect([...foreign]).toEqual([]);
    expect(seen.size).toBeGreaterThan(10);
  });
});
