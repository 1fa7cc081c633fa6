import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";

// The port forwarder of a project instance: its own small process, so forwards keep working after `up` exits.
// TCP: one listener per forward, each accepted connection piped to the guest. UDP: one socket per forward, and per
// client address a socket of its own towards the guest, so that the guest's replies find their way back; a client
// silent for UDP_IDLE_MS is forgotten. Started and stopped (by pid, start time and argv) by port-forward.ts.
// argv: <ready file> <forwards as JSON>.

interface Forward {
  hostIP: string;
  hostPort: number;
  guestIP: string;
  guestPort: number;
  protocol?: "tcp" | "udp";
}

const UDP_IDLE_MS = 120_000;

const [readyFile, spec] = process.argv.slice(2);
const forwards = JSON.parse(spec ?? "[]") as Forward[];

function listenTcp(forward: Forward): Promise<void> {
  return new Promise((resolve, reject) => {
    // Half-open both ways, so that a client that finishes sending still gets the guest's whole answer.
    const server = createServer({ allowHalfOpen: true }, (client) => {
      const upstream = connect({ port: forward.guestPort, host: forward.guestIP, allowHalfOpen: true });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
      client.pipe(upstream).pipe(client);
    });
    server.once("error", reject);
    server.listen(forward.hostPort, forward.hostIP, () => resolve());
  });
}

function listenUdp(forward: Forward): Promise<void> {
  return new Promise((resolve, reject) => {
    const listener = createSocket("udp4");
    const clients = new Map<string, { upstream: Socket; idle: NodeJS.Timeout }>();
    const upstreamFor = (client: RemoteInfo) => {
      const key = `${client.address}:${client.port}`;
      let entry = clients.get(key);
      if (entry === undefined) {
        const upstream = createSocket("udp4");
        upstream.on("message", (reply) => listener.send(reply, client.port, client.address));
        upstream.on("error", () => forget());
        const forget = () => {
          clearTimeout(clients.get(key)?.idle);
          clients.delete(key);
          upstream.close();
        };
        entry = { upstream, idle: setTimeout(forget, UDP_IDLE_MS) };
        clients.set(key, entry);
      } else {
        entry.idle.refresh();
      }
      return entry.upstream;
    };
    listener.on("message", (datagram, client) => upstreamFor(client).send(datagram, forward.guestPort, forward.guestIP));
    listener.once("error", reject);
    listener.bind(forward.hostPort, forward.hostIP, () => resolve());
  });
}

Promise.all(forwards.map((forward) => (forward.protocol === "udp" ? listenUdp(forward) : listenTcp(forward)))).then(
  () => writeFileSync(readyFile ?? "/dev/null", "ready\n"),
  (error: unknown) => {
    writeFileSync(readyFile ?? "/dev/null", `error ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
process.on("SIGTERM", () => process.exit(0));
