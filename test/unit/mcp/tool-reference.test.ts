import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderToolReference, withToolReference } from "../../../src/mcp/tool-reference.js";
import { TOOLS } from "../../../src/mcp/tools/index.js";

const ROOT = join(import.meta.dirname, "../../..");

describe("the tool reference of docs/mcp.md", () => {
  it("matches the tool definitions", async () => {
    const committed = await readFile(join(ROOT, "docs/mcp.md"), "utf8");
    expect(committed === withToolReference(committed), "docs/mcp.md is out of date with src/mcp/tools; run `npm run generate` and commit the result").toBe(true);
  });

  it("has a section, an input schema and annotations for every tool", () => {
    const reference = renderToolReference();
    for (const tool of TOOLS) {
      expect(reference).toContain(`### \`${tool.name}\``);
      expect(tool.annotations.readOnlyHint, tool.name).toBeTypeOf("boolean");
      expect(tool.annotations.destructiveHint, tool.name).toBeTypeOf("boolean");
      expect(tool.annotations.idempotentHint, tool.name).toBeTypeOf("boolean");
      expect(tool.annotations.openWorldHint, tool.name).toBeTypeOf("boolean");
    }
  });
});
