import { isTestenvError } from "../errors.js";
import { UsageError } from "./args.js";

/** Process exit codes of the CLI (docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** The operation failed: create rolled back (or kept, on request) / delete left resources, listed. */
  failed: 1,
  usage: 2,
  /** The spec or input is invalid; nothing was created. */
  invalid: 3,
  notFound: 4,
  /** Another process holds the environment's lock. */
  busy: 5,
  /** Interrupted (Ctrl+C): what was being created was rolled back. 128 + SIGINT, as shells report it. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const INVALID_CODES = new Set(["SPEC_INVALID", "SPEC_NOT_FOUND", "INPUT_INVALID", "TEMPLATE_ERROR", "DEPENDENCY_CYCLE", "STATE_CONFLICT", "PLAN_STALE"]);

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.usage;
  if (!isTestenvError(error)) return EXIT.failed;
  if (INVALID_CODES.has(error.code)) return EXIT.invalid;
  // A provider that cannot serve a kind is found before anything is created: the spec asks for too much.
  if (error.code === "NOT_IMPLEMENTED" && error.details.failures === undefined) return EXIT.invalid;
  if (error.code === "STATE_NOT_FOUND") return EXIT.notFound;
  if (error.code === "STATE_LOCKED") return EXIT.busy;
  if (error.code === "CANCELLED") return EXIT.interrupted;
  return EXIT.failed;
}
