import { z } from "zod";

// The user-facing spec (forge.yaml `testenv[].spec`). This file is the single source of truth:
// spec.openapi.yaml and docs/schema.md are generated from it (npm run generate) and a test fails on drift.
// Objects are strict so that a typo is an error, not a silently ignored field.

const str = (description: string) => z.string().describe(description);
const freeMap = (description: string) => z.record(z.string(), z.unknown()).describe(description);
const positiveInt = (description: string) => z.number().int().positive().describe(description);

export const ProviderConfig = z
  .strictObject({
    name: str("Provider name that resources reference through `provider`."),
    engine: str(
      "How to start the provider: an executable path, a bare command name (PATH or this package's own provider bins), or a go:// URI.",
    ),
    default: z.boolean().optional().describe("Use this provider for resources that name none. A single provider is the default anyway."),
    spec: freeMap("Provider configuration, sent to the provider process (TESTENV_VM_PROVIDER_CONFIG).").optional(),
  })
  .describe("A provider process that creates resources.");
export type ProviderConfig = z.infer<typeof ProviderConfig>;

export const ImageCustomize = z
  .strictObject({
    packages: z.array(z.string()).optional().describe("Packages to install into the image."),
    runcmd: z.array(z.string()).optional().describe("Commands to run inside the image."),
  })
  .describe("Changes baked into a cached overlay of the image.");

export const ImageSpec = z.strictObject({
  source: str("A well-known reference (ubuntu:24.04, debian:12), an https:// URL (needs sha256), a local path or a file:// URL."),
  sha256: str("Expected SHA-256 of the downloaded file, hex.").optional(),
  alias: str("Another name for this image in templates and baseImage.").optional(),
  customize: ImageCustomize.nullable().optional().describe("Build a customized overlay once and cache it."),
}).describe("Where the image comes from.");

export const ImageResource = z.strictObject({
  name: str("Image name, used in templates as {{ .Images.<name>.Path }}."),
  spec: ImageSpec,
}).describe("A disk image VMs can boot from.");
export type ImageResource = z.infer<typeof ImageResource>;

export const KeyType = z.enum(["ed25519", "rsa", "ecdsa"]);
export type KeyType = z.infer<typeof KeyType>;

export const KeySpec = z.strictObject({
  type: str("Key type: ed25519, rsa or ecdsa (case-insensitive)."),
  bits: positiveInt("Key size: rsa 2048-8192 (default 4096); ecdsa 256, 384 or 521 (default 256).").optional(),
  comment: str("Comment appended to the public key.").optional(),
  outputDir: str("Directory for the key files; default <artifactDir>/keys.").optional(),
}).describe("How to generate the SSH key pair.");

export const KeyResource = z.strictObject({
  name: str("Key name, used in templates as {{ .Keys.<name>.PublicKey }}."),
  provider: str("Provider that creates the key; default: the default provider.").optional(),
  spec: KeySpec,
  providerSpec: freeMap("Provider-specific options, passed through unchanged.").optional(),
}).describe("An SSH key pair.");
export type KeyResource = z.infer<typeof KeyResource>;

export const StaticLease = z.strictObject({
  mac: str("MAC address, aa:bb:cc:dd:ee:ff."),
  ip: str("IPv4 address to hand out for this MAC."),
  hostname: str("Hostname for this lease.").optional(),
}).describe("A fixed DHCP lease.");

export const DhcpSpec = z.strictObject({
  enabled: z.boolean().optional().describe("Serve DHCP (default true when the dhcp block is present)."),
  rangeStart: str("First address of the DHCP pool.").optional(),
  rangeEnd: str("Last address of the DHCP pool.").optional(),
  leaseTime: str("Lease time, e.g. 1h or 600 (seconds).").optional(),
  router: str("Default gateway handed to clients (default: the network gateway).").optional(),
  dnsServers: z.array(z.string()).optional().describe("DNS servers handed to clients."),
  domain: str("DNS domain handed to clients.").optional(),
  nextServer: str("TFTP next-server address (default: the network gateway).").optional(),
  staticLeases: z.array(StaticLease).optional().describe("Fixed MAC to IP assignments."),
}).describe("DHCP service on the network (dnsmasq); needs cidr.");

export const DnsHost = z.strictObject({ hostname: str("Host name."), ip: str("IPv4 address.") }).describe("A static DNS record.");

export const DnsSpec = z.strictObject({
  enabled: z.boolean().optional().describe("Serve DNS (default true when the dns block is present)."),
  servers: z.array(z.string()).optional().describe("Upstream DNS servers."),
  hosts: z.array(DnsHost).optional().describe("Static host records."),
  domain: str("Local DNS domain.").optional(),
}).describe("DNS service on the network.");

export const TftpSpec = z.strictObject({
  enabled: z.boolean().optional().describe("Serve TFTP (default true when the tftp block is present)."),
  root: str("Directory served over TFTP."),
  bootFile: str("Boot file for BIOS PXE clients, relative to root.").optional(),
  bootFileEfi: str("Boot file for UEFI PXE clients, relative to root.").optional(),
  ipxeScript: str("iPXE script (relative to root or an http URL) chained when the client is already iPXE.").optional(),
}).describe("TFTP service for PXE boot.");

export const ForwardMode = z.enum(["nat", "route", "isolated", "bridge"]);

export const NetworkSpec = z.strictObject({
  cidr: str(
    "Network address and prefix, e.g. 192.168.100.1/24 (the host part is the gateway when no gateway is given). " +
      "The third octet is per environment: subnet isolation moves each distinct /24 (or smaller) of the spec to a third octet " +
      "reserved for the environment (192.168.100.1/24 may become 192.168.57.1/24), and rewrites gateways, DHCP ranges, leases and " +
      "DNS records with it, so parallel environments never share a subnet. Read the real addresses from templates " +
      "({{ .Networks.<name>.IP }}, {{ .VMs.<name>.IP }}), the artifact's TESTENV_VM_<VM>_IP and TESTENV_NETWORK_<NET>_IP variables, or vm.host in testenv-vm/client.",
  ).optional(),
  gateway: str("Host-side address of the network.").optional(),
  attachTo: str("Bridge this network attaches to (a network name in this spec, or a template).").optional(),
  mtu: positiveInt("Interface MTU.").optional(),
  forwardMode: ForwardMode.optional().describe("libvirt networks: nat (default), route, isolated or bridge (needs attachTo)."),
  dhcp: DhcpSpec.nullable().optional().describe("Serve DHCP on this network."),
  dns: DnsSpec.nullable().optional().describe("Serve DNS on this network."),
  tftp: TftpSpec.nullable().optional().describe("Serve TFTP (PXE) on this network."),
}).describe("Addressing and services of the network.");

export const NetworkResource = z.strictObject({
  name: str("Network name, used in templates as {{ .Networks.<name>.IP }}."),
  kind: str("bridge, libvirt or dnsmasq (nat and isolated: libvirt networks with that forward mode)."),
  provider: str("Provider that creates the network; default: the default provider.").optional(),
  external: str(
    "The real name of an existing network or host bridge (e.g. libvirt's `default`, `br0`) that this environment " +
      "attaches to but never creates, changes or deletes. Its spec stays empty; its name is not prefixed.",
  ).optional(),
  spec: NetworkSpec,
  providerSpec: freeMap("Provider-specific options, passed through unchanged.").optional(),
}).describe("A network.");
export type NetworkResource = z.infer<typeof NetworkResource>;

export const BootDevice = z.enum(["hd", "network", "cdrom"]);
export const Firmware = z.enum(["bios", "uefi"]);

export const UserSpec = z.strictObject({
  name: str("User name."),
  sudo: str("sudoers rule, e.g. ALL=(ALL) NOPASSWD:ALL.").optional(),
  shell: str("Login shell.").optional(),
  homeDir: str("Home directory.").optional(),
  groups: z.array(z.string()).optional().describe("Supplementary groups."),
  sshAuthorizedKeys: z.array(z.string()).optional().describe("Public keys allowed to log in."),
}).describe("A user created by cloud-init.");

export const WriteFile = z.strictObject({
  path: str("Absolute path in the guest."),
  content: z.string().describe("File content."),
  permissions: str("Octal mode, e.g. '0644'.").optional(),
  owner: str("owner:group.").optional(),
}).describe("A file written by cloud-init.");

export const Ethernet = z.strictObject({
  name: str("Interface name or glob (eth0, en*)."),
  macAddress: str("Match the interface by MAC instead of name.").optional(),
  dhcp4: z.boolean().optional().describe("Use DHCPv4."),
  addresses: z.array(z.string()).optional().describe("Static addresses in CIDR form."),
  gateway4: str("IPv4 default gateway.").optional(),
  nameservers: z
    .strictObject({ addresses: z.array(z.string()).optional().describe("DNS server addresses.") })
    .optional()
    .describe("DNS servers for this interface."),
}).describe("Guest network interface configuration (netplan v2 style).");

export const CloudInitSpec = z.strictObject({
  hostname: str("Guest hostname.").optional(),
  users: z.array(UserSpec).optional().describe("Users to create."),
  packages: z.array(z.string()).optional().describe("Packages to install on first boot."),
  runcmd: z.array(z.string()).optional().describe("Commands run once on first boot."),
  writeFiles: z.array(WriteFile).optional().describe("Files to write on first boot."),
  networkConfig: z
    .strictObject({ ethernets: z.array(Ethernet).optional().describe("Interfaces to configure.") })
    .optional()
    .describe("Guest network configuration; default DHCP on every NIC."),
}).describe("First-boot configuration of the guest (cloud-init NoCloud).");

export const Duration = z.string().describe("Duration such as 90s, 3m or 1h.");

export const ReadinessSpec = z.strictObject({
  ssh: z
    .strictObject({
      enabled: z.boolean().describe("Wait until SSH login with the key works."),
      timeout: Duration.optional().describe("How long to wait, e.g. 90s, 3m or 1m30s; default 3m."),
      user: str("SSH user (default: the first cloud-init user).").optional(),
      privateKey: str("Path to the private key (usually {{ .Keys.<name>.PrivateKeyPath }}).").optional(),
    })
    .optional()
    .describe("Wait for SSH login."),
  tcp: z
    .strictObject({
      port: z.number().int().min(1).max(65535).describe("TCP port that must accept connections."),
      timeout: Duration.optional().describe("How long to wait, e.g. 90s, 3m or 1m30s; default 3m."),
    })
    .optional()
    .describe("Wait for a TCP port."),
  cloudInit: z
    .strictObject({
      enabled: z.boolean().describe("Wait until cloud-init has finished."),
      timeout: Duration.optional().describe("How long to wait, e.g. 5m or 1h; default 10m."),
    })
    .optional()
    .describe("Wait for cloud-init to finish (checked over SSH)."),
  exec: z
    .strictObject({
      command: z.array(z.string()).min(1).describe("Command (argv) run inside the container; ready when it exits 0."),
      timeout: Duration.optional().describe("How long to wait, e.g. 90s or 3m; default 3m."),
    })
    .optional()
    .describe("Wait until a command inside the container succeeds (container providers)."),
}).describe("What must work before the VM counts as created.");

export const ContainerPort = z.strictObject({
  containerPort: z.number().int().min(1).max(65535).describe("Port inside the container."),
  hostPort: z.number().int().min(1).max(65535).describe("Port on the host (in the provider's network namespace)."),
  hostIP: str("Host address to bind, default 127.0.0.1.").optional(),
  protocol: z.enum(["tcp", "udp"]).optional().describe("tcp (default) or udp."),
}).describe("A published port.");

export const ContainerSpec = z.strictObject({
  image: str(
    "Image: a local image name (localhost/name:tag), an OCI archive path (oci-archive:/path.tar or a .tar path), or a registry reference " +
      "(pulled where a registry is reachable). Default: the provider's own sshd + python3 + sudo Debian image.",
  ).optional(),
  ip: str("Fixed IPv4 address on the first network (which needs a cidr).").optional(),
  ports: z.array(ContainerPort).optional().describe("Ports published on the host."),
  env: z.record(z.string(), z.string()).optional().describe("Environment variables of the container's process."),
  command: z.array(z.string()).optional().describe("Command to run instead of the image's CMD."),
  init: z.boolean().optional().describe("Run a tiny init as PID 1 that reaps zombies (podman --init)."),
}).describe("Container-only settings: only a container provider (podman) supports this block.");

export const VMSpec = z.strictObject({
  memory: positiveInt("Memory in MiB."),
  vcpus: positiveInt("Number of virtual CPUs."),
  network: str("Network to attach (deprecated: use networks).").optional(),
  networks: z.array(z.string()).optional().describe("Networks to attach, one NIC each, in order (wins over network)."),
  fixedIPs: z
    .record(z.string(), z.string())
    .optional()
    .describe(
      "A fixed IPv4 address per attached network, e.g. {lan: 192.168.122.50}. Only for `external` libvirt networks with DHCP: " +
        "the provider reserves the address for this VM's NIC (a DHCP host entry) and removes the reservation on delete. " +
        "Never rewritten by subnet isolation. For networks this spec creates use the network's dhcp.staticLeases; on a host bridge " +
        "configure the address in the guest (cloudInit.networkConfig).",
    ),
  disk: z.strictObject({
    baseImage: str("Base image path or image name/alias; empty for a blank disk (PXE). Default: defaultBaseImage.").optional(),
    size: str("Disk size such as 10G, 512M."),
  }).optional().describe("Root disk: a copy-on-write overlay of the base image. Required by machine providers (libvirt); containers have none."),
  container: ContainerSpec.optional().describe("Run this VM as a container (podman provider)."),
  boot: z
    .strictObject({
      order: z.array(BootDevice).optional().describe("Boot order (default [hd])."),
      firmware: Firmware.optional().describe("bios (default) or uefi."),
      secureBoot: z.boolean().optional().describe("UEFI secure boot (default off)."),
      tpm: z.boolean().optional().describe("Add an emulated TPM 2.0."),
    })
    .optional()
    .describe("Firmware and boot order."),
  cloudInit: CloudInitSpec.optional().describe("First-boot configuration."),
  readiness: ReadinessSpec.optional().describe("Readiness checks; none by default."),
}).describe("Size, disks, networks and first boot of the VM.");

export const VMResource = z.strictObject({
  name: str("VM name, used in templates as {{ .VMs.<name>.IP }}."),
  provider: str("Provider that creates the VM; default: the default provider.").optional(),
  spec: VMSpec,
  providerSpec: freeMap("Provider-specific options, passed through unchanged.").optional(),
}).describe("A virtual machine.");
export type VMResource = z.infer<typeof VMResource>;

export const Spec = z
  .strictObject({
    providers: z
      .array(ProviderConfig)
      .optional()
      .describe(
        "Provider processes; at least one. Required unless pickProvider is true (then omit it and `provider:` on resources).",
      ),
    keys: z.array(KeyResource).optional().describe("SSH key pairs."),
    networks: z.array(NetworkResource).optional().describe("Networks (bridges, libvirt networks, dnsmasq servers)."),
    vms: z.array(VMResource).optional().describe("Virtual machines."),
    images: z.array(ImageResource).optional().describe("Base images, downloaded and cached once."),
    defaultProvider: str("Provider for resources that name none.").optional(),
    pickProvider: z
      .boolean()
      .optional()
      .describe(
        "true: list no providers; testenv-vm picks the best healthy provider that serves everything the spec uses " +
          "(docs/discovery.md; order: TESTENV_VM_PROVIDER_PREFERENCE).",
      ),
    defaultBaseImage: str("Base image for VMs that give none (path, image name or alias).").optional(),
    stateDir: str("Where state files live; TESTENV_VM_STATE_DIR wins. Default .forge/testenv-vm.").optional(),
    artifactDir: str("Where keys, console logs and provider logs go. Default <tmpDir>/<testID>.").optional(),
    imageCacheDir: str("Image cache directory; default TESTENV_VM_IMAGE_CACHE_DIR, then ~/.cache/testenv-vm/images.").optional(),
    cleanupOnFailure: z.boolean().optional().describe("Roll back what was created when create fails (default true)."),
    concurrency: positiveInt("Resources created at once within a phase (default 8).").optional(),
    envPropagation: freeMap("Forge's env propagation settings; Forge leaves them in the spec, testenv-vm ignores them.").optional(),
  })
  .describe("A testenv-vm environment.");
export type Spec = z.infer<typeof Spec>;

export type ResourceKind = "key" | "network" | "vm";
export const RESOURCE_KINDS: readonly ResourceKind[] = ["key", "network", "vm"];
