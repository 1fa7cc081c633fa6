import type { RecordedOwner } from "../data-dir.js";
import { el, renderXml, type XmlElement } from "../xml.js";
import { networkMetadataElement } from "./metadata.js";
import type { NetworkPlan } from "./plan.js";

export const DNSMASQ_NS = "http://libvirt.org/schemas/network/dnsmasq/1.0";

export interface LibvirtNetworkInput {
  name: string;
  plan: NetworkPlan;
  /** Bridge libvirt creates (nat/route/isolated), or the existing one it attaches to (forward bridge). */
  bridge: string;
  /** The environment that makes it, written into <metadata> (none: no metadata, as for a foreign network). */
  owner?: RecordedOwner;
}

function metadataOf(input: LibvirtNetworkInput): XmlElement | undefined {
  const owner = input.owner;
  if (owner === undefined || (owner.testID === undefined && owner.prefix === undefined)) return undefined;
  return networkMetadataElement({ version: 1, name: input.name, ...owner });
}

function dhcpElement(plan: NetworkPlan): XmlElement | undefined {
  const dhcp = plan.dhcp;
  if (!dhcp) return undefined;
  const lease = dhcp.leaseSeconds === undefined ? undefined : el("lease", { expiry: Math.ceil(dhcp.leaseSeconds / 60), unit: "minutes" });
  const boot = plan.tftp?.bootFile ?? plan.tftp?.bootFileEfi;
  return el(
    "dhcp",
    {},
    el("range", { start: dhcp.start, end: dhcp.end }, lease),
    ...dhcp.hosts.map((host) => el("host", { mac: host.mac, ip: host.ip, name: host.hostname })),
    boot ? el("bootp", { file: boot, server: dhcp.nextServer }) : undefined,
  );
}

function dnsElement(plan: NetworkPlan): XmlElement | undefined {
  const dns = plan.dns;
  if (!dns) return undefined;
  return el(
    "dns",
    {},
    ...dns.servers.map((server) => el("forwarder", { addr: server })),
    ...dns.hosts.map((host) => el("host", { ip: host.ip }, el("hostname", {}, host.hostname))),
  );
}

/** dnsmasq options libvirt has no element for: no-ping (saves ~3 s per fresh lease), DHCP router/DNS, EFI boot file. */
function dnsmasqOptions(plan: NetworkPlan): string[] {
  const options = ["no-ping"];
  const dhcp = plan.dhcp;
  if (dhcp?.router) options.push(`dhcp-option=option:router,${dhcp.router}`);
  if (dhcp && dhcp.dnsServers.length > 0) options.push(`dhcp-option=option:dns-server,${dhcp.dnsServers.join(",")}`);
  if (dhcp?.domain) options.push(`dhcp-option=option:domain-name,${dhcp.domain}`);
  const tftp = plan.tftp;
  if (tftp && dhcp) {
    if (tftp.bootFileEfi && tftp.bootFile) {
      options.push("dhcp-match=set:efi64,option:client-arch,7", "dhcp-match=set:efi64,option:client-arch,9");
      options.push(`dhcp-boot=tag:efi64,${tftp.bootFileEfi},,${dhcp.nextServer}`);
    }
    if (tftp.ipxeScript) {
      options.push("dhcp-match=set:ipxe,175", `dhcp-boot=tag:ipxe,${tftp.ipxeScript},,${dhcp.nextServer}`, "dhcp-option=encap:175,176,1b");
    }
  }
  return options;
}

export function libvirtNetworkXml(input: LibvirtNetworkInput): string {
  const { plan } = input;
  if (plan.forwardMode === "bridge") {
    // libvirt only plugs guests into the existing bridge; addresses and DHCP are someone else's job.
    return renderXml(el("network", {}, el("name", {}, input.name), metadataOf(input), el("forward", { mode: "bridge" }), el("bridge", { name: input.bridge })));
  }
  const ip = plan.ip;
  const forward = plan.forwardMode === "nat" ? el("forward", { mode: "nat" }) : plan.forwardMode === "route" ? el("forward", { mode: "route" }) : undefined;
  const options = dnsmasqOptions(plan);
  return renderXml(
    el(
      "network",
      { "xmlns:dnsmasq": DNSMASQ_NS },
      el("name", {}, input.name),
      metadataOf(input),
      forward,
      el("bridge", { name: input.bridge, stp: "off", delay: 0 }),
      plan.mtu ? el("mtu", { size: plan.mtu }) : undefined,
      plan.dns?.domain ? el("domain", { name: plan.dns.domain, localOnly: "yes" }) : undefined,
      dnsElement(plan),
      ip
        ? el(
            "ip",
            { address: ip.gateway, netmask: ip.netmask },
            plan.tftp ? el("tftp", { root: plan.tftp.root }) : undefined,
            dhcpElement(plan),
          )
        : undefined,
      el("dnsmasq:options", {}, ...options.map((value) => el("dnsmasq:option", { value }))),
    ),
  );
}

/** Reads the few facts get/list report from `virsh net-dumpxml` output. */
export function parseNetworkXml(xml: string): { uuid?: string; bridge?: string; address?: string; netmask?: string; prefix?: number; forward?: string } {
  const attr = (tag: string, name: string): string | undefined =>
    new RegExp(`<${tag}\\b[^>]*\\b${name}=['"]([^'"]*)['"]`).exec(xml)?.[1];
  const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1];
  const prefix = attr("ip", "prefix");
  const result: ReturnType<typeof parseNetworkXml> = {};
  if (uuid) result.uuid = uuid;
  const bridge = attr("bridge", "name");
  if (bridge) result.bridge = bridge;
  const address = attr("ip", "address");
  if (address) result.address = address;
  const netmask = attr("ip", "netmask");
  if (netmask) result.netmask = netmask;
  if (prefix) result.prefix = Number(prefix);
  const forward = attr("forward", "mode");
  if (forward) result.forward = forward;
  return result;
}
