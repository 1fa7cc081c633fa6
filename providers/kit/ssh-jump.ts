import { createHmac } from "node:crypto";
import type { Duplex } from "node:stream";
import { loadSsh2 } from "../../lib/ssh2.js";

// A jump host for readiness probes: when the guest's network is not routable from here (it lives on a remote
// libvirt host), the TCP connection to the guest is opened by that host's sshd (direct-tcpip), like `ssh -J`.

export interface JumpHost {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** known_hosts text the jump host's key must be in; undefined accepts any key (no file configured). */
  knownHosts: string | undefined;
}

/** Whether a known_hosts host field (plain list or |1|salt|hash) names host:port. */
function hostFieldMatches(field: string, host: string, port: number): boolean {
  const names = port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    if (!salt || !hash) return false;
    return names.some((name) => createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash);
  }
  return field.split(",").some((pattern) => !pattern.startsWith("!") && names.includes(pattern));
}

/** The host keys known_hosts text lists for host:port, as raw key blobs. */
export function knownKeys(knownHosts: string, host: string, port: number): Buffer[] {
  const keys: Buffer[] = [];
  for (const line of knownHosts.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0]?.startsWith("#")) continue;
    const [hosts, , blob] = fields[0]?.startsWith("@") ? fields.slice(1) : fields;
    if (fields[0] === "@revoked" || !hosts || !blob) continue;
    if (hostFieldMatches(hosts, host, port)) keys.push(Buffer.from(blob, "base64"));
  }
  return keys;
}

/**
 * Opens a connection to host:port through the jump host; `use` gets the stream, and both are closed when it
 * settles. Rejects when the jump host refuses (its key is unknown, login fails) or cannot reach host:port.
 */
export async function throughJump<T>(jump: JumpHost, host: string, port: number, timeoutMs: number, use: (stream: Duplex) => Promise<T>): Promise<T> {
  const { Client } = await loadSsh2();
  return new Promise<T>((resolve, reject) => {
    const client = new Client();
    let settled = false;
    const finish = (error: Error | undefined, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      if (error) reject(error);
      else resolve(value as T);
    };
    const timer = setTimeout(() => finish(new Error(`no connection to ${host}:${port} through ${jump.user}@${jump.host} within ${Math.round(timeoutMs / 1000)}s`)), timeoutMs);
    const known = jump.knownHosts === undefined ? undefined : knownKeys(jump.knownHosts, jump.host, jump.port);
    client
      .on("ready", () => {
        client.forwardOut("127.0.0.1", 0, host, port, (error, stream) => {
          if (error) return finish(new Error(`${jump.host} cannot reach ${host}:${port}: ${error.message}`));
          // A reset of the forwarded channel fails this call instead of reaching the process as an uncaught error.
          stream.on("error", (failure: Error) => finish(new Error(`${host}:${port} through ${jump.host}: ${failure.message}`)));
          use(stream).then(
            (value) => finish(undefined, value),
            (failure: unknown) => finish(failure instanceof Error ? failure : new Error(String(failure))),
          );
        });
      })
      .on("error", (error) => finish(new Error(`jump host ${jump.user}@${jump.host}: ${error.message}`)))
      .connect({
        host: jump.host,
        port: jump.port,
        username: jump.user,
        privateKey: jump.privateKey,
        readyTimeout: Math.min(timeoutMs, 20_000),
        ...(known ? { hostVerifier: (key: Buffer) => known.some((candidate) => candidate.equals(key)) } : {}),
      });
  });
}
