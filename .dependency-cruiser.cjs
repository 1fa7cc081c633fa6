// The layering of testenv-vm, checked in CI by `npm run check:layers` (DESIGN.md, "Layers").
//
//   api/         the wire contract: zod only
//   lib/         the leaf: no domain knowledge, node and npm dependencies only
//   providers/kit             api + lib
//   providers/<name>/         api + kit + lib, never src/ or another provider
//   src/ building blocks      spec, state, provider (client), image, errors: never the engine or a surface
//   src/orchestrator/         the engine: never a surface
//   src/project/              project folders: a use case over the engine; never a surface
//   src/ surfaces             cli, mcp, client, vitest: may use the engine; cli and mcp never each other
//   src/bin.ts, src/index.ts  entries: nothing imports them
//
// Type-only imports count (tsPreCompilationDeps), so a type cycle is a cycle too.

const SURFACES = "(cli|mcp|client|vitest)";
const BUILDING_BLOCKS = "^src/(spec|state|provider|image)/|^src/errors\\.ts$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "Imports form no cycle, type-only ones included: a cycle means two modules are really one.",
      from: {},
      to: { circular: true },
    },
    {
      name: "api-imports-only-zod",
      severity: "error",
      comment: "api/ is the wire contract: zod schemas and their types, nothing else.",
      from: { path: "^api/" },
      to: { pathNot: ["^api/", "(^|/)node_modules/zod/"] },
    },
    {
      name: "lib-is-the-leaf",
      severity: "error",
      comment: "lib/ has no domain knowledge: it imports node and npm dependencies only.",
      from: { path: "^lib/" },
      to: { path: "^(api|src|providers|test|bench|scripts)/" },
    },
    {
      name: "kit-imports-api-and-lib",
      severity: "error",
      comment: "The provider kit is shared by every provider: api/ and lib/ only.",
      from: { path: "^providers/kit/" },
      to: { path: "^(src|test|bench|scripts)/|^providers/(?!kit/)" },
    },
    {
      name: "providers-never-import-src",
      severity: "error",
      comment: "A provider is its own process on the kit: api/, lib/ and providers/kit only, never src/.",
      from: { path: "^providers/" },
      to: { path: "^(src|test|bench|scripts)/" },
    },
    {
      name: "providers-never-import-each-other",
      severity: "error",
      comment: "Each provider stands alone on the kit; what two providers share belongs in the kit or lib/.",
      from: { path: "^providers/([^/]+)/" },
      to: { path: "^providers/", pathNot: "^providers/(kit|$1)/" },
    },
    {
      name: "building-blocks-below-the-engine",
      severity: "error",
      comment: "spec, state, the provider client and images are used by the engine, never the other way.",
      from: { path: BUILDING_BLOCKS },
      to: { path: `^src/(orchestrator|project|${SURFACES})/|^src/(bin|index)\\.ts$` },
    },
    {
      name: "engine-below-the-surfaces",
      severity: "error",
      comment: "The engine serves every surface and knows none of them.",
      from: { path: "^src/orchestrator/" },
      to: { path: `^src/(project|${SURFACES})/|^src/(bin|index)\\.ts$` },
    },
    {
      name: "project-below-the-surfaces",
      severity: "error",
      comment: "Project folders are a use case the CLI (and later agents) drive; they know no surface.",
      from: { path: "^src/project/" },
      to: { path: `^src/${SURFACES}/|^src/(bin|index)\\.ts$` },
    },
    {
      name: "cli-and-mcp-apart",
      severity: "error",
      comment: "The CLI and the MCP server are sibling surfaces; what both need lives in the engine.",
      from: { path: "^src/(cli|mcp)/" },
      to: { path: "^src/(cli|mcp)/", pathNot: "^src/$1/" },
    },
    {
      name: "client-below-the-other-surfaces",
      severity: "error",
      comment: "The client library may be used by the other surfaces (vitest, agents' exec) but uses none of them.",
      from: { path: "^src/client/" },
      to: { path: "^src/(cli|mcp|vitest)/" },
    },
    {
      name: "entries-are-not-imported",
      severity: "error",
      comment: "src/bin.ts (the process) and src/index.ts (the package's main export) are entries.",
      from: {},
      to: { path: "^src/(bin|index)\\.ts$" },
    },
    {
      name: "shipped-code-never-imports-tests",
      severity: "error",
      comment: "Nothing that ships imports tests, benchmarks or scripts.",
      from: { path: "^(api|lib|src|providers)/" },
      to: { path: "^(test|bench|scripts)/" },
    },
    {
      name: "no-unresolvable-imports",
      severity: "error",
      comment: "An import that does not resolve is a typo or a missing dependency.",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".json"],
    },
    exclude: { path: "^(dist|node_modules|coverage)/" },
    reporterOptions: {
      archi: { collapsePattern: "^(api|lib|providers/[^/]+|src/[^/]+|test/[^/]+|bench)/" },
      text: { highlightFocused: true },
    },
  },
};
