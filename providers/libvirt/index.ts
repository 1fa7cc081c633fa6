export { createLibvirtProvider, capabilities } from "./provider.js";
export type { LibvirtProviderOptions } from "./provider.js";
export { LibvirtProviderConfig } from "./config.js";
export type { LibvirtBackend } from "./backend.js";
