import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ProviderConfig } from "../../api/spec.js";
import { sshExec } from "../../providers/libvirt/vm/readiness.js";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { ensureTestImages, type TestImages } from "../helpers/images.js";
import { findLeaks, waitForNoLeaks } from "../helpers/leaks.js";
import { remoteJump, remoteLeaks, remoteLibvirtd, remoteShell, startRemoteHost, stopRemoteHost, type RemoteHost } from "../helpers/remote-host.js";
import { cli, describeRemote, natSpec, remoteDomainDefined } from "./remote-support.js";
import { artifactFile, connectOrchestrator, createArgs, createOverMcp, deleteIfLeft, deleteOverMcp, leakScope, readState, stateFile, textOf, workspace, type Json, type Workspace } from "./support.js";

// A pool of two libvirt hosts, this one and the second test host (scripts/testhost-remote.sh): the engine places
// each environment whole on one of them. Six tiny environments created at once from separate orchestrator
// processes, as Forge starts them, spread over both; one too big for either is refused before anything exists;
// and the remote host's libvirtd killed under a placed create leaves nothing once it is back and the environment
// is deleted from a fresh process.

const LOCAL = "qemu:///system";
const ENVIRONMENTS = 6;

function poolProvider(host: RemoteHost, localCapacity?: { memoryMiB: number }): ProviderConfig {
  return {
    name: "pool",
    engine: "testenv-vm-provider-libvirt",
    spec: {
      accelerator: "tcg",
      hosts: [
        { uri: LOCAL, ...(localCapacity ? { capacity: localCapacity } : {}) },
        { uri: host.uri, ssh: { key: host.key, knownHosts: host.knownHosts } },
      ],
    },
  };
}

const domainsOn = (host: RemoteHost | undefined): string =>
  host === undefined ? execFileSync("virsh", ["-q", "-c", LOCAL, "list", "--all", "--name"], { encoding: "utf8" }) : remoteShell(host, "virsh -q -c qemu:///system list --all --name");

interface Placed {
  ws: Workspace;
  hostname: string;
  artifact?: Json;
  prefix?: string;
  host?: string;
}

describeRemote("e2e_libvirt: a pool of the local and the remote libvirt host", () => {
  let images: TestImages;
  let host: RemoteHost | undefined;
  let placed: Placed[] = [];
  let tooBig: Workspace | undefined;
  let crash: Workspace | undefined;

  beforeAll(() => {
    images = ensureTestImages("tiny");
    const started = startRemoteHost();
    host = started;
    process.stderr.write(`remote test host up in ${started.startMs} ms\n`);
    placed = Array.from({ length: ENVIRONMENTS }, (_, i) => ({ ws: workspace(`pool-${i}`), hostname: `pool-vm-${i}` }));
    tooBig = workspace("pool-too-big");
    crash = workspace("pool-crash");
  });

  afterAll(async () => {
    for (const ws of [...placed.map((p) => p.ws), tooBig, crash]) {
      if (!ws) continue;
      await deleteIfLeft(ws);
      ws[Symbol.dispose]();
    }
    if (host) stopRemoteHost();
  });

  it("plan shows where a create would place the environment", async () => {
    const first = placed[0]!;
    await using orchestrator = await connectOrchestrator({ env: first.ws.env });
    const result = await orchestrator.call("plan", createArgs(first.ws, natSpec(poolProvider(host!), images, { memory: 128 })), { timeoutMs: 120_000 });
    expect(result.isError, textOf(result)).toBeFalsy();
    const plan = result.structuredContent as Json;
    expect(plan.placements).toHaveLength(1);
    expect([LOCAL, host!.uri]).toContain(plan.placements[0].host);
    expect(plan.placements[0].needs).toEqual({ vcpus: 1, memoryMiB: 128, diskGiB: 1 });
    expect(textOf(result)).toContain(`placed: provider pool on ${plan.placements[0].host as string}`);
    expect(existsSync(stateFile(first.ws))).toBe(false);
  });

  it("six environments created at once from separate processes spread over both hosts; each answers SSH", async () => {
    const started = Date.now();
    const results = await Promise.all(placed.map((p) => createOverMcp(p.ws, natSpec(poolProvider(host!), images, { hostname: p.hostname, memory: 128 }))));
    process.stderr.write(`pool: ${ENVIRONMENTS} environments create-to-SSH in ${Date.now() - started} ms\n`);
    for (const [index, p] of placed.entries()) {
      const result = results[index]!;
      expect(result.isError, `${p.hostname}: ${textOf(result)}`).toBeFalsy();
      const artifact = result.structuredContent as Json;
      p.artifact = artifact;
      const state = readState(p.ws);
      p.prefix = state.prefix as string;
      expect(state.status).toBe("ready");
      // The state records the placement, and the provider of the environment is started with that host alone.
      const placement = (state.placements as Json[])[0]!;
      p.host = placement.host as string;
      expect(placement.provider).toBe("pool");
      expect(state.providers[0].spec.uri).toBe(p.host);
      expect(state.providers[0].spec.hosts).toBeUndefined();
      const onRemote = p.host === host!.uri;
      const domain = `${p.prefix}-test-vm`;
      expect(domainsOn(onRemote ? host : undefined)).toContain(domain);
      expect(domainsOn(onRemote ? undefined : host)).not.toContain(domain);

      const ip = artifact.metadata["testenv-vm.vm.test-vm.ip"] as string;
      const keyPath = artifactFile(p.ws, artifact, "testenv-vm.key.vm-ssh");
      const out = await sshExec({ host: ip, port: 22, user: "root", privateKey: readFileSync(keyPath, "utf8"), ...(onRemote ? { via: remoteJump(host!) } : {}) }, "hostname", 60_000);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout.trim()).toBe(p.hostname);
    }
    const hosts = placed.map((p) => p.host);
    process.stderr.write(`pool: placed ${hosts.filter((h) => h === LOCAL).length} here, ${hosts.filter((h) => h === host!.uri).length} on the remote host\n`);
    expect(hosts).toContain(LOCAL);
    expect(hosts).toContain(host!.uri);

    // status shows the placement, as text and as JSON.
    const first = placed[0]!;
    const text = await cli(first.ws, "status", "--id", first.ws.testID, "--recorded");
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`placed: provider pool on ${first.host!}: fewest environments there`);
    const json = await cli(first.ws, "status", "--id", first.ws.testID, "--recorded", "--json");
    expect((JSON.parse(json.stdout) as Json).placements[0].host).toBe(first.host);
  });

  it("deleting them from fresh processes leaves nothing on either host", async () => {
    for (const p of placed) expect(p.artifact, `${p.hostname}: create must have succeeded`).toBeDefined();
    const results = await Promise.all(placed.map((p) => deleteOverMcp(p.ws, p.artifact!.metadata as Record<string, string>)));
    for (const [index, p] of placed.entries()) {
      expect(results[index]!.isError, textOf(results[index]!)).toBeFalsy();
      expect(await waitForNoLeaks(leakScope(p.ws, p.prefix!))).toEqual([]);
      expect(remoteLeaks(host!, p.prefix!)).toEqual([]);
    }
  });

  it("an environment too big for every host is refused, saying what each host lacks, with nothing created", async () => {
    const ws = tooBig!;
    const result = await createOverMcp(ws, natSpec(poolProvider(host!), images, { memory: 1024 * 1024 }));
    expect(result.isError).toBe(true);
    const text = textOf(result);
    // The typed error rides along as JSON (a second text, since create has an output schema).
    const details = result.content.flatMap((part) => (part.type === "text" && part.text.startsWith('{"error"') ? [part.text] : []))[0];
    const error = (details !== undefined ? (JSON.parse(details) as Json) : (result.structuredContent as Json)).error as Json;
    expect(error.code).toBe("PLACEMENT_FAILED");
    expect(error.details.reason).toBe("no-fit");
    expect(error.issues[0].field).toBe("providers[0].spec.hosts");
    expect(text).toContain("no host of provider pool's pool (providers[0].spec.hosts) fits this environment");
    expect(text).toContain(`${LOCAL}: lacks 1048576 MiB memory`);
    expect(text).toContain(`${host!.uri}: lacks 1048576 MiB memory`);
    expect(text).toContain("nothing was created");
    expect(existsSync(stateFile(ws))).toBe(false);
    const prefix = namePrefix(ws.testID);
    expect(findLeaks(leakScope(ws, prefix))).toEqual([]);
    expect(remoteLeaks(host!, prefix)).toEqual([]);
  });

  it("the remote host's libvirtd killed under a placed create: the create fails saying so; delete after it is back leaves nothing", async () => {
    const ws = crash!;
    // This host has room for nothing, so the environment goes to the remote one.
    const creating = createOverMcp(ws, natSpec(poolProvider(host!, { memoryMiB: 64 }), images, { octet: 102, hostname: "pool-crash", memory: 128 }));
    const prefix = await remoteDomainDefined(host!, ws, creating);
    expect((readState(ws).placements as Json[])[0]!.host).toBe(host!.uri);
    remoteLibvirtd("kill");
    let result;
    try {
      result = await creating;
    } finally {
      remoteLibvirtd("start");
    }
    expect(result.isError).toBe(true);
    process.stderr.write(`pool crash: create said: ${textOf(result).slice(0, 600)}\n`);
    expect(textOf(result)).toMatch(/libvirt|socket|connect|End of file/i);

    const deleted = await deleteOverMcp(ws);
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    expect(await waitForNoLeaks(leakScope(ws, prefix))).toEqual([]);
    expect(remoteLeaks(host!, prefix)).toEqual([]);
  });
});
