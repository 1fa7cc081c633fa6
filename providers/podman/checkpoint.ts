import { run } from "../../lib/run.js";

// Snapshots of containers would be `podman container checkpoint/restore`, which needs a working CRIU. This provider
// does not checkpoint yet: the kit answers every vm_snapshot_* call NOT_IMPLEMENTED with this reason, which says
// whether CRIU could work here, so the user knows whether the missing piece is this provider or the host.

/** Why snapshots are unavailable: `criu check` fails on hosts whose kernel (or sandbox) lacks what CRIU needs. */
export async function checkpointUnavailable(): Promise<string> {
  try {
    await run("criu", ["check"], { timeoutMs: 10_000 });
    return "CRIU works on this host, but the podman provider does not checkpoint containers (podman container checkpoint) yet";
  } catch (error) {
    const lines = (error instanceof Error ? error.message : String(error)).split("\n").map((line) => line.trim());
    const detail = lines.find((line) => /error/i.test(line)) ?? lines[0] ?? "failed";
    return `a container snapshot needs podman checkpoint/restore, and CRIU does not work on this host (criu check: ${detail})`;
  }
}
