// Bundles every bin of package.json in place, after tsc: one esbuild run with all bins as entries, so the code they
// share is split once into dist/chunks/ and each process loads a few files instead of hundreds of modules (start-up
// before and after in docs/performance.md). The library entry points (client, vitest, api, provider-kit) stay as tsc
// wrote them. Packages with native addons stay external: they are loaded from node_modules as before.
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

const BANNER = "// bundled by scripts/bundle-bins.mjs";
const NATIVE = ["@unraid/libvirt", "ssh2", "cpu-features"];

const root = new URL("../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const entryPoints = Object.values(pkg.bin);
for (const entry of entryPoints) {
  if (readFileSync(new URL(entry, root), "utf8").includes(BANNER)) {
    throw new Error(`${entry} is already a bundle; run tsc first (npm run build does both)`);
  }
}
rmSync(new URL("dist/chunks/", root), { recursive: true, force: true });
await build({
  absWorkingDir: new URL(".", root).pathname,
  entryPoints,
  outdir: "dist",
  outbase: "dist",
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunks/[name]-[hash]",
  external: NATIVE,
  // CommonJS packages inside the bundle call require() for node's built-ins; ESM has none of its own.
  banner: { js: `${BANNER}\nimport { createRequire as bundleRequire } from "node:module";\nconst require = bundleRequire(import.meta.url);` },
  logLevel: "warning",
});
