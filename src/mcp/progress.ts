import type { ServerNotification } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../lib/log.js";
import type { ProgressEvent } from "../orchestrator/progress.js";

type SendNotification = (notification: ServerNotification) => Promise<void>;

/**
 * Turns orchestrator events into `notifications/progress` for a request that carried a progressToken.
 * `progress` counts events so it only ever grows, as the protocol requires. `total` is sent only with
 * the final phase event: the number of resources per phase is not known up front, and a guessed total
 * would show 100% too early.
 */
export function progressReporter(
  progressToken: string | number | undefined,
  send: SendNotification,
  log: Logger,
): ((event: ProgressEvent) => void) | undefined {
  if (progressToken === undefined) return undefined;
  let progress = 0;
  return (event) => {
    progress += 1;
    const finished = event.kind === "phase" && event.status === "done" && event.phase !== undefined && event.phase === event.totalPhases;
    // Phase events already say "phase k/n"; resource events get it as a prefix so each line stands alone.
    const where = event.kind !== "phase" && event.phase !== undefined && event.totalPhases !== undefined ? `[phase ${event.phase}/${event.totalPhases}] ` : "";
    send({
      method: "notifications/progress",
      params: { progressToken, progress, ...(finished ? { total: progress } : {}), message: `${where}${event.message}` },
    }).catch((error: unknown) => {
      log.debug(`progress notification not delivered: ${error instanceof Error ? error.message : String(error)}`);
    });
  };
}

/**
 * For operations with no steps of their own (a command, a transfer): one progress event per second while `run` is
 * pending, so that a client shows it is alive and can reset its request timeout.
 */
export async function withHeartbeat<T>(onProgress: ((event: ProgressEvent) => void) | undefined, what: string, run: Promise<T>): Promise<T> {
  if (!onProgress) return run;
  const started = Date.now();
  const timer = setInterval(() => {
    onProgress({ kind: "info", status: "start", message: `${what}: running for ${Math.round((Date.now() - started) / 1000)} s` });
  }, 1_000);
  try {
    return await run;
  } finally {
    clearInterval(timer);
  }
}
