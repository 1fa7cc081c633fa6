export { ProviderClient, defaultCallTimeoutMs, supportsIn } from "./client.js";
export type { ProviderClientOptions, SupportDetail } from "./client.js";
export { ProviderManager } from "./manager.js";
export type { ProviderManagerOptions, SupportRequirement } from "./manager.js";
export { resolveEngine } from "./resolve.js";
export { PROVIDER_BIN_PREFIX, bundledProviderBins, providerNameOfBin } from "./bundled.js";
export type { ResolvedEngine } from "./resolve.js";
export { decodeToolResult } from "./decode.js";
export { providerEnvironment } from "./env.js";
