export { buildBaseImage, capabilities, createPodmanProvider, VM_FEATURES } from "./provider.js";
export type { PodmanProviderOptions } from "./provider.js";
export { PodmanProviderConfig } from "./config.js";
