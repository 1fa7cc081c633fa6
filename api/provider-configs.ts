import type { z } from "zod";
import { LibvirtProviderConfig } from "./libvirt-config.js";
import { PodmanProviderConfig } from "./podman-config.js";
import { StubConfig } from "./stub-config.js";

export { ExitOn, Fault, StubConfig } from "./stub-config.js";
export { LibvirtProviderConfig } from "./libvirt-config.js";
export { PodmanProviderConfig } from "./podman-config.js";

/**
 * The config schema (providers[].spec) of each provider this package ships, by its engine name. The engine checks a
 * spec against it before any provider starts; the provider parses the same schema again when it starts.
 */
export const BUNDLED_PROVIDER_CONFIGS: Readonly<Record<string, z.ZodType>> = {
  "testenv-vm-provider-libvirt": LibvirtProviderConfig,
  "testenv-vm-provider-podman": PodmanProviderConfig,
  "testenv-vm-provider-stub": StubConfig,
};
