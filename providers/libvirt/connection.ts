import { CommandError, run, type RunOptions, type RunResult } from "../../lib/run.js";

// How this process reaches the libvirt daemon it manages. Locally that is the configured URI. A remote host's
// daemon is reached through a local socket forwarded over the provider's own OpenSSH master connection
// (providers/libvirt/ssh-host.ts), not through libvirt's ssh transports: over libvirt 9.0's libssh transport a reply
// larger than about 8 KiB never reaches the N-API binding and `virsh` dies by SIGSEGV after about 30 KiB, and its
// ssh transport cannot take a known_hosts file and costs a handshake per virsh call (docs/scale-out.md).

/**
 * How long libvirt may be gone (its daemon restarting) before a call gives up: a call that lost its connection, or
 * found no daemon, waits this long for it to come back, and a wait for a guest's address tolerates this much silence.
 */
export const LIBVIRT_OUTAGE_MS = 30_000;

export interface LibvirtConnection {
  /** The URI as configured: what users see in messages. */
  readonly uri: string;
  /** The URI to open libvirt with now; a remote host's forward is set up on first use. */
  open(): Promise<string>;
  /** Sets the connection up again after libvirt could not connect through it (a forward whose SSH master ended). */
  reopen(): Promise<string>;
}

export function localConnection(uri: string): LibvirtConnection {
  const opened = (): Promise<string> => Promise.resolve(uri);
  return { uri, open: opened, reopen: opened };
}

// virsh's words when it reached no daemon at all: nothing ran, so the command may be run again.
const NOT_CONNECTED = /failed to connect socket|failed to connect to the hypervisor/i;

/** Runs virsh against the connection; when it could not connect, sets the connection up again and retries once. */
export async function runVirsh(connection: LibvirtConnection, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const once = async (uri: string): Promise<RunResult> => run("virsh", ["-q", "-c", uri, ...args], options);
  const uri = await connection.open();
  try {
    return await once(uri);
  } catch (error) {
    // A plain URI (uri is the configured one): setting it up again would change nothing.
    if (!(error instanceof CommandError) || !NOT_CONNECTED.test(error.stderr) || uri === connection.uri) throw error;
    return once(await connection.reopen());
  }
}

/** libvirt's URI for a daemon's socket at `path` (a query value: the characters that end one are escaped). */
export function unixSocketUri(path: string): string {
  return `qemu+unix:///system?socket=${encodeURI(path).replace(/[&=?#+]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
