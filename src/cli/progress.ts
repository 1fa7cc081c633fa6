import type { ProgressEvent } from "../orchestrator/progress.js";
import { booleanFlag } from "./args.js";
import type { CommandContext } from "./command.js";

/**
 * Human progress on stderr: a banner per phase, one line per resource with its duration.
 * Colour only on a TTY; plain lines elsewhere so CI logs stay readable.
 */
export function progressPrinter(stream: NodeJS.WriteStream): (event: ProgressEvent) => void {
  const colour = stream.isTTY === true && process.env.NO_COLOR === undefined;
  const paint = (code: number, text: string): string => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const started = new Map<string, number>();
  const key = (event: ProgressEvent): string => `${event.kind}:${event.resource?.kind ?? ""}:${event.resource?.name ?? ""}`;
  const duration = (event: ProgressEvent): string => {
    const ms = event.durationMs ?? (started.has(key(event)) ? Date.now() - started.get(key(event))! : undefined);
    if (ms === undefined) return "";
    return paint(2, ms < 1000 ? ` (${ms} ms)` : ` (${(ms / 1000).toFixed(1)} s)`);
  };
  return (event) => {
    if (event.status === "start") started.set(key(event), Date.now());
    if (event.kind === "phase") {
      if (event.status === "start") stream.write(`${paint(1, `== ${event.message}`)}\n`);
      else if (event.status === "failed") stream.write(`${paint(31, `!! ${event.message}`)}\n`);
      return;
    }
    if (event.status === "start") {
      // Image downloads report progress repeatedly as "start": show them, other starts stay quiet.
      if (event.kind === "info") stream.write(`   ${paint(2, event.message)}\n`);
      return;
    }
    const mark = { done: paint(32, "ok  "), failed: paint(31, "FAIL"), skipped: paint(33, "skip") }[event.status];
    stream.write(`   ${mark} ${event.message}${duration(event)}\n`);
  };
}

/** The printer for a command's progress, unless --quiet. */
export function progressFor(context: CommandContext): ((event: ProgressEvent) => void) | undefined {
  return booleanFlag(context.args.flags, "quiet") ? undefined : progressPrinter(context.stderr);
}
