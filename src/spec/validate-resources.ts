import type { KeyResource, NetworkResource, Spec, VMResource } from "../../api/spec.js";
import {
  cidrProblem,
  diskSizeProblem,
  durationProblem,
  ipv4Problem,
  leaseTimeProblem,
  macProblem,
  parseCidr,
  RESOURCE_MAXIMUMS,
  parseIPv4,
  type Ipv4Cidr,
} from "./literals.js";
import { isWellKnownImageRef } from "./images.js";
import { quoted } from "../errors.js";
import type { FieldPath } from "./paths.js";
import { isBlank, isLiteral, type Report } from "./report.js";
import { closestMatch, suggestionSuffix } from "./suggest.js";

// Checks of one key, network or VM. Phase 1 runs them on the spec as written (templated strings are
// skipped); Phase 2 runs them again on the rendered resource, where every string is final.

export type Phase = "early" | "late";

export interface ResourceCheckContext {
  spec: Spec;
  phase: Phase;
  /** Isolation prefix; lets Phase 2 accept provider-level network names `<prefix>-<logical>`. */
  prefix?: string;
}

const KEY_TYPES = ["ed25519", "rsa", "ecdsa"] as const;
const ECDSA_BITS = [256, 384, 521];

export function checkKey(report: Report, at: FieldPath, key: KeyResource): void {
  const type = key.spec.type;
  if (!isLiteral(type)) return;
  const lower = type.toLowerCase();
  if (!(KEY_TYPES as readonly string[]).includes(lower)) {
    report.add([...at, "spec", "type"], `key type ${quoted(type)} is not supported; allowed: ${KEY_TYPES.join(", ")} (case-insensitive)`);
    return;
  }
  const bits = key.spec.bits;
  if (bits === undefined) return;
  const bitsPath = [...at, "spec", "bits"];
  if (lower === "rsa" && (bits < 2048 || bits > 8192)) report.add(bitsPath, `rsa keys need 2048 to 8192 bits; got ${bits}`);
  if (lower === "ecdsa" && !ECDSA_BITS.includes(bits)) report.add(bitsPath, `ecdsa keys need 256, 384 or 521 bits; got ${bits}`);
  if (lower === "ed25519") report.add(bitsPath, `ed25519 keys have a fixed size; remove bits (got ${bits})`);
}

const networkNames = (spec: Spec): string[] => (spec.networks ?? []).map((network) => network.name);

/** The logical network a rendered VM network value stands for: the name itself or `<prefix>-<name>`. */
export function logicalNetworkName(value: string, spec: Spec, prefix?: string): string | undefined {
  const names = networkNames(spec);
  if (names.includes(value)) return value;
  if (prefix !== undefined) {
    return value.startsWith(`${prefix}-`) && names.includes(value.slice(prefix.length + 1)) ? value.slice(prefix.length + 1) : undefined;
  }
  // Without the prefix at hand, accept the shapes the isolation prefix takes (6 to 8 hex digits).
  const match = /^[0-9a-f]{6,8}-(.+)$/.exec(value);
  return match?.[1] !== undefined && names.includes(match[1]) ? match[1] : undefined;
}

function checkDhcp(report: Report, at: FieldPath, network: NetworkResource, cidr: Ipv4Cidr | undefined): void {
  const dhcp = network.spec.dhcp;
  if (dhcp == null) return;
  const dhcpPath = [...at, "spec", "dhcp"];
  const cidrText = network.spec.cidr;
  if (dhcp.enabled !== false && (cidrText === undefined || isBlank(cidrText))) {
    report.add([...at, "spec", "cidr"], "cidr is required when DHCP is enabled (e.g. 192.168.100.1/24)");
  }
  const inNetwork = (value: string) => ipv4Problem(value, cidr, cidrText);
  report.check([...dhcpPath, "rangeStart"], dhcp.rangeStart, inNetwork);
  report.check([...dhcpPath, "rangeEnd"], dhcp.rangeEnd, inNetwork);
  report.check([...dhcpPath, "router"], dhcp.router, inNetwork);
  report.check([...dhcpPath, "nextServer"], dhcp.nextServer, (value) => ipv4Problem(value));
  report.check([...dhcpPath, "leaseTime"], dhcp.leaseTime, leaseTimeProblem);
  const start = isLiteral(dhcp.rangeStart) ? parseIPv4(dhcp.rangeStart) : undefined;
  const end = isLiteral(dhcp.rangeEnd) ? parseIPv4(dhcp.rangeEnd) : undefined;
  if (start !== undefined && end !== undefined && start > end) {
    report.add([...dhcpPath, "rangeEnd"], `rangeEnd ${dhcp.rangeEnd} comes before rangeStart ${dhcp.rangeStart}`);
  }
  dhcp.dnsServers?.forEach((server, index) => report.check([...dhcpPath, "dnsServers", index], server, (value) => ipv4Problem(value)));
  dhcp.staticLeases?.forEach((lease, index) => {
    report.check([...dhcpPath, "staticLeases", index, "mac"], lease.mac, macProblem);
    report.check([...dhcpPath, "staticLeases", index, "ip"], lease.ip, inNetwork);
  });
}

/** A network needs room for its gateway and at least one guest: /31 and /32 have none. */
function networkCidrProblem(text: string): string | undefined {
  const problem = cidrProblem(text);
  if (problem !== undefined) return problem;
  const prefix = parseCidr(text)?.prefix ?? 0;
  return prefix > 30 ? `${quoted(text)} leaves no address for a guest beside the gateway; use a /30 or larger (e.g. /24)` : undefined;
}

const EXTERNAL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function checkNetwork(report: Report, at: FieldPath, network: NetworkResource, context: ResourceCheckContext): void {
  const spec = network.spec;
  if (network.external !== undefined) {
    if (!EXTERNAL_NAME.test(network.external)) {
      report.add([...at, "external"], `external must be the name of an existing network or bridge (letters, digits, _ . : -, at most 64); got ${quoted(network.external)}`);
    }
    const set = Object.keys(spec).filter((key) => spec[key as keyof typeof spec] !== undefined);
    if (set.length > 0) {
      report.add([...at, "spec"], `an external network is used as it is: remove ${set.join(", ")} from its spec (testenv-vm never changes a network it did not create)`);
    }
    return;
  }
  if (network.kind.trim() === "") report.add([...at, "kind"], "kind is empty; use bridge, libvirt or dnsmasq (or nat / isolated)");
  report.check([...at, "spec", "cidr"], spec.cidr, networkCidrProblem);
  const cidr = isLiteral(spec.cidr) ? parseCidr(spec.cidr) : undefined;
  report.check([...at, "spec", "gateway"], spec.gateway, (value) => ipv4Problem(value, cidr, spec.cidr));
  if (spec.mtu !== undefined && (spec.mtu < 68 || spec.mtu > 65535)) report.add([...at, "spec", "mtu"], `mtu must be between 68 and 65535; got ${spec.mtu}`);
  if (spec.forwardMode === "bridge" && (spec.attachTo === undefined || isBlank(spec.attachTo))) {
    report.add([...at, "spec", "attachTo"], "forwardMode bridge needs attachTo: the bridge (or network) to attach to");
  }
  checkAttachTo(report, [...at, "spec", "attachTo"], network, context);
  checkOneDhcpServer(report, at, network, context);
  checkDhcp(report, at, network, cidr);
  spec.dns?.servers?.forEach((server, index) => report.check([...at, "spec", "dns", "servers", index], server, (value) => ipv4Problem(value)));
  spec.dns?.hosts?.forEach((host, index) => report.check([...at, "spec", "dns", "hosts", index, "ip"], host.ip, (value) => ipv4Problem(value)));
  if (spec.tftp != null && isBlank(spec.tftp.root)) report.add([...at, "spec", "tftp", "root"], "tftp root is empty; give the directory to serve");
}

function checkAttachTo(report: Report, path: FieldPath, network: NetworkResource, context: ResourceCheckContext): void {
  const attachTo = network.spec.attachTo;
  if (!isLiteral(attachTo) || attachTo === "") return;
  if (attachTo === network.name) {
    report.add(path, `network ${quoted(network.name)} cannot attach to itself`);
    return;
  }
  // A rendered attachTo may name a host bridge or a provider-level interface: anything but itself.
  if (context.phase === "late") return;
  const names = networkNames(context.spec).filter((name) => name !== network.name);
  if (!names.includes(attachTo)) {
    report.add(path, `attachTo names network ${quoted(attachTo)}, which is not defined${suggestionSuffix(attachTo, names, "networks", true)}`);
  }
}

const servesDhcp = (network: NetworkResource): boolean => network.spec.dhcp != null && network.spec.dhcp.enabled !== false;

/**
 * Two networks with DHCP on one bridge would be two DHCP servers answering the same guests (a dnsmasq network, or the
 * companion dnsmasq of a libvirt network attached to the bridge): the later one in the spec is refused.
 */
function checkOneDhcpServer(report: Report, at: FieldPath, network: NetworkResource, context: ResourceCheckContext): void {
  const attachTo = network.spec.attachTo;
  if (!isLiteral(attachTo) || attachTo === "" || !servesDhcp(network)) return;
  const networks = context.spec.networks ?? [];
  const index = networks.findIndex((other) => other.name === network.name);
  const earlier = networks.slice(0, index).find((other) => other.spec.attachTo === attachTo && servesDhcp(other));
  if (earlier === undefined) return;
  report.add(
    [...at, "spec", "dhcp"],
    `network ${quoted(network.name)} would be a second DHCP server on bridge ${quoted(attachTo)}: network ${quoted(earlier.name)} serves DHCP there already; keep dhcp on one of them (its ranges and static leases can hold both)`,
  );
}

/** `networks` if non-empty, else `[network]` if set, else []. */
export function vmNetworkNames(vm: VMResource): string[] {
  if (vm.spec.networks !== undefined && vm.spec.networks.length > 0) return vm.spec.networks;
  return vm.spec.network !== undefined ? [vm.spec.network] : [];
}

function checkVmNetworks(report: Report, at: FieldPath, vm: VMResource, context: ResourceCheckContext): void {
  const names = networkNames(context.spec);
  const useList = vm.spec.networks !== undefined && vm.spec.networks.length > 0;
  const seen = new Map<string, number>();
  vmNetworkNames(vm).forEach((value, index) => {
    const path = useList ? [...at, "spec", "networks", index] : [...at, "spec", "network"];
    if (!isLiteral(value)) return;
    const first = seen.get(value);
    if (first !== undefined) {
      report.add(path, `network ${quoted(value)} is listed twice (also networks[${first}]); a VM gets one interface per network`);
      return;
    }
    seen.set(value, index);
    const known = context.phase === "early" ? names.includes(value) : logicalNetworkName(value, context.spec, context.prefix) !== undefined;
    if (known) return;
    const what = context.phase === "early" ? `network ${quoted(value)} is not defined` : `rendered network ${quoted(value)} is not a network of this spec`;
    report.add(path, `${what}${suggestionSuffix(value, names, "networks", true)}`);
  });
}

/** fixedIPs: each key a network the VM attaches that is an external network, each value an IPv4 address. */
function checkFixedIPs(report: Report, at: FieldPath, vm: VMResource, context: ResourceCheckContext): void {
  const attached = vmNetworkNames(vm).map((value) => (context.phase === "early" ? value : logicalNetworkName(value, context.spec, context.prefix) ?? value));
  for (const [network, ip] of Object.entries(vm.spec.fixedIPs ?? {})) {
    const path = [...at, "spec", "fixedIPs", network];
    report.check(path, ip, ipv4Problem);
    if (!isLiteral(network)) continue;
    if (!attached.includes(network)) {
      report.add(path, `network ${JSON.stringify(network)} is not one this VM attaches; use a name from spec.networks${suggestionSuffix(network, attached, "attached networks", true)}`);
      continue;
    }
    const resource = context.spec.networks?.find((candidate) => candidate.name === network);
    if (resource !== undefined && resource.external === undefined) {
      report.add(path, `${JSON.stringify(network)} is created by this spec; give the address as a DHCP static lease there (networks[].spec.dhcp.staticLeases)`);
    }
  }
}

const URL_LIKE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;

/** Every name an image can be referred to by: its name and its alias. */
export function imageNamesAndAliases(spec: Spec): string[] {
  return (spec.images ?? []).flatMap((image) => [image.name, ...(image.spec.alias === undefined ? [] : [image.spec.alias])]);
}

/** A base image is an image name or alias from `images`, or a path to a disk image file. */
export function baseImageProblem(value: string, spec: Spec): string | undefined {
  const images = imageNamesAndAliases(spec);
  if (value === "" || images.includes(value)) return undefined;
  if (URL_LIKE.test(value) && !value.startsWith("file://")) {
    return `${quoted(value)} is a URL; declare it under images (source and sha256) and use the image name here`;
  }
  if (isWellKnownImageRef(value) || /^[a-zA-Z][\w.-]*:[\w.-]+$/.test(value)) {
    return `${quoted(value)} is an image source, not an image; declare images: [{ name: x, spec: { source: ${quoted(value)} } }] and use the name here`;
  }
  const typo = value.includes("/") ? undefined : closestMatch(value, images);
  if (typo !== undefined) return `${quoted(value)} is neither an image name nor a path; did you mean image \`${typo}\`?`;
  return undefined;
}

function checkCloudInit(report: Report, at: FieldPath, vm: VMResource): void {
  const cloudInit = vm.spec.cloudInit;
  if (cloudInit === undefined) return;
  const base = [...at, "spec", "cloudInit"];
  cloudInit.users?.forEach((user, index) => {
    if (user.name.trim() === "") report.add([...base, "users", index, "name"], "user name is empty");
  });
  cloudInit.writeFiles?.forEach((file, index) => {
    report.check([...base, "writeFiles", index, "path"], file.path, (value) =>
      value.startsWith("/") ? undefined : `${quoted(value)} must be an absolute path in the guest`,
    );
    report.check([...base, "writeFiles", index, "permissions"], file.permissions, (value) =>
      /^0?[0-7]{3}$/.test(value) ? undefined : `${quoted(value)} is not an octal mode (expected e.g. '0644')`,
    );
  });
  cloudInit.networkConfig?.ethernets?.forEach((ethernet, index) => {
    const path = [...base, "networkConfig", "ethernets", index];
    report.check([...path, "macAddress"], ethernet.macAddress, macProblem);
    ethernet.addresses?.forEach((address, i) => report.check([...path, "addresses", i], address, cidrProblem));
    report.check([...path, "gateway4"], ethernet.gateway4, (value) => ipv4Problem(value));
    ethernet.nameservers?.addresses?.forEach((address, i) => report.check([...path, "nameservers", "addresses", i], address, (value) => ipv4Problem(value)));
  });
}

function checkReadiness(report: Report, at: FieldPath, vm: VMResource): void {
  const readiness = vm.spec.readiness;
  if (readiness === undefined) return;
  const base = [...at, "spec", "readiness"];
  report.check([...base, "ssh", "timeout"], readiness.ssh?.timeout, durationProblem);
  report.check([...base, "tcp", "timeout"], readiness.tcp?.timeout, durationProblem);
  report.check([...base, "cloudInit", "timeout"], readiness.cloudInit?.timeout, durationProblem);
  if (readiness.cloudInit?.enabled === true && readiness.ssh?.enabled !== true) {
    report.add([...base, "cloudInit", "enabled"], "cloud-init readiness is checked over SSH; enable readiness.ssh too");
  }
}

export function checkVM(report: Report, at: FieldPath, vm: VMResource, context: ResourceCheckContext): void {
  const spec = vm.spec;
  if (!(Number.isInteger(spec.memory) && spec.memory > 0)) report.add([...at, "spec", "memory"], `memory must be a positive number of MiB; got ${spec.memory}`);
  else if (spec.memory > RESOURCE_MAXIMUMS.memoryMiB) report.add([...at, "spec", "memory"], `memory ${spec.memory} MiB is more than the limit of ${RESOURCE_MAXIMUMS.memoryMiB} MiB (16 TiB); memory is in MiB, e.g. 2048`);
  if (!(Number.isInteger(spec.vcpus) && spec.vcpus > 0)) report.add([...at, "spec", "vcpus"], `vcpus must be a positive integer; got ${spec.vcpus}`);
  else if (spec.vcpus > RESOURCE_MAXIMUMS.vcpus) report.add([...at, "spec", "vcpus"], `vcpus ${spec.vcpus} is more than the limit of ${RESOURCE_MAXIMUMS.vcpus}`);
  checkVmNetworks(report, at, vm, context);
  checkFixedIPs(report, at, vm, context);
  if (spec.disk === undefined && spec.container === undefined) {
    report.add([...at, "spec", "disk"], "a VM needs a disk (size, and baseImage unless it boots from the network); only a container (spec.container) has none");
  }
  if (spec.disk !== undefined) {
    report.check([...at, "spec", "disk", "size"], spec.disk.size, diskSizeProblem);
    report.check([...at, "spec", "disk", "baseImage"], spec.disk.baseImage, (value) => baseImageProblem(value, context.spec));
  }
  if (spec.boot?.secureBoot === true && spec.boot.firmware !== "uefi") {
    report.add([...at, "spec", "boot", "secureBoot"], "secure boot needs firmware: uefi");
  }
  checkCloudInit(report, at, vm);
  checkReadiness(report, at, vm);
}
