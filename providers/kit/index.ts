export { ProviderError, alreadyExists, busy, invalidSpec, notFound } from "./errors.js";
export { callTool, createProviderServer, describeZodError, encodeResult, TOOL_DEFINITIONS } from "./server.js";
export type { ProviderImplementation, ProviderServer, ProviderServerTransport, ProviderToolResult, ResourceHandlers, VMHandlers } from "./server.js";
export { applyListFilter, checkListFilter, matchesListFilter } from "./filter.js";
export { PROVIDER_ENV, ProviderConfigError, parseProviderConfig, readProviderContext } from "./context.js";
export type { ProviderContext } from "./context.js";
export { runProviderMain } from "./main.js";
export type { ProviderMainOptions } from "./main.js";
