import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type {
  CapabilitiesResponse,
  KeyCreateRequest,
  KeyState,
  NetworkCreateRequest,
  NetworkState,
  StopMethod,
  VMCreateRequest,
  VMStartRequest,
  VMState,
  VMStopRequest,
} from "../../api/provider.js";
import { packageVersion } from "../../lib/package.js";
import { ProviderError, alreadyExists, busy, invalidSpec, notFound, type ProviderContext, type ProviderImplementation } from "../kit/index.js";
import type { StubConfig } from "./config.js";
import { nameMatches } from "./faults.js";
import {
  allocate,
  allocateMac,
  contains,
  formatIPv4,
  hashInt,
  hostRange,
  parseCidr,
  parseIPv4,
  stableUuid,
  type Subnet,
} from "./ipam.js";
import { planKey, removeKeyFiles, writeKeyFiles } from "./keys.js";
import { forgetOwner, ownedObjects, reclaimKind, recordOwner, requireStored } from "./ownership.js";
import { createStubSnapshots, dropSnapshotsOf } from "./snapshots.js";
import type { StubData, StubStore } from "./store.js";

export const STUB_NETWORK_KINDS = ["bridge", "libvirt", "dnsmasq", "nat", "isolated"] as const;
export const STUB_KEY_TYPES = ["ed25519", "rsa", "ecdsa"] as const;
/**
 * What the stub simulates: it records firmware, TPM and readiness on the VM (providerState.boot/readiness) and
 * refuses what a real provider would (secure boot without UEFI), so a spec that passes on the stub is one libvirt
 * takes too. It has no console log and no PXE.
 */
export const STUB_VM_FEATURES = ["disk", "bios", "uefi", "secureBoot", "tpm", "multiNic", "cloudInit", "readiness.ssh", "readiness.tcp", "readiness.cloudInit"] as const;
const OPERATIONS = ["create", "get", "list", "delete"] as const;
const VM_OPERATIONS = [...OPERATIONS, "start", "stop"] as const;

// Networks without a cidr get a /24 of their own in 192.168.100-199.0/24; VMs without networks share this one.
const DEFAULT_POOL_BASE = "192.168.100.0";
const DETACHED_SUBNET = "192.168.99.0/24";

export function stubCapabilities(): CapabilitiesResponse {
  return {
    providerName: "stub",
    version: packageVersion(),
    resources: [
      { kind: "key", operations: [...OPERATIONS], keyTypes: [...STUB_KEY_TYPES] },
      { kind: "network", operations: [...OPERATIONS], networkKinds: [...STUB_NETWORK_KINDS] },
      { kind: "vm", operations: [...VM_OPERATIONS], vmFeatures: [...STUB_VM_FEATURES] },
    ],
    simulated: true,
  };
}

interface NetworkProviderState {
  attachTo?: string;
  /** Where VM addresses come from: the DHCP range when given, else the subnet's hosts. */
  poolFirst: string;
  poolLast: string;
}

function networkPool(network: NetworkState): { first: number; last: number } {
  const state = network.providerState as NetworkProviderState | undefined;
  return { first: parseIPv4(state?.poolFirst ?? "") ?? 0, last: parseIPv4(state?.poolLast ?? "") ?? -1 };
}

function vmNetworks(vm: VMState): string[] {
  const networks = vm.providerState?.networks;
  return Array.isArray(networks) ? (networks as string[]) : [];
}

/** Keys whose public key the VM's cloud-init users authorize: they are in use while the VM exists. */
function vmKeys(vm: VMState): string[] {
  const keys = vm.providerState?.keys;
  return Array.isArray(keys) ? (keys as string[]) : [];
}

function sorted<T extends { name: string }>(records: Record<string, T>): T[] {
  return Object.values(records).sort((a, b) => a.name.localeCompare(b.name));
}

export interface StubOptions {
  config: StubConfig;
  store: StubStore;
  /** testID and stateDir are recorded as the owner of what this process makes (for gc). */
  context: Pick<ProviderContext, "prefix" | "artifactDir"> & Partial<Pick<ProviderContext, "testID" | "stateDir">>;
}

/** The stub provider: every resource is a record in the store; nothing touches the host. */
export function createStub(options: StubOptions): ProviderImplementation {
  const { config, store, context } = options;
  const defaultKeyDir = join(context.artifactDir ?? join(tmpdir(), "testenv-vm-stub"), "keys");
  const consoleLogOf = (name: string): string | undefined =>
    config.consoleLog ? join(context.artifactDir ?? join(tmpdir(), "testenv-vm-stub"), "console", `${name}.log`) : undefined;

  const keys = {
    create: async (request: KeyCreateRequest): Promise<KeyState> => {
      const exists = await store.transact((data) => request.name in data.keys);
      if (exists) throw alreadyExists("key", request.name);
      // Key generation (rsa 4096) can be slow: do it outside the lock, then commit.
      const plan = await planKey(request, defaultKeyDir, config.writeKeyFiles);
      return store.transact((data) => {
        if (request.name in data.keys) throw alreadyExists("key", request.name);
        if (plan.files !== undefined) writeKeyFiles(plan.state, plan.files);
        data.keys[request.name] = plan.state;
        recordOwner(data, "key", request.name, context);
        return plan.state;
      });
    },
    get: (name: string) =>
      store.transact((data) => {
        const key = data.keys[name];
        if (key === undefined) throw notFound("key", name);
        return key;
      }),
    list: () => store.transact((data) => sorted(data.keys)),
    delete: (name: string, force: boolean) =>
      store.transact((data) => {
        const key = data.keys[name];
        if (key === undefined) throw notFound("key", name);
        const user = force ? undefined : Object.values(data.vms).find((v) => vmKeys(v).includes(name));
        if (user !== undefined) throw busy("key", name, `vm "${user.name}"`);
        removeKeyFiles(key);
        delete data.keys[name];
        forgetOwner(data, "key", name);
      }),
  };

  const networks = {
    create: (request: NetworkCreateRequest) =>
      store.transact((data) => {
        const network = createNetwork(data, request, context.prefix);
        recordOwner(data, "network", request.name, context);
        return network;
      }),
    get: (name: string) =>
      store.transact((data) => {
        const network = data.networks[name];
        if (network === undefined) throw notFound("network", name);
        return network;
      }),
    list: () => store.transact((data) => sorted(data.networks)),
    delete: (name: string, force: boolean) =>
      store.transact((data) => {
        if (data.networks[name] === undefined) throw notFound("network", name);
        if (force) {
          delete data.networks[name];
          forgetOwner(data, "network", name);
          return;
        }
        const vm = Object.values(data.vms).find((v) => vmNetworks(v).includes(name));
        if (vm !== undefined) throw busy("network", name, `vm "${vm.name}"`);
        const child = Object.values(data.networks).find((n) => (n.providerState as NetworkProviderState | undefined)?.attachTo === name);
        if (child !== undefined) throw busy("network", name, `network "${child.name}" (attachTo)`);
        delete data.networks[name];
        forgetOwner(data, "network", name);
      }),
  };

  const vms = {
    create: async (request: VMCreateRequest) => {
      const consoleLog = consoleLogOf(request.name);
      const vm = await store.transact((data) => {
        const created = createVM(data, request, config, consoleLog);
        recordOwner(data, "vm", request.name, context);
        return created;
      });
      const hangs = (config.readinessFails ?? []).some((pattern) => nameMatches(pattern, request.name));
      if (consoleLog !== undefined) writeConsoleLog(consoleLog, request.name, hangs);
      if (hangs) {
        throw new ProviderError("TIMEOUT", `readiness of ${request.name} timed out (stub readinessFails)${consoleLog === undefined ? "" : `; console log: ${consoleLog}`}`, {
          ...(consoleLog === undefined ? {} : { details: { consoleLog } }),
        });
      }
      return vm;
    },
    get: (name: string) =>
      store.transact((data) => {
        const vm = data.vms[name];
        if (vm === undefined) throw notFound("vm", name);
        return vm;
      }),
    list: () => store.transact((data) => sorted(data.vms)),
    delete: (name: string) =>
      store.transact((data) => {
        if (data.vms[name] === undefined) throw notFound("vm", name);
        delete data.vms[name];
        forgetOwner(data, "vm", name);
        dropSnapshotsOf(data, name);
        const consoleLog = consoleLogOf(name);
        if (consoleLog !== undefined) rmSync(consoleLog, { force: true });
      }),
    // Power changes only flip the status: the stub has no guest to wait for, so waitReady changes nothing.
    start: (request: VMStartRequest) =>
      store.transact((data) => {
        const vm = data.vms[request.name];
        if (vm === undefined) throw notFound("vm", request.name);
        vm.status = "running";
        return vm;
      }),
    stop: (request: VMStopRequest) =>
      store.transact((data): VMState => {
        const vm = data.vms[request.name];
        if (vm === undefined) throw notFound("vm", request.name);
        const stopMethod: StopMethod =
          vm.status === "stopped" ? "already-stopped" : request.force || (config.ignoreShutdown ?? []).some((pattern) => nameMatches(pattern, vm.name)) ? "forced" : "graceful";
        vm.status = "stopped";
        return { ...vm, stopMethod };
      }),
  };

  const deleters = { vm: vms.delete, network: networks.delete, key: keys.delete };
  return {
    capabilities: stubCapabilities,
    keys,
    networks,
    vms,
    snapshots: createStubSnapshots(store),
    owned: () => store.transact(ownedObjects),
    // Everything in the store is the stub's own: reclaim is its delete, once the object is known to be there.
    reclaim: async (request) => {
      const kind = reclaimKind(request);
      await store.transact((data) => requireStored(data, kind, request.name));
      await deleters[kind](request.name, false);
    },
  };
}

function createNetwork(data: StubData, request: NetworkCreateRequest, prefix: string | undefined): NetworkState {
  const { name, spec } = request;
  if (name in data.networks) throw alreadyExists("network", name);
  const kind = request.kind.toLowerCase();
  if (!(STUB_NETWORK_KINDS as readonly string[]).includes(kind)) {
    throw invalidSpec(`kind: unsupported network kind: ${request.kind} (supported: ${STUB_NETWORK_KINDS.join(", ")})`);
  }
  if (spec.attachTo !== undefined) {
    if (spec.attachTo === name) throw invalidSpec(`spec.attachTo: network "${name}" cannot attach to itself`);
    // attachTo may name a host bridge; only names of this environment must be networks we made.
    if (prefix !== undefined && spec.attachTo.startsWith(prefix) && data.networks[spec.attachTo] === undefined) {
      throw new ProviderError("NOT_FOUND", `network "${spec.attachTo}" (attachTo of network "${name}") not found; create it first`, {
        details: { network: spec.attachTo },
      });
    }
  }
  const cidr = spec.cidr ?? defaultCidr(data, name);
  const subnet = parseCidr(cidr, "spec.cidr");
  const gateway = gatewayOf(subnet, spec.gateway);
  const pool = poolOf(subnet, gateway, spec.dhcp ?? undefined);
  const providerState: NetworkProviderState = {
    poolFirst: formatIPv4(pool.first),
    poolLast: formatIPv4(pool.last),
    ...(spec.attachTo !== undefined ? { attachTo: spec.attachTo } : {}),
  };
  const state: NetworkState = {
    name,
    kind,
    status: "ready",
    ip: formatIPv4(gateway),
    cidr,
    gateway: formatIPv4(gateway),
    interfaceName: `stbr${hashInt(`network/${name}`).toString(16).padStart(8, "0")}`,
    uuid: stableUuid(`network/${name}`),
    createdAt: new Date().toISOString(),
    providerState: providerState as unknown as Record<string, unknown>,
  };
  data.networks[name] = state;
  return state;
}

/** A /24 in 192.168.100-199.x not used by another network, chosen from the name. */
function defaultCidr(data: StubData, name: string): string {
  const base = parseIPv4(DEFAULT_POOL_BASE) ?? 0;
  const used = new Set(Object.values(data.networks).map((n) => parseCidrQuiet(n.cidr)?.network));
  const slot = allocate(`cidr/${name}`, { first: 0, last: 99 }, new Set([...used].flatMap((network) => (network === undefined ? [] : [(network - base) / 256]))));
  if (slot === undefined) throw new ProviderError("PROVIDER_ERROR", `no free default subnet for network "${name}"; give it a spec.cidr`);
  return `${formatIPv4(base + slot * 256)}/24`;
}

function parseCidrQuiet(cidr: string | undefined): Subnet | undefined {
  if (cidr === undefined) return undefined;
  try {
    return parseCidr(cidr, "cidr");
  } catch {
    return undefined;
  }
}

/** The gateway if given, else the host part of the CIDR, else the first host. */
function gatewayOf(subnet: Subnet, gateway: string | undefined): number {
  const range = hostRange(subnet);
  if (gateway !== undefined) {
    const address = parseIPv4(gateway);
    if (address === undefined) throw invalidSpec(`spec.gateway: "${gateway}" is not an IPv4 address`);
    if (address < range.first || address > range.last) throw invalidSpec(`spec.gateway: ${gateway} is not a host address of ${formatIPv4(subnet.network)}/${subnet.prefix}`);
    return address;
  }
  return subnet.given >= range.first && subnet.given <= range.last ? subnet.given : range.first;
}

function poolOf(subnet: Subnet, gateway: number, dhcp: { rangeStart?: string | undefined; rangeEnd?: string | undefined } | undefined): { first: number; last: number } {
  const hosts = hostRange(subnet);
  if (dhcp?.rangeStart === undefined || dhcp.rangeEnd === undefined) return hosts;
  const first = parseIPv4(dhcp.rangeStart);
  const last = parseIPv4(dhcp.rangeEnd);
  if (first === undefined || !contains(subnet, first)) throw invalidSpec(`spec.dhcp.rangeStart: ${dhcp.rangeStart} is not inside ${formatIPv4(subnet.network)}/${subnet.prefix}`);
  if (last === undefined || !contains(subnet, last)) throw invalidSpec(`spec.dhcp.rangeEnd: ${dhcp.rangeEnd} is not inside ${formatIPv4(subnet.network)}/${subnet.prefix}`);
  if (last < first) throw invalidSpec(`spec.dhcp: rangeEnd ${dhcp.rangeEnd} is before rangeStart ${dhcp.rangeStart}`);
  if (first === gateway && last === gateway) throw invalidSpec(`spec.dhcp: the range holds only the gateway ${formatIPv4(gateway)}`);
  return { first: Math.max(first, hosts.first), last: Math.min(last, hosts.last) };
}

/** What a guest prints on its serial console; one that never becomes ready stops short of a login prompt. */
function writeConsoleLog(path: string, name: string, hangs: boolean): void {
  const boot = [`[    0.000000] Linux version 6.1.0-stub (${name})`, "[    0.420000] Run /init as init process", "Starting OpenBSD Secure Shell server..."];
  const end = hangs ? ["[   12.000000] cloud-init: waiting for network: no carrier", "[   42.000000] stub: readiness never came"] : [`${name} login: `];
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${[...boot, ...end].join("\r\n")}\r\n`);
}

function createVM(data: StubData, request: VMCreateRequest, config: StubConfig, consoleLog: string | undefined): VMState {
  const { name, spec } = request;
  if (name in data.vms) throw alreadyExists("vm", name);
  if (spec.boot.secureBoot === true && spec.boot.firmware !== "uefi") throw invalidSpec("spec.boot.secureBoot needs firmware uefi");
  const attached = spec.networks.length > 0 ? spec.networks : spec.network !== undefined ? [spec.network] : [];
  for (const network of attached) {
    if (data.networks[network] === undefined) {
      throw new ProviderError("NOT_FOUND", `network "${network}" (used by vm "${name}") not found; create it first`, { details: { network } });
    }
  }
  const takenMacs = new Set(Object.values(data.vms).flatMap((vm) => Object.values(vm.macs ?? {})));
  const ips: Record<string, string> = {};
  const macs: Record<string, string> = {};
  for (const network of attached) {
    const state = data.networks[network] as NetworkState;
    ips[network] = allocateAddress(data, name, network, networkPool(state), parseIPv4(state.gateway ?? "") ?? -1);
    macs[network] = allocateMac(`mac/${name}/${network}`, takenMacs);
    takenMacs.add(macs[network]);
  }
  const firstNetwork = attached[0];
  const primaryIp = firstNetwork !== undefined ? ips[firstNetwork] : detachedAddress(data, name);
  const primaryMac = firstNetwork !== undefined ? macs[firstNetwork] : allocateMac(`mac/${name}`, takenMacs);

  const user = config.sshEndpoint?.user ?? spec.readiness?.ssh?.user ?? spec.cloudInit?.users?.[0]?.name ?? "root";
  const ip = config.sshEndpoint?.host ?? primaryIp ?? "";
  const port = config.sshEndpoint?.port;
  const authorized = keysForUsers(data, spec.cloudInit?.users ?? []);
  const privateKey = spec.readiness?.ssh?.privateKey ?? authorized[0]?.privateKeyPath;
  const sshCommand = ["ssh", ...(privateKey !== undefined ? ["-i", privateKey] : []), ...(port !== undefined && port !== 22 ? ["-p", String(port)] : []), `${user}@${ip}`].join(" ");

  const state: VMState = {
    name,
    status: "running",
    ip,
    ...(primaryMac !== undefined ? { mac: primaryMac } : {}),
    ips,
    macs,
    uuid: stableUuid(`vm/${name}`),
    sshCommand,
    sshUser: user,
    ...(port !== undefined ? { sshPort: port } : {}),
    ...(consoleLog !== undefined ? { consoleOutput: consoleLog } : {}),
    createdAt: new Date().toISOString(),
    providerState: {
      networks: attached,
      memory: spec.memory,
      vcpus: spec.vcpus,
      boot: spec.boot,
      ...(spec.readiness ? { readiness: spec.readiness } : {}),
      ...(authorized.length > 0 ? { keys: authorized.map((key) => key.name) } : {}),
      ...(primaryIp !== undefined && primaryIp !== ip ? { networkIp: primaryIp } : {}),
    },
  };
  data.vms[name] = state;
  return state;
}

/** A host address of `network` that is not its gateway and not held by another VM on it. */
function allocateAddress(data: StubData, vm: string, network: string, pool: { first: number; last: number }, gateway: number): string {
  const taken = new Set<number>([gateway]);
  for (const other of Object.values(data.vms)) {
    const address = parseIPv4(other.ips?.[network] ?? "");
    if (address !== undefined) taken.add(address);
  }
  const address = allocate(`ip/${vm}/${network}`, pool, taken);
  if (address === undefined) {
    throw new ProviderError("PROVIDER_ERROR", `network "${network}" has no free address left for vm "${vm}"; use a larger cidr or DHCP range`);
  }
  return formatIPv4(address);
}

function detachedAddress(data: StubData, vm: string): string {
  const subnet = parseCidr(DETACHED_SUBNET, "cidr");
  const taken = new Set<number>([subnet.network + 1]);
  for (const other of Object.values(data.vms)) {
    if (vmNetworks(other).length > 0) continue;
    const address = parseIPv4((other.providerState?.networkIp as string | undefined) ?? other.ip ?? "");
    if (address !== undefined) taken.add(address);
  }
  const address = allocate(`ip/${vm}`, hostRange(subnet), taken);
  if (address === undefined) throw new ProviderError("PROVIDER_ERROR", `no free address left for vm "${vm}"`);
  return formatIPv4(address);
}

/** The stub keys whose public key a cloud-init user authorizes, in store order. */
function keysForUsers(data: StubData, users: ReadonlyArray<{ sshAuthorizedKeys?: string[] | undefined }>): KeyState[] {
  const authorized = new Set(users.flatMap((u) => u.sshAuthorizedKeys ?? []).map((k) => k.trim()));
  return Object.values(data.keys).filter((key) => authorized.has(key.publicKey.trim()));
}
