export { DEFAULT_STATE_DIR, STATE_DIR_ENV, resolveStateDir, validateTestID } from "./paths.js";
export type { StateDirOptions } from "./paths.js";
export { DEFAULT_LOCK_WAIT_MS, StateStore } from "./store.js";
export type { StateListEntry, StateStoreOptions } from "./store.js";
export { createStateWriter } from "./writer.js";
export type { StateWriter } from "./writer.js";
