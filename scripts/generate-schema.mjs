// Writes spec.openapi.yaml, docs/schema.md, docs/vms.schema.json, the .env reference of docs/project-folder.md and the
// tool reference of docs/mcp.md from the built zod schemas and tool definitions (run via `npm run generate`).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { renderOpenApi, renderSchemaMarkdown } = await import(pathToFileURL(join(root, "dist/src/spec/schema-export.js")).href);

const { renderVmManifestSchema, VM_MANIFEST_SCHEMA_FILE } = await import(pathToFileURL(join(root, "dist/src/manifest/schema-export.js")).href);
const { withEnvReference } = await import(pathToFileURL(join(root, "dist/src/project/env-template.js")).href);
const { withToolReference } = await import(pathToFileURL(join(root, "dist/src/mcp/tool-reference.js")).href);

const outputs = [
  ["spec.openapi.yaml", renderOpenApi()],
  ["docs/schema.md", renderSchemaMarkdown()],
  [VM_MANIFEST_SCHEMA_FILE, renderVmManifestSchema()],
  ["docs/project-folder.md", withEnvReference(await readFile(join(root, "docs/project-folder.md"), "utf8"))],
  ["docs/mcp.md", withToolReference(await readFile(join(root, "docs/mcp.md"), "utf8"))],
];
for (const [path, content] of outputs) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  process.stderr.write(`wrote ${path}\n`);
}
