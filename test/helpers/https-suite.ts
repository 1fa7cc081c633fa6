import { beforeEach } from "vitest";
import { startedForSuite } from "./hooks.js";
import { startServer, type TestServer } from "./https-server.js";

/**
 * One HTTPS test server for the calling test file: started before its first test, closed after its last, and
 * its hit log emptied before each test. The returned server forwards to it, so use it inside tests and hooks.
 */
export function useHttpsServer(): TestServer {
  const current = startedForSuite("the HTTPS test server", () => startServer(), async (server) => server?.close());
  beforeEach(() => {
    current().hits.length = 0;
  });
  return {
    get origin() {
      return current().origin;
    },
    get ca() {
      return current().ca;
    },
    get hits() {
      return current().hits;
    },
    route: (path, route) => current().route(path, route),
    hitsFor: (path) => current().hitsFor(path),
    close: () => current().close(),
  };
}
