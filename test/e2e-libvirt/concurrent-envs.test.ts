import { afterAll, beforeAll, expect, it } from "vitest";
import { waitForNoLeaks } from "../helpers/leaks.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { artifactFile, createOverMcp, deleteIfLeft, deleteOverMcp, fourResourceSpec, leakScope, readState, sshRun, textOf, workspace, type Json, type Workspace } from "./support.js";

// Issue 16, load on libvirt: three of the design's 4-resource environments created at once, each by its own
// orchestrator process over MCP as Forge would, then deleted at once from fresh processes. They must get distinct
// subnets, each reach SSH with its own key, and leave nothing behind.

const ENVIRONMENTS = 3;

describeIfTestHost("e2e_libvirt: three environments at once", () => {
  let images: TestImages;
  let spaces: Workspace[] = [];

  beforeAll(() => {
    images = ensureTestImages("tiny");
    spaces = Array.from({ length: ENVIRONMENTS }, (_, index) => workspace(`concurrent${index}`));
  });

  afterAll(async () => {
    await Promise.all(spaces.map((ws) => deleteIfLeft(ws)));
    for (const ws of spaces) ws[Symbol.dispose]();
  });

  it(`${ENVIRONMENTS} creates at once: all ready, distinct subnets and addresses, each reached over SSH with its own key; deleted at once, nothing left`, async () => {
    const created = await Promise.all(spaces.map((ws, index) => createOverMcp(ws, fourResourceSpec({ baseImage: images.tiny, hostname: `concurrent-${index}` }))));
    for (const result of created) expect(result.isError, textOf(result)).toBeFalsy();
    const states = spaces.map((ws) => readState(ws));
    for (const state of states) expect(state.status).toBe("ready");
    expect(new Set(states.map((state) => state.subnetOctet as number)).size).toBe(ENVIRONMENTS);
    expect(new Set(states.map((state) => state.prefix as string)).size).toBe(ENVIRONMENTS);
    const artifacts = created.map((result) => result.structuredContent as Json);
    const ips = artifacts.map((artifact) => artifact.metadata["testenv-vm.vm.test-vm.ip"] as string);
    expect(new Set(ips).size).toBe(ENVIRONMENTS);
    for (const [index, ws] of spaces.entries()) {
      const artifact = artifacts[index]!;
      const out = await sshRun(ips[index]!, artifactFile(ws, artifact, "testenv-vm.key.vm-ssh"), "hostname");
      expect(out.stdout.trim()).toBe(`concurrent-${index}`);
    }
    // A key of one environment does not open another's VM.
    const foreign = await sshRun(ips[1]!, artifactFile(spaces[0]!, artifacts[0]!, "testenv-vm.key.vm-ssh"), "true").catch((error: unknown) => error);
    expect(foreign).toBeInstanceOf(Error);

    const deleted = await Promise.all(spaces.map((ws, index) => deleteOverMcp(ws, artifacts[index]!.metadata as Record<string, string>)));
    for (const result of deleted) expect(result.isError, textOf(result)).toBeFalsy();
    for (const [index, ws] of spaces.entries()) expect(await waitForNoLeaks(leakScope(ws, states[index]!.prefix as string))).toEqual([]);
  });
});
