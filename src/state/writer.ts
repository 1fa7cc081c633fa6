import type { EnvironmentState } from "../../api/state.js";
import type { StateStore } from "./store.js";

export interface StateWriter {
  /** Resolves once a save that includes every change made before this call has completed. */
  write(): Promise<void>;
}

/**
 * Serialises the saves of one environment. Resources of a phase finish in parallel; each asks for a write, and
 * while one save is in flight all further requests share a single follow-up save instead of queueing N of them.
 * `snapshot` is read when a save starts, so the follow-up carries every change made up to then.
 */
export function createStateWriter(store: Pick<StateStore, "save">, snapshot: () => EnvironmentState): StateWriter {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  const start = (): Promise<void> => {
    const save = (async () => store.save(snapshot()))();
    running = save;
    const settle = (): void => {
      if (running === save) running = undefined;
    };
    save.then(settle, settle);
    return save;
  };

  return {
    write(): Promise<void> {
      if (running === undefined) return start();
      queued ??= running
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => {
          queued = undefined;
          return start();
        });
      return queued;
    },
  };
}
