// Writes spec.openapi.yaml and docs/schema.md from the built zod schemas (run via `npm run generate`).
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { renderOpenApi, renderSchemaMarkdown } = await import(pathToFileURL(join(root, "dist/src/spec/schema-export.js")).href);

const outputs = [
  ["spec.openapi.yaml", renderOpenApi()],
  ["docs/schema.md", renderSchemaMarkdown()],
];
for (const [path, content] of outputs) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  process.stderr.write(`wrote ${path}\n`);
}
