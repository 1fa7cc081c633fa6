import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TestenvError } from "../../../src/errors.js";
import { loadProject } from "../../../src/project/load.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function folder(envText: string): string {
  const dir = mkdtempSync(join(tmpdir(), "testenv-vm-load-"));
  dirs.push(dir);
  writeFileSync(join(dir, ".env"), envText);
  return dir;
}

const VM = "INFRA_TYPE=vm\nMEMORY=1024\nCPUS=2\nDISK=10\n";

describe("loadProject: IMAGE", () => {
  it("downloads an https URL even when its file name ends in .qcow2, instead of looking for a local file", async () => {
    const project = await loadProject(folder(`${VM}IMAGE=https://example.org/images/x.qcow2\nIMAGE_SHA256=${"a".repeat(64)}\n`));
    expect(JSON.stringify(project.spec)).toContain("https://example.org/images/x.qcow2");
  });

  it("refuses a file name that does not exist in the folder, naming IMAGE and the path it looked at", async () => {
    const dir = folder(`${VM}IMAGE=base.qcow2\n`);
    const error = await loadProject(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestenvError);
    const issues = (error as TestenvError).issues ?? [];
    expect(issues).toEqual([expect.objectContaining({ field: "IMAGE", message: expect.stringContaining(join(dir, "base.qcow2")) as unknown })]);
  });
});
