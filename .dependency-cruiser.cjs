// The layering of testenv-vm, checked in CI by `npm run check:layers` (DESIGN.md, "Layers").
//
//   api/         the wire contract: zod only
//   lib/         the leaf: no domain knowledge, node and npm dependencies only
//   providers/kit             api + lib
//   providers/<name>/         api + kit + lib, never src/ or another provider
//   src/ building blocks      spec, state, provider (client), image, manifest (vms.json), errors: never the engine or a surface
//   src/orchestrator/         the engine: never a surface
//   src/project/              project folders: a use case over the engine; never a surface
//   src/ surfaces             cli, mcp, client, vitest: may use the engine; cli and mcp never each other
//   src/bin.ts, src/index.ts  entries: nothing imports them
//
// Type-only imports count (tsPreCompilationDeps), so a type cycle is a cycle too.

const SURFACES = "(cli|mcp|client|vitest)";
const BUILDING_BLOCKS = "^src/(spec|state|provider|image|manifest)/|^src/errors\\.ts$";

/** One forbidden direction: imports from `from` to `to` fail the check, with the reason in `comment`. */
function forbid(name, comment, from, to) {
  return { name, severity: "error", comment, from, to };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid("no-cycles", "Imports form no cycle, type-only ones included: a cycle means two modules are really one.", {}, { circular: true }),
    forbid("api-imports-only-zod", "api/ is the wire contract: zod schemas and their types, nothing else.", { path: "^api/" }, { pathNot: ["^api/", "(^|/)node_modules/zod/"] }),
    forbid("lib-is-the-leaf", "lib/ has no domain knowledge: it imports node and npm dependencies only.", { path: "^lib/" }, { path: "^(api|src|providers|test|bench|scripts)/" }),
    forbid("kit-imports-api-and-lib", "The provider kit is shared by every provider: api/ and lib/ only.", { path: "^providers/kit/" }, { path: "^(src|test|bench|scripts)/|^providers/(?!kit/)" }),
    forbid("providers-never-import-src", "A provider is its own process on the kit: api/, lib/ and providers/kit only, never src/.", { path: "^providers/" }, { path: "^(src|test|bench|scripts)/" }),
    forbid("providers-never-import-each-other", "Each provider stands alone on the kit; what two providers share belongs in the kit or lib/.", { path: "^providers/([^/]+)/" }, { path: "^providers/", pathNot: "^providers/(kit|$1)/" }),
    forbid("building-blocks-below-the-engine", "spec, state, the provider client and images are used by the engine, never the other way.", { path: BUILDING_BLOCKS }, { path: `^src/(orchestrator|project|${SURFACES})/|^src/(bin|index)\\.ts$` }),
    forbid("engine-below-the-surfaces", "The engine serves every surface and knows none of them.", { path: "^src/orchestrator/" }, { path: `^src/(project|${SURFACES})/|^src/(bin|index)\\.ts$` }),
    forbid("project-below-the-surfaces", "Project folders are a use case the CLI (and later agents) drive; they know no surface.", { path: "^src/project/" }, { path: `^src/${SURFACES}/|^src/(bin|index)\\.ts$` }),
    forbid("cli-and-mcp-apart", "The CLI and the MCP server are sibling surfaces; what both need lives in the engine.", { path: "^src/(cli|mcp)/" }, { path: "^src/(cli|mcp)/", pathNot: "^src/$1/" }),
    forbid("client-below-the-other-surfaces", "The client library may be used by the other surfaces (vitest, agents' exec) but uses none of them.", { path: "^src/client/" }, { path: "^src/(cli|mcp|vitest)/" }),
    forbid("entries-are-not-imported", "src/bin.ts (the process) and src/index.ts (the package's main export) are entries.", {}, { path: "^src/(bin|index)\\.ts$" }),
    forbid("shipped-code-never-imports-tests", "Nothing that ships imports tests, benchmarks or scripts.", { path: "^(api|lib|src|providers)/" }, { path: "^(test|bench|scripts)/" }),
    forbid("no-unresolvable-imports", "An import that does not resolve is a typo or a missing dependency.", {}, { couldNotResolve: true }),
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
