import { describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.js";
import { ProviderError } from "../../../providers/kit/index.js";
import { DefaultLibvirtBackend, type BackendOptions } from "../../../providers/libvirt/backend.js";
import { localConnection, unixSocketUri } from "../../../providers/libvirt/connection.js";

// The backend's N-API connection across a libvirtd restart, against a fake binding that speaks libvirt's error
// messages: a closed connection is dropped and reopened, a daemon that is starting again is waited for (bounded),
// and one never reached is not waited for at all.

const CLOSED = "internal error: client socket is closed";
const NO_DAEMON = "Failed to connect socket to '/run/libvirt/libvirt-sock': No such file or directory";

/** One libvirtd: domains survive its restart; connections made before a restart are dead afterwards. */
class FakeDaemon {
  generation = 0;
  up = true;
  opened = 0;
  readonly running = new Set<string>();
  readonly defined = new Set<string>(["vm1"]);
  /** The next create starts the domain, then the connection dies before the answer comes back. */
  dieDuringNextCreate = false;

  restart(): void {
    this.generation += 1;
  }

  binding(): BackendOptions["loadBinding"] {
    return fakeBinding(this);
  }
}

/** @unraid/libvirt's Hypervisor as far as the backend uses it, talking to `daemon`. */
function fakeBinding(daemon: FakeDaemon): BackendOptions["loadBinding"] {
  class Hypervisor {
    private generation = -1;
    connectOpen(): Promise<void> {
      if (!daemon.up) return Promise.reject(new Error(NO_DAEMON));
      daemon.opened += 1;
      this.generation = daemon.generation;
      return Promise.resolve();
    }
    connectClose(): Promise<void> {
      return Promise.resolve();
    }
    private live(): Promise<void> {
      return this.generation === daemon.generation && daemon.up ? Promise.resolve() : Promise.reject(new Error(CLOSED));
    }
    async connectListAllDomains() {
      await this.live();
      return [...daemon.defined].map((name) => this.handle(name));
    }
    async domainLookupByName(name: string) {
      await this.live();
      if (!daemon.defined.has(name)) throw new Error(`Domain not found: no domain with matching name '${name}'`);
      return this.handle(name);
    }
    async domainDefineXML(xml: string) {
      await this.live();
      const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1] ?? "";
      daemon.defined.add(name);
      return this.handle(name);
    }
    private handle(name: string) {
      const live = () => this.live();
      return {
        getName: async () => (await live(), name),
        getXMLDesc: async () => (await live(), `<domain><name>${name}</name></domain>`),
        getInfo: async () => (await live(), { state: daemon.running.has(name) ? 1 : 5 }),
        create: async () => {
          await live();
          if (daemon.running.has(name)) throw new Error("Requested operation is not valid: domain is already running");
          daemon.running.add(name);
          if (daemon.dieDuringNextCreate) {
            daemon.dieDuringNextCreate = false;
            daemon.restart();
            throw new Error("End of file while reading data: Input/output error");
          }
        },
        shutdown: async () => void (await live()),
        destroy: async () => (await live(), void daemon.running.delete(name)),
      };
    }
  }
  return () => Promise.resolve({ Hypervisor } as unknown as Awaited<ReturnType<NonNullable<BackendOptions["loadBinding"]>>>);
}

function backendOn(daemon: FakeDaemon, outageMs = 5_000): DefaultLibvirtBackend {
  return new DefaultLibvirtBackend(localConnection("qemu:///system"), createLogger("test"), { loadBinding: daemon.binding(), outageMs });
}

describe("libvirt backend across a libvirtd restart", () => {
  it("drops the closed connection, opens a new one and answers the call", async () => {
    const daemon = new FakeDaemon();
    const backend = backendOn(daemon);
    expect(await backend.listDomains()).toEqual(["vm1"]);
    daemon.restart();
    expect(await backend.domainXml("vm1")).toBe("<domain><name>vm1</name></domain>");
    expect(await backend.domainRunning("vm1")).toBe(false);
    await backend.startDomain("vm1");
    expect(daemon.running.has("vm1")).toBe(true);
    expect(daemon.opened).toBe(2);
  });

  it("waits for a daemon that is starting again, and goes on once it answers", async () => {
    const daemon = new FakeDaemon();
    const backend = backendOn(daemon);
    await backend.listDomains();
    daemon.restart();
    daemon.up = false;
    setTimeout(() => (daemon.up = true), 600);
    const started = Date.now();
    await backend.defineDomain("<domain><name>vm2</name></domain>");
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(daemon.defined.has("vm2")).toBe(true);
  });

  it("gives up after the outage bound with a retryable error naming the call", async () => {
    const daemon = new FakeDaemon();
    const backend = backendOn(daemon, 800);
    await backend.listDomains();
    daemon.restart();
    daemon.up = false;
    const started = Date.now();
    const error = await backend.destroyDomain("vm1").then(() => undefined, (e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", retryable: true });
    expect((error as Error).message).toMatch(/libvirt is not reachable|connection was lost/);
  });

  it("waits for one outage once: later calls fail at once until libvirt answers again", async () => {
    const daemon = new FakeDaemon();
    const backend = backendOn(daemon, 600);
    await backend.listDomains();
    daemon.restart();
    daemon.up = false;
    await expect(backend.listDomains()).rejects.toThrow(/libvirt is not reachable/);
    const started = Date.now();
    await expect(backend.domainXml("vm1")).rejects.toThrow(/libvirt is not reachable/);
    await expect(backend.domainRunning("vm1")).rejects.toThrow(/libvirt is not reachable/);
    expect(Date.now() - started).toBeLessThan(300);
    daemon.up = true;
    expect(await backend.listDomains()).toEqual(["vm1"]);
    daemon.restart();
    daemon.up = false;
    setTimeout(() => (daemon.up = true), 100);
    expect(await backend.domainRunning("vm1")).toBe(false); // a new outage gets its own wait
  });

  it("a start whose answer was lost with the connection finds the domain running and succeeds", async () => {
    const daemon = new FakeDaemon();
    const backend = backendOn(daemon);
    await backend.listDomains();
    daemon.dieDuringNextCreate = true;
    await backend.startDomain("vm1");
    expect(daemon.running.has("vm1")).toBe(true);
    expect(daemon.opened).toBe(2);
  });

  it("does not wait for a daemon this process never reached", async () => {
    const daemon = new FakeDaemon();
    daemon.up = false;
    const started = Date.now();
    await expect(backendOn(daemon, 10_000).listDomains()).rejects.toThrow(/libvirt is not reachable/);
    const viaVirsh = new DefaultLibvirtBackend(localConnection(unixSocketUri("/nonexistent/testenv-vm/libvirt.sock")), createLogger("test"), { useBinding: false, outageMs: 10_000 });
    await expect(viaVirsh.listNetworks()).rejects.toThrow(/libvirt is not reachable/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
