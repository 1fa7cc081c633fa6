import { createSocket } from "node:dgram";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as PortForwardModule from "../../src/project/port-forward.js";
import { isRunning } from "../../lib/process-identity.js";

// The PORTS forwarder as built (dist/): its own process, forwarding loopback ports to a "guest" that is a TCP
// server on loopback here; stopped by its recorded identity and nothing else.

const built = (): Promise<typeof PortForwardModule> => import(pathToFileURL(resolve("dist/src/project/port-forward.js")).href) as Promise<typeof PortForwardModule>;

function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => done(port));
    });
  });
}

function exchange(port: number, text: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(text));
    let data = "";
    socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
    socket.on("error", fail);
    socket.on("close", () => done(data));
  });
}

/** Sends one datagram to the loopback port from a fresh socket and resolves with the first reply. */
function datagram(port: number, text: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      fail(new Error(`no UDP reply from 127.0.0.1:${port} within 5 s`));
    }, 5000);
    socket.once("message", (reply) => {
      clearTimeout(timer);
      socket.close();
      done(reply.toString());
    });
    socket.send(text, port, "127.0.0.1");
  });
}

/** PIDs of forwarder processes serving `hostPort`, from /proc. */
function forwardersFor(hostPort: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes("forwarder.js") && cmdline.includes(`"hostPort":${hostPort},`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe("port forwarder", () => {
  let guest: Server;
  let guestPort: number;
  let workDir: string;

  beforeAll(async () => {
    guest = createServer((socket) => socket.on("data", (chunk: Buffer) => socket.end(`echo:${chunk.toString()}`)));
    await new Promise<void>((done) => guest.listen(0, "127.0.0.1", done));
    guestPort = (guest.address() as AddressInfo).port;
    workDir = mkdtempSync(join(tmpdir(), "testenv-vm-forward-"));
  });
  afterAll(() => {
    guest.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("forwards each host port to the guest until it is stopped, from a process of its own", async () => {
    const { startForwarder, stopForwarder } = await built();
    const hostPort = await freePort();
    const record = await startForwarder([{ hostIP: "127.0.0.1", hostPort, guestPort, protocol: "tcp" }], "127.0.0.1", workDir);
    try {
      expect(record.pid).not.toBe(process.pid);
      expect(await isRunning(record)).toBe(true);
      expect(await exchange(hostPort, "hello")).toBe("echo:hello");
    } finally {
      // Stopped whatever the assertions said: the forwarder outlives this process by design.
      await stopForwarder(record);
    }
    expect(await isRunning(record)).toBe(false);
    expect(forwardersFor(hostPort)).toEqual([]);
    await expect(exchange(hostPort, "x")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("forwards UDP too: each client gets its own replies", async () => {
    const { startForwarder, stopForwarder, portIssues } = await built();
    const echo = createSocket("udp4");
    echo.on("message", (message, from) => echo.send(`echo:${message.toString()}`, from.port, from.address));
    await new Promise<void>((done) => echo.bind(0, "127.0.0.1", done));
    const udpGuestPort = echo.address().port;
    const hostPort = await freePort();
    const forward = { hostIP: "127.0.0.1", hostPort, guestPort: udpGuestPort, protocol: "udp" as const };
    expect(await portIssues([forward])).toEqual([]);
    const record = await startForwarder([forward], "127.0.0.1", workDir);
    try {
      // The port is now taken for UDP, and the pre-create check says so.
      expect((await portIssues([forward]))[0]?.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${hostPort}/udp is already in use`));
      const [first, second] = await Promise.all([datagram(hostPort, "one"), datagram(hostPort, "two")]);
      expect([first, second]).toEqual(["echo:one", "echo:two"]);
    } finally {
      await stopForwarder(record);
      echo.close();
    }
    expect(forwardersFor(hostPort)).toEqual([]);
  });

  it("fails clearly when a host port is taken after the check, and leaves no process", async () => {
    const { startForwarder } = await built();
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, "127.0.0.1", done));
    const hostPort = (taken.address() as AddressInfo).port;
    try {
      await expect(startForwarder([{ hostIP: "127.0.0.1", hostPort, guestPort, protocol: "tcp" }], "127.0.0.1", workDir)).rejects.toThrow(/EADDRINUSE/);
      expect(forwardersFor(hostPort)).toEqual([]);
    } finally {
      taken.close();
    }
  });
});
