import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseSpecText } from "../../../src/spec/load.js";
import { SCHEMA_EXAMPLE, renderOpenApi, renderSchemaMarkdown, specComponents } from "../../../src/spec/schema-export.js";
import { validateEarly } from "../../../src/spec/validate.js";

const ROOT = join(import.meta.dirname, "../../..");
const HINT = "is out of date with api/spec.ts; run `npm run generate` and commit the result";

describe("generated schema files", () => {
  it.each([
    ["spec.openapi.yaml", renderOpenApi],
    ["docs/schema.md", renderSchemaMarkdown],
  ] as const)("%s matches api/spec.ts", async (path, render) => {
    const committed = await readFile(join(ROOT, path), "utf8").catch(() => "(missing)");
    expect(committed === render(), `${path} ${HINT}`).toBe(true);
  });

  it("the OpenAPI document has Spec and its sub-schemas as components, linked by $ref", () => {
    const document = parse(renderOpenApi()) as { openapi: string; components: { schemas: Record<string, Record<string, unknown>> } };
    expect(document.openapi).toBe("3.1.0");
    const schemas = document.components.schemas;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(["Spec", "VMSpec", "NetworkSpec", "KeySpec", "ImageSpec", "CloudInitSpec"]));
    expect(schemas.Spec?.additionalProperties).toBe(false);
    expect(JSON.stringify(schemas.Spec)).toContain('"$ref":"#/components/schemas/VMResource"');
    for (const schema of Object.values(specComponents())) expect(schema.$schema).toBeUndefined();
  });

  it("the documented example is a valid spec", () => {
    const loaded = parseSpecText(SCHEMA_EXAMPLE);
    expect(validateEarly(loaded.spec, loaded.locate)).toEqual([]);
  });

  it("every field of every object has a description", () => {
    const undocumented = renderSchemaMarkdown()
      .split("\n")
      .filter((line) => line.startsWith("| `") && line.endsWith("|  |"));
    expect(undocumented).toEqual([]);
  });
});
