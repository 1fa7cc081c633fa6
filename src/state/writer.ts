import type { EnvironmentState } from "../../api/state.js";

/** Where the writer saves to: the StateStore, or a double in tests. */
export interface StateSaver {
  save(state: EnvironmentState): Promise<void>;
}

export interface StateWriter {
  /** Resolves once a save that includes every change made before this call has completed. */
  write(): Promise<void>;
}

/**
 * Serialises the saves of one environment. Resources of a phase finish in parallel; each asks for a write, and
 * while one save is in flight all further requests share a single follow-up save instead of queueing N of them.
 * `snapshot` is read when a save starts, so the follow-up carries every change made up to then.
 */
export function createStateWriter(store: StateSaver, snapshot: () => EnvironmentState): StateWriter {
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
