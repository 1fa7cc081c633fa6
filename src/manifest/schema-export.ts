import { z } from "zod";
import { IsoSource, VmDefinition, VmManifest } from "../../api/vm-manifest.js";

// vms.schema.json is generated from api/vm-manifest.ts (the single source of truth) by `npm run generate`; a unit
// test fails when the committed file drifts. Editors pick it up through the manifest's "$schema".

/** Under docs/, so the npm package ships it next to docs/vm-manifest.md. */
export const VM_MANIFEST_SCHEMA_FILE = "docs/vms.schema.json";

export function renderVmManifestSchema(): string {
  const registry = z.registry<{ id: string }>();
  registry.add(VmDefinition, { id: "VmDefinition" });
  registry.add(IsoSource, { id: "IsoSource" });
  registry.add(VmManifest, { id: "VmManifest" });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/$defs/${id}`, io: "input" }) as { schemas: Record<string, Record<string, unknown>> };
  const strip = (schema: Record<string, unknown> | undefined): Record<string, unknown> => {
    const { $schema: _schema, $id: _id, ...rest } = schema ?? {};
    return rest;
  };
  const document = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "VmManifest",
    ...strip(schemas.VmManifest),
    $defs: { VmDefinition: strip(schemas.VmDefinition), IsoSource: strip(schemas.IsoSource) },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
