import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { defaultDataDir } from "../../providers/libvirt/config.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { links } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { LIBVIRT_PROVIDER, connectOrchestrator, createArgs, deleteIfLeft, deleteOverMcp, fourResourceSpec, textOf, workspace, type Json, type Workspace } from "./support.js";

// plan and doctor on real libvirt: a plan defines, starts, links and writes nothing; doctor finds libvirt healthy
// (under TCG here, with the reason) and, pointed at a libvirtd that is not there, unhealthy with a fix, in time.

const virsh = (...args: string[]): string[] =>
  execFileSync("virsh", ["-q", "-c", "qemu:///system", ...args], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .sort();

const hostSnapshot = (): Json => ({ domains: virsh("list", "--all", "--name"), networks: virsh("net-list", "--all", "--name"), links: links().map((l) => l.ifname).sort() });

describeIfTestHost("e2e_libvirt: plan and doctor", () => {
  let images: TestImages;
  let ws: Workspace;

  beforeAll(() => {
    images = ensureTestImages("tiny");
    ws = workspace("plan");
  });

  afterAll(async () => {
    await deleteIfLeft(ws);
    ws[Symbol.dispose]();
  });

  it("plans the 4-resource environment with zero side effects and shows the domain and network XML", async () => {
    const before = hostSnapshot();
    await using server = await connectOrchestrator({ env: { ...ws.env, TESTENV_VM_LOG: "debug" } });
    const result = await server.call("plan", createArgs(ws, fourResourceSpec({ baseImage: images.tiny })));
    expect(result.isError, textOf(result)).toBeFalsy();
    const plan = result.structuredContent as Json;
    const resources = (plan.phases as Json[]).flatMap((phase) => phase.resources as Json[]);
    const vm = resources.find((r) => r.kind === "vm") ?? {};
    const domain = (vm.steps as Json[]).find((s) => s.action === "define")?.content as string;
    expect(domain).toContain(`<name>${plan.prefix as string}-test-vm</name>`);
    expect(domain).not.toContain("createdAt");
    expect((vm.steps as Json[]).find((s) => String(s.summary).startsWith("accelerator"))?.summary).toMatch(/accelerator (kvm|tcg)/);
    expect(resources.find((r) => r.name === "libvirt-net")?.steps[0].content).toContain("<network");
    expect(hostSnapshot()).toEqual(before);
    expect(existsSync(defaultDataDir(plan.prefix as string))).toBe(false);
    expect(existsSync(ws.artifactDir)).toBe(false);
    expect(server.stderr()).not.toContain("exec refused");
  });

  it("create with the plan defines the domain the plan showed (dumpxml, for every field the plan states)", async () => {
    const spec = fourResourceSpec({ baseImage: images.tiny });
    await using server = await connectOrchestrator({ env: ws.env });
    const planned = await server.call("plan", createArgs(ws, spec));
    expect(planned.isError, textOf(planned)).toBeFalsy();
    const plan = planned.structuredContent as Json;
    const created = await server.call("create", { ...createArgs(ws, spec), plan }, { timeoutMs: 15 * 60_000 });
    expect(created.isError, textOf(created)).toBeFalsy();
    const vm = (plan.phases as Json[]).flatMap((phase) => phase.resources as Json[]).find((r) => r.kind === "vm") ?? {};
    const plannedXml = (vm.steps as Json[]).find((s) => s.action === "define")?.content as string;
    const liveXml = execFileSync("virsh", ["-q", "-c", "qemu:///system", "dumpxml", vm.providerName as string], { encoding: "utf8" });
    // What the plan states: name, size, machine and arch, disks, NICs, serial log. (The user-data differs on purpose:
    // the plan shows the key as a placeholder, so the seed and its instance-id are made from the real key.)
    const stated = (xml: string): string[] =>
      [/<name>[^<]+<\/name>/, /<vcpu[^>]*>\d+<\/vcpu>/, /arch=['"][\w]+['"]/, /<source file=['"][^'"]+disk\.qcow2['"]/, /<source file=['"][^'"]+seed\.iso['"]/, /<mac address=['"][0-9a-f:]+['"]/, /<log file=['"][^'"]+['"]/]
        .map((pattern) => (pattern.exec(xml)?.[0] ?? "").replace(/'/g, '"'));
    const fromPlan = stated(plannedXml);
    expect(fromPlan.every((field) => field !== "")).toBe(true);
    expect(stated(liveXml)).toEqual(fromPlan);
    expect(liveXml).toContain(">262144<"); // 256 MiB as libvirt writes it back (KiB)
    expect((await deleteOverMcp(ws)).isError).toBeFalsy();
  });

  it("doctor: libvirt is healthy with its accelerator and reason; a libvirtd that is not there is unhealthy with a fix, within the limit", async () => {
    await using server = await connectOrchestrator({ env: ws.env });
    const healthy = await server.call("doctor", { providers: [{ ...LIBVIRT_PROVIDER }], timeLimitSeconds: 30 });
    expect(healthy.isError, textOf(healthy)).toBeFalsy();
    const libvirt = ((healthy.structuredContent as Json).providers as Json[]).find((p) => p.name === "libvirt") ?? {};
    expect(libvirt).toMatchObject({ source: "spec", outcome: "ok", available: true, healthy: true, health: { daemon: { reachable: true } } });
    expect(["kvm", "tcg"]).toContain(libvirt.health.accelerator.kind);
    expect(libvirt.health.accelerator.reason).not.toBe("");

    const started = Date.now();
    const bogus = await server.call("doctor", { providers: [{ ...LIBVIRT_PROVIDER, spec: { uri: "qemu+unix:///system?socket=/nonexistent/libvirt-sock" } }], timeLimitSeconds: 15 });
    expect(Date.now() - started).toBeLessThan(20_000);
    const report = bogus.structuredContent as Json;
    expect(report.healthy).toBe(false);
    const broken = (report.providers as Json[]).find((p) => p.name === "libvirt") ?? {};
    expect(broken).toMatchObject({ healthy: false, health: { daemon: { reachable: false } } });
    expect((broken.health.warnings as Json[]).some((w) => /libvirtd|URI/.test(String(w.fix)))).toBe(true);
  });
});
