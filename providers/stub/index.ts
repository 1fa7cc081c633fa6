import type { ProviderContext, ProviderImplementation } from "../kit/index.js";
import { readStubConfig } from "./config.js";
import { stubDiscovery } from "./discovery.js";
import { withFaults } from "./faults.js";
import { FileStore, MemoryStore } from "./store.js";
import { createStub } from "./stub.js";

export { StubConfig, readStubConfig } from "./config.js";
export { createStub, stubCapabilities, STUB_KEY_TYPES, STUB_NETWORK_KINDS } from "./stub.js";
export { FileStore, MemoryStore } from "./store.js";
export type { StubData, StubStore } from "./store.js";
export { withFaults } from "./faults.js";

/** The stub as its bin runs it: config from the context, file or memory store, faults applied. */
export function createStubProvider(context: ProviderContext): ProviderImplementation {
  const config = readStubConfig(context);
  // Inspecting (doctor, plan) must not create or lock the store file: it sees an empty store of its own.
  const store = config.store !== undefined && context.inspectOnly !== true ? new FileStore(config.store) : new MemoryStore();
  return withFaults({ ...createStub({ config, store, context }), ...stubDiscovery(config, store) }, config);
}
