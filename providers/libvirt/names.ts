import { createHash } from "node:crypto";
import { invalidSpec } from "../kit/index.js";

export { checkResourceName } from "../kit/index.js";

function hex(value: string, length: number): string {
  return createHash("sha256").update(value).digest("hex").slice(0, length);
}

/** A VM's name within its environment: the provider-level name without the environment's `<prefix>-`. */
export function logicalVmName(name: string, prefix: string | undefined): string {
  return prefix && name.startsWith(`${prefix}-`) && name.length > prefix.length + 1 ? name.slice(prefix.length + 1) : name;
}

export const MAX_IFNAME = 15;
const SAFE_IFNAME_PREFIX = /^[a-z0-9][a-z0-9-]{0,8}$/;

/**
 * A Linux interface name (≤ 15 chars) for a provider-level network name. It starts with the environment's
 * prefix when that fits, so leak checks can find it, and ends with a hash of the full name for uniqueness.
 */
export function deriveBridgeName(networkName: string, options: { bridgePrefix?: string | undefined; envPrefix?: string | undefined } = {}): string {
  let prefix = options.bridgePrefix ?? "";
  if (prefix === "") {
    const env = (options.envPrefix ?? "").toLowerCase();
    prefix = SAFE_IFNAME_PREFIX.test(env) ? `${env}-` : "tvm";
  }
  const room = MAX_IFNAME - prefix.length;
  return `${prefix}${hex(`bridge:${networkName}`, room)}`;
}

/** Deterministic locally administered MAC (QEMU's 52:54:00 OUI) so static leases can be planned from the name. */
export function deriveMac(vmName: string, nicIndex: number): string {
  const digest = createHash("sha256").update(`mac:${vmName}:${nicIndex}`).digest();
  const tail = [digest[0], digest[1], digest[2]].map((b) => (b ?? 0).toString(16).padStart(2, "0"));
  return ["52", "54", "00", ...tail].join(":");
}

export function checkBridgePrefix(value: string): string {
  if (!/^[a-z][a-z0-9-]{0,7}$/.test(value)) {
    throw invalidSpec(`bridgePrefix "${value}" must be 1-8 lowercase letters, digits or '-', starting with a letter`);
  }
  return value;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
export function normalizeMac(value: string, field: string): string {
  const mac = value.trim().toLowerCase();
  if (!MAC.test(mac)) throw invalidSpec(`${field}: "${value}" is not a MAC address like 52:54:00:12:34:56`);
  return mac;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export function checkHostname(value: string, field: string): string {
  if (!HOSTNAME.test(value) || value.length > 253) throw invalidSpec(`${field}: "${value}" is not a valid host name`);
  return value;
}

/** A unique-local IPv6 /64 prefix (fdxx:xxxx:xxxx:xxxx) derived from a network name. */
export function deriveUla(networkName: string): string {
  const h = hex(`ula:${networkName}`, 14);
  return `fd${h.slice(0, 2)}:${h.slice(2, 6)}:${h.slice(6, 10)}:${h.slice(10, 14)}`;
}
