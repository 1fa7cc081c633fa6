import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../../lib/log.js";
import type { LibvirtBackend } from "../../../providers/libvirt/backend.js";
import { NetworkService } from "../../../providers/libvirt/networks.js";
import { RecordStore } from "../../../providers/kit/records.js";

// Where libvirt's lease status file cannot be read (no <network>.conf of this daemon: qemu:///session, non-root),
// each lease read is a `virsh net-dhcp-leases` process; the address wait polls every 100 ms, so reads are reused.

const NETWORK = "tvm-unit-unreadable-net"; // no /var/lib/libvirt/dnsmasq/<this>.conf on any machine

async function servicesWith(backend: Partial<LibvirtBackend>): Promise<{ networks: NetworkService; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "tvm-virsh-leases-"));
  const networks = new NetworkService({ backend: backend as LibvirtBackend, records: new RecordStore(dir), dataDir: dir, prefix: "abc123", bridgePrefix: undefined, log: createLogger("test") });
  return { networks, dir };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("libvirt leases read through virsh", () => {
  it("are asked of virsh at most once a second, and the next read after that sees a new lease", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    let calls = 0;
    let leased: { mac: string; ip: string }[] = [];
    const { networks, dir } = await servicesWith({
      uri: "test:///leases",
      networkXml: () => Promise.resolve(`<network><name>${NETWORK}</name><bridge name="virbr-t"/></network>`),
      networkLeases: () => {
        calls += 1;
        return Promise.resolve(leased);
      },
    });
    try {
      expect(await networks.leasesFor(NETWORK, undefined)).toEqual([]);
      leased = [{ mac: "52:54:00:00:00:01", ip: "192.0.2.10" }];
      vi.advanceTimersByTime(100);
      expect(await networks.leasesFor(NETWORK, undefined)).toEqual([]);
      vi.advanceTimersByTime(500);
      expect(await networks.leasesFor(NETWORK, undefined)).toEqual([]);
      expect(calls).toBe(1);
      vi.advanceTimersByTime(400);
      expect(await networks.leasesFor(NETWORK, undefined)).toEqual(leased);
      expect(calls).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
