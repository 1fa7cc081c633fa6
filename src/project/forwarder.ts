import { writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";

// The port forwarder of a project instance: its own small process, so forwards keep working after `up` exits.
// One TCP listener per forward; each accepted connection is piped to the guest. Started and stopped (by pid,
// start time and argv) by port-forward.ts. argv: <ready file> <forwards as JSON>.

interface Forward {
  hostIP: string;
  hostPort: number;
  guestIP: string;
  guestPort: number;
}

const [readyFile, spec] = process.argv.slice(2);
const forwards = JSON.parse(spec ?? "[]") as Forward[];

function listen(forward: Forward): Promise<Server> {
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
    server.listen(forward.hostPort, forward.hostIP, () => resolve(server));
  });
}

Promise.all(forwards.map(listen)).then(
  () => writeFileSync(readyFile ?? "/dev/null", "ready\n"),
  (error: unknown) => {
    writeFileSync(readyFile ?? "/dev/null", `error ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
process.on("SIGTERM", () => process.exit(0));
