import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../../providers/libvirt/config.js";
import { parseFreeMemoryMiB, parseNodeInfo, remoteFreeBytes } from "../../../providers/libvirt/host-capacity.js";
import type { LibvirtHost } from "../../../providers/libvirt/host.js";
import { createLogger } from "../../../lib/log.js";

const NODEINFO = `CPU model:           x86_64
CPU(s):              2
CPU frequency:       2400 MHz
CPU socket(s):       1
Core(s) per socket:  2
Thread(s) per core:  1
NUMA cell(s):        1
Memory size:         24684084 KiB
`;

const MEMSTATS = `total  :             24684084 KiB
free   :             21500204 KiB
buffers:                48568 KiB
cached :              1157056 KiB
`;

describe("host capacity from virsh", () => {
  it("reads CPUs and memory from nodeinfo", () => {
    expect(parseNodeInfo(NODEINFO)).toEqual({ vcpus: 2, memoryMiB: 24105 });
    expect(parseNodeInfo("error: failed to connect")).toBeUndefined();
  });

  it("counts free, buffers and cached memory as free for guests", () => {
    expect(parseFreeMemoryMiB(MEMSTATS)).toBe(Math.floor((21500204 + 48568 + 1157056) / 1024));
    expect(parseFreeMemoryMiB("free   :  2048 KiB\n")).toBe(2);
    expect(parseFreeMemoryMiB("")).toBeUndefined();
  });

  it("reads a remote data dir's free space from its nearest existing ancestor", async () => {
    const asked: string[] = [];
    const host = {
      run: (_command: string, args: readonly string[]) => {
        const dir = args[args.length - 1] ?? "";
        asked.push(dir);
        return dir === "/var/lib" ? Promise.resolve({ stdout: "      Avail\n83181920256\n", stderr: "" }) : Promise.reject(new Error(`df: ${dir}: No such file or directory`));
      },
    } as unknown as LibvirtHost;
    expect(await remoteFreeBytes(host, "/var/lib/testenv-vm/p1")).toBe(83181920256);
    expect(asked).toEqual(["/var/lib/testenv-vm/p1", "/var/lib/testenv-vm", "/var/lib"]);
  });
});

describe("libvirt config with a pool", () => {
  it("refuses to run with the pool itself: the engine starts it with one host", () => {
    const context = { config: { hosts: [{ uri: "qemu:///system" }] }, configName: "lab", testID: "t", prefix: "p", artifactDir: undefined, stateDir: undefined, log: createLogger("test") };
    expect(() => resolveConfig(context, {})).toThrow(/a pool is placed by the testenv-vm engine/);
  });
});
