export { writeFileAtomic } from "./atomic-file.js";
export { DEFAULT_LOCK_STALE_MS, acquireFileLock, isFileLocked } from "./lock.js";
export type { FileLockOptions, ReleaseLock } from "./lock.js";
export { DEFAULT_STATE_DIR, STATE_DIR_ENV, resolveStateDir, validateTestID } from "./paths.js";
export type { StateDirOptions } from "./paths.js";
export { DEFAULT_LOCK_WAIT_MS, StateStore } from "./store.js";
export type { StateListEntry, StateStoreOptions } from "./store.js";
export { createStateWriter } from "./writer.js";
export type { StateWriter } from "./writer.js";
