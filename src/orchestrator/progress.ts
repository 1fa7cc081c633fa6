/** What create and delete report while they run: to the CLI on a TTY, and as MCP progress notifications. */
export interface ProgressEvent {
  kind: "phase" | "resource" | "rollback" | "delete" | "info";
  status: "start" | "done" | "failed" | "skipped";
  message: string;
  phase?: number;
  totalPhases?: number;
  resource?: { kind: string; name: string };
  durationMs?: number;
}

export type ProgressListener = (event: ProgressEvent) => void;

export function safeEmit(listener: ProgressListener | undefined, event: ProgressEvent): void {
  if (!listener) return;
  try {
    listener(event);
  } catch {
    // A failing progress sink must never fail the operation it reports on.
  }
}
