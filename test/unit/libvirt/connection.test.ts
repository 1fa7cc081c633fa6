import { describe, expect, it } from "vitest";
import { CommandError } from "../../../lib/run.js";
import { localConnection, runVirsh, unixSocketUri, type LibvirtConnection } from "../../../providers/libvirt/connection.js";

// Real virsh against libvirt's built-in test driver and a socket that does not exist: no daemon is needed.

/** A forwarded connection whose first socket is gone (its SSH master ended); reopening yields a working one. */
function forwardedConnection(): LibvirtConnection & { reopened: number } {
  const connection = {
    uri: "qemu+ssh://root@h/system",
    reopened: 0,
    open: () => Promise.resolve(connection.reopened === 0 ? unixSocketUri("/nonexistent/testenv-vm/libvirt.sock") : "test:///default"),
    reopen: () => {
      connection.reopened += 1;
      return connection.open();
    },
  };
  return connection;
}

describe("libvirt connection: runVirsh", () => {
  it("sets a forwarded connection up again once when virsh could not connect through it", async () => {
    const connection = forwardedConnection();
    const { stdout } = await runVirsh(connection, ["list", "--all", "--name"], { timeoutMs: 30_000 });
    expect(stdout.trim()).toBe("test");
    expect(connection.reopened).toBe(1);
  });

  it("does not retry a plain URI, nor a command that reached the daemon and failed", async () => {
    const plain = localConnection(unixSocketUri("/nonexistent/testenv-vm/libvirt.sock"));
    await expect(runVirsh(plain, ["list"], { timeoutMs: 30_000 })).rejects.toThrow(/Failed to connect socket/);
    const connection = forwardedConnection();
    connection.reopened = 1; // already working
    await expect(runVirsh(connection, ["dominfo", "no-such-domain"], { timeoutMs: 30_000 })).rejects.toBeInstanceOf(CommandError);
    expect(connection.reopened).toBe(1);
  });
});
