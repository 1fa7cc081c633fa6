import { afterAll, beforeAll } from "vitest";

/**
 * Something a test file or describe block starts once before its first test and stops after its last.
 * Returns its getter, which throws when called before that (while vitest collects the tests, nothing exists yet).
 */
export function startedForSuite<T>(what: string, start: () => Promise<T>, stop: (started: T | undefined) => Promise<void>): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(() => stop(started));
  return () => {
    if (started === undefined) throw new Error(`${what} starts in beforeAll: use it inside a test or a hook`);
    return started;
  };
}
