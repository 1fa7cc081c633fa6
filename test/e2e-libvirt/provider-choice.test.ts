import { afterAll, beforeAll, expect, it } from "vitest";
import type { Spec } from "../../api/spec.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { connectOrchestrator, createArgs, textOf, workspace, type Json, type Workspace } from "./support.js";

// Best-provider selection on the test host, where libvirt is healthy: the bundled providers' capabilities alone
// pick libvirt for a UEFI machine and podman for a container; the stub is never taken unprompted.

describeIfTestHost("e2e_libvirt: best provider for a spec that names none", () => {
  let images: TestImages;
  let ws: Workspace;

  beforeAll(() => {
    images = ensureTestImages("tiny");
    ws = workspace("choice");
  });

  afterAll(() => {
    ws[Symbol.dispose]();
  });

  async function planOf(spec: Spec): Promise<Json> {
    await using server = await connectOrchestrator({ env: ws.env });
    const result = await server.call("plan", createArgs(ws, spec));
    expect(result.isError, textOf(result)).toBeFalsy();
    return result.structuredContent as Json;
  }

  it("libvirt for a UEFI VM, podman for a container", async () => {
    const machine = await planOf({
      pickProvider: true,
      keys: [{ name: "k", spec: { type: "ed25519" } }],
      networks: [{ name: "n", kind: "nat", spec: { cidr: "192.168.150.0/24" } }],
      vms: [{ name: "m", spec: { memory: 256, vcpus: 1, networks: ["n"], disk: { baseImage: images.tiny, size: "1G" }, boot: { firmware: "uefi" } } }],
    });
    expect(machine.providerChoice).toMatchObject({ provider: "libvirt", engine: "testenv-vm-provider-libvirt" });
    expect(String(machine.providerChoice.reason)).toMatch(/^first healthy provider in registry order libvirt, podman, stub that serves disk, key:ed25519, network:nat, uefi, vm/);
    const domain = ((machine.phases as Json[]).flatMap((p) => p.resources as Json[]).find((r) => r.kind === "vm")?.steps as Json[]).find((s) => s.action === "define")?.content as string;
    expect(domain).toMatch(/firmware=.efi.|<loader/);

    const container = await planOf({ pickProvider: true, vms: [{ name: "c", spec: { memory: 256, vcpus: 1, container: {} } }] });
    expect(container.providerChoice).toMatchObject({ provider: "podman", rejected: [{ name: "libvirt", why: "lacks container, disk on every VM (required)" }] });
  });
});
