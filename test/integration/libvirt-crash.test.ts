import { afterAll, expect, it } from "vitest";
import { ensureTestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { domains, leaks, newEnv, removeEnvFiles, rootSshVm, startProvider, type ProviderKey } from "./libvirt-support.js";

// Kill the provider in the middle of a VM create (domain already running, readiness still waiting),
// then delete from a fresh process: nothing may leak.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeIfTestHost("libvirt provider: SIGKILL in the middle of vm_create", () => {
  const env = newEnv("crash");
  const { name } = env;

  afterAll(() => removeEnvFiles(env));

  it("a fresh process deletes the half-made VM and its network without leaks", async () => {
    const images = ensureTestImages("tiny");
    const first = await startProvider(env);
    const key = (await first.call("key_create", { name: name("ssh"), spec: { type: "ed25519" } })).resource as ProviderKey;
    expect((await first.call("network_create", { name: name("net"), kind: "nat", spec: { cidr: "192.168.251.1/24" } })).success).toBe(true);
    const pending = first
      .call("vm_create", { name: name("vm"), spec: rootSshVm({ networks: [name("net")], key, disk: { baseImage: images.tiny, size: "1G" }, sshTimeout: "5m" }) })
      .catch((error: unknown) => error);
    for (let i = 0; i < 120 && !domains().includes(name("vm")); i++) await sleep(250);
    expect(domains()).toContain(name("vm"));
    process.kill(first.pid, "SIGKILL");
    await pending;

    // The leak check sees what is there (so an empty answer below means something).
    expect(leaks(env)).toEqual(expect.arrayContaining([`domain ${name("vm")}`, `network ${name("net")}`]));

    await using second = await startProvider(env);
    expect((await second.call("vm_delete", { name: name("vm") })).success).toBe(true);
    expect((await second.call("network_delete", { name: name("net") })).success).toBe(true);
    expect((await second.call("key_delete", { name: name("ssh") })).success).toBe(true);
    expect(leaks(env)).toEqual([]);
    await first.close().catch(() => undefined);
  });
});
