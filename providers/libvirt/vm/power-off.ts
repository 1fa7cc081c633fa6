import type { StopMethod } from "../../../api/provider.js";
import type { Logger } from "../../../lib/log.js";
import { retryUntil } from "../../../lib/retry.js";
import { ProviderError } from "../../kit/index.js";
import type { LibvirtBackend } from "../backend.js";

/** How often a stop looks whether the guest has powered off. */
const STOP_POLL_MS = 500;
/** Every this many polls the ACPI request is sent again: one sent while the guest was still booting is lost. */
const SHUTDOWN_RESEND_POLLS = 20;

export interface PowerOffOptions {
  timeoutSeconds: number;
  force: boolean;
}

/** Powers a domain off (ACPI, then forced after the timeout; force: at once) and says how it went off. */
export async function powerOffDomain(backend: LibvirtBackend, log: Logger, name: string, options: PowerOffOptions): Promise<StopMethod> {
  if (!(await backend.domainRunning(name))) return "already-stopped";
  if (!options.force) {
    await backend.shutdownDomain(name);
    const outcome = await retryUntil(
      async (attempt) => {
        if (!(await backend.domainRunning(name))) return true;
        if (attempt.number % SHUTDOWN_RESEND_POLLS === 0) await backend.shutdownDomain(name);
        return undefined;
      },
      // One interval more than the timeout: retryUntil stops once less than an interval is left, and the guest
      // is owed the whole timeout. A libvirt error here is not "not yet": report it, never destroy blind.
      { timeoutMs: options.timeoutSeconds * 1000 + STOP_POLL_MS, intervalMs: STOP_POLL_MS, retryable: () => false },
    );
    if (outcome.ok) return "graceful";
    log.info(`vm ${name}: still running ${options.timeoutSeconds}s after the ACPI shutdown request; forcing it off`);
  }
  await backend.destroyDomain(name);
  if (await backend.domainRunning(name)) throw new ProviderError("PROVIDER_ERROR", `vm "${name}" is still running after it was forced off (virsh destroy); see the libvirt log`);
  return "forced";
}
