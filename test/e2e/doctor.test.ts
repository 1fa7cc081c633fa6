import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ORCHESTRATOR_BIN, connectOrchestrator } from "../helpers/mcp.js";
import { sandbox, type Json, type Sandbox } from "./env.js";

const ORIGINAL_STYLE = resolve("test/fixtures/providers/original-style.mjs");

function doctor(box: Sandbox, args: string[]): Promise<{ code: number; report: Json; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((done) => {
    execFile(
      process.execPath,
      [ORCHESTRATOR_BIN, "doctor", "--json", ...args],
      // No libvirtd in this namespace: point libvirt at a socket that does not exist so it fails fast and touches no daemon.
      { cwd: box.root, env: { PATH: process.env.PATH ?? "", HOME: box.root, TESTENV_VM_LOG: "warn", TESTENV_VM_LIBVIRT_URI: `qemu+unix:///system?socket=${box.root}/no-libvirt.sock` }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        done({ code, report: JSON.parse(stdout) as Json, stderr, ms: Date.now() - started });
      },
    );
  });
}

function writeSpec(box: Sandbox, providers: Json[]): string {
  const path = join(box.root, "spec.yaml");
  writeFileSync(path, stringify({ providers, keys: [{ name: "k", spec: { type: "ed25519" } }] }));
  return path;
}

const byName = (report: Json, name: string): Json => (report.providers as Json[]).find((p) => p.name === name) ?? {};

describe("testenv-vm doctor", () => {
  it("checks every provider in parallel: a hanging one times out, an old one is unknown, and the exit code follows the spec", async () => {
    using box = sandbox("doctor");
    const spec = writeSpec(box, [
      { name: "stub", engine: "testenv-vm-provider-stub" },
      { name: "hangs", engine: "testenv-vm-provider-stub", spec: { store: join(box.root, "never-made.json"), delayMs: { provider_health: 60_000 } } },
      { name: "old", engine: ORIGINAL_STYLE },
    ]);
    const { code, report, ms } = await doctor(box, ["--spec", spec, "--time-limit", "10"]);
    expect(code).toBe(1);
    expect(report.healthy).toBe(false);
    expect(report.verdict).toContain("hangs");
    expect(byName(report, "stub")).toMatchObject({ source: "spec", outcome: "ok", available: true, healthy: true, health: { accelerator: { kind: "none" } } });
    expect(byName(report, "hangs")).toMatchObject({ outcome: "timed out", healthy: false });
    expect(byName(report, "old")).toMatchObject({ outcome: "ok", available: "unknown", healthy: "unknown", capabilities: { providerName: "original" } });
    // Bundled providers appear without being named: libvirt, unreachable here, is unhealthy with a fix hint.
    const libvirt = byName(report, "libvirt");
    expect(libvirt).toMatchObject({ source: "bundled", outcome: "ok", healthy: false, health: { daemon: { reachable: false } } });
    expect((libvirt.health.warnings as Json[]).find((w) => String(w.message).includes("not reachable"))?.fix).toMatch(/libvirtd|URI/);
    // In parallel, within the time limit; the inspecting stub created no store file.
    expect(ms).toBeLessThan(10_000 + 8_000);
    expect(existsSync(join(box.root, "never-made.json"))).toBe(false);
  });

  it("--need names the healthy providers that serve every need, and the exit code says whether one does", async () => {
    using box = sandbox("doctor-need");
    const met = await doctor(box, ["--need", "key:ed25519,network:bridge"]);
    expect(met.code).toBe(0);
    expect(met.report.serving).toContain("stub");
    const unmet = await doctor(box, ["--need", "pxe,no-such-feature"]);
    expect(unmet.code).toBe(1);
    expect(unmet.report.serving).toEqual([]);
    expect(byName(unmet.report, "stub").unmet).toEqual(["pxe", "no-such-feature"]);
  });

  it("is an MCP tool too", async () => {
    using box = sandbox("doctor-mcp");
    await using server = await connectOrchestrator({ cwd: box.root, env: { PATH: process.env.PATH ?? "", HOME: box.root, TESTENV_VM_LIBVIRT_URI: "test:///default" } });
    const result = await server.call("doctor", { needs: ["vm"], timeLimitSeconds: 10 });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ healthy: true });
    expect((result.structuredContent as Json).serving).toContain("stub");
  });
});
