import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { namePrefix } from "../../src/orchestrator/isolation.js";
import { projectIdentity } from "../../src/project/identity.js";
import { NETNS, cliInNetns as cli, conmonProcesses, createNetns, deleteNetns, inNetns, podman, removeProjectFolder } from "./support.js";

// NETWORK_TYPE=bridge for a container, as seed 001's user has it: a host bridge on their LAN with the host's own
// address on it and other machines behind it. Here the LAN is a bridge in the test's namespace and "another
// machine" is a second namespace plugged into it by a veth. The container takes FIXED_IP on that bridge; the
// host (ssh), the other machine and the container reach each other; `rm` leaves the bridge exactly as it was,
// even when the container was the bridge's last port (netavark deletes a portless bridge; the keeper prevents it).

const BRIDGE = `tvmlan${process.pid % 100_000}`;
const LAN = "192.168.253";
const FIXED_IP = `${LAN}.60`;
const PEER_IP = `${LAN}.20`;
const PEER_NS = `${NETNS}p`;
const PEER_VETH = `tvmpv${process.pid % 100_000}`;
const PEER_PORT = 18_500 + (process.pid % 500);

const ipHost = (...args: string[]): string => inNetns("ip", args);
const inPeer = (command: string, args: readonly string[]): string => inNetns("nsenter", [`--net=/run/netns/${PEER_NS}`, command, ...args]);
const ports = (): string[] => (JSON.parse(ipHost("-j", "link", "show", "master", BRIDGE)) as Array<{ ifname: string }>).map((l) => l.ifname);

describe("podman: project folder with INFRA_TYPE=container on a host bridge (NETWORK_TYPE=bridge)", () => {
  let folder: string;
  let name: string;
  let prefix: string;
  let peerServer: ChildProcess | undefined;

  beforeAll(async () => {
    createNetns();
    ipHost("link", "add", BRIDGE, "type", "bridge");
    ipHost("addr", "add", `${LAN}.1/24`, "dev", BRIDGE);
    ipHost("link", "set", BRIDGE, "up");
    inNetns("ip", ["netns", "add", PEER_NS]);
    ipHost("link", "add", PEER_VETH, "type", "veth", "peer", "name", "eth0", "netns", PEER_NS);
    ipHost("link", "set", PEER_VETH, "master", BRIDGE, "up");
    inPeer("ip", ["addr", "add", `${PEER_IP}/24`, "dev", "eth0"]);
    inPeer("ip", ["link", "set", "eth0", "up"]);
    peerServer = spawn("nsenter", [`--net=/run/netns/${PEER_NS}`, "python3", "-m", "http.server", String(PEER_PORT), "--bind", PEER_IP], { stdio: "ignore" });
    await new Promise((done) => setTimeout(done, 500));

    const parent = mkdtempSync("/tmp/testenv-vm-podman-bridge-");
    folder = join(parent, "lanbox");
    mkdirSync(folder);
    name = projectIdentity(folder).name;
    prefix = namePrefix(name);
    writeFileSync(
      join(folder, ".env"),
      ["INFRA_TYPE=container", "MEMORY=128", "CPUS=1", "DISK=1", "NETWORK_TYPE=bridge", `BRIDGE=${BRIDGE}`, `FIXED_IP=${FIXED_IP}/24`, `GATEWAY=${LAN}.1`, "SSH_USER=dev", "READY_TIMEOUT=120", ""].join("\n"),
    );
  });

  afterAll(async () => {
    await removeProjectFolder(folder, prefix);
    if (peerServer?.pid !== undefined) process.kill(peerServer.pid, "SIGTERM");
    try {
      inNetns("ip", ["netns", "delete", PEER_NS]);
    } catch {
      // never made
    }
    deleteNetns();
    if (folder !== undefined) rmSync(resolve(folder, ".."), { recursive: true, force: true });
  });

  it("up puts the container on the bridge at FIXED_IP; the host reaches it over ssh", async () => {
    const result = await cli(folder, "up");
    expect(result.code, result.stderr || result.stdout).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain("GATEWAY and DNS not applied");
    const status = await cli(folder, "status", "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ instance: name, status: "running", ip: FIXED_IP });
    // The container's veth and the keeper are ports of the bridge, next to the other machine.
    expect(ports()).toHaveLength(3);
    expect(ports()).toContain(PEER_VETH);
    expect(podman("network", "inspect", `${prefix}-net`, "--format", "{{.NetworkInterface}}").trim()).toBe(BRIDGE);
    const host = await cli(folder, "ssh", "--", "hostname");
    expect(host.code, host.stderr).toBe(0);
    expect(host.stdout.trim()).toBe(name);
  });

  it("another machine on the bridge reaches the container, and the container reaches it", async () => {
    const banner = inPeer("python3", ["-c", `import socket; s = socket.create_connection(('${FIXED_IP}', 22), 5); print(s.recv(64).decode().strip())`]);
    expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
    const probe = `python3 -c "import urllib.request; print(urllib.request.urlopen('http://${PEER_IP}:${PEER_PORT}/', timeout=5).status)"`;
    const fromContainer = await cli(folder, "ssh", "--", probe);
    expect(fromContainer.stdout.trim(), fromContainer.stderr).toBe("200");
  });

  it("rm removes the container and our podman network, and leaves the bridge as it was, even with no other port left", async () => {
    // The container is now the bridge's last port but for the keeper: netavark would delete a bridge left portless.
    ipHost("link", "set", PEER_VETH, "nomaster");
    const removed = await cli(folder, "rm", "--json");
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ instance: name, removed: true });
    expect(ipHost("-o", "addr", "show", "dev", BRIDGE)).toContain(`${LAN}.1/24`);
    expect(ports()).toEqual([]);
    expect(ipHost("-o", "link", "show").split("\n").filter((line) => line.includes(`${prefix}-`))).toEqual([]);
    expect(podman("ps", "--all", "--format", "{{.Names}}")).not.toContain(prefix);
    expect(podman("network", "ls", "--format", "{{.Name}}")).not.toContain(prefix);
    expect(conmonProcesses(prefix)).toEqual([]);
  });
});
