export { ProviderClient, defaultCallTimeoutMs, supportsIn } from "./client.js";
export type { ProviderClientOptions, SupportDetail } from "./client.js";
export { ProviderManager } from "./manager.js";
export type { ProviderManagerOptions, SupportRequirement } from "./manager.js";
export { OWN_PROVIDER_BINS, resolveEngine } from "./resolve.js";
export type { ResolvedEngine } from "./resolve.js";
export { decodeToolResult } from "./decode.js";
export { providerEnvironment } from "./env.js";
