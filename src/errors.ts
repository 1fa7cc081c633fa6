import type { ProviderErrorCode } from "../api/errors.js";

/**
 * Stable codes for errors raised by testenv-vm itself. Provider error codes (NOT_FOUND, TIMEOUT, ...)
 * are part of the same union so that a provider's code reaches the user unchanged.
 */
export type TestenvErrorCode =
  | ProviderErrorCode
  | "SPEC_INVALID"
  | "SPEC_NOT_FOUND"
  | "INPUT_INVALID"
  | "TEMPLATE_ERROR"
  | "DEPENDENCY_CYCLE"
  | "STATE_NOT_FOUND"
  | "STATE_CORRUPT"
  | "STATE_LOCKED"
  | "STATE_CONFLICT"
  | "PROVIDER_SPAWN_FAILED"
  | "PROVIDER_CRASHED"
  | "CREATE_FAILED"
  | "DELETE_INCOMPLETE"
  | "IMAGE_ERROR"
  | "SSH_ERROR"
  | "EXEC_FAILED"
  | "FILE_TRANSFER_FAILED"
  | "PROVISION_FAILED"
  | "CANCELLED"
  | "PLAN_STALE"
  | "PLACEMENT_FAILED"
  | "INTERNAL";

export interface Issue {
  /** Dotted field path, e.g. `vms[0].spec.memory`; `spec` for the whole document. */
  field: string;
  message: string;
  /** 1-based position in the YAML source, when the spec came from YAML. */
  line?: number;
  col?: number;
}

export interface TestenvErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
  issues?: Issue[];
  retryable?: boolean;
}

export class TestenvError extends Error {
  override name = "TestenvError";
  readonly code: TestenvErrorCode;
  readonly details: Record<string, unknown>;
  readonly issues: Issue[];
  readonly retryable: boolean;

  constructor(code: TestenvErrorCode, message: string, options: TestenvErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.issues = options.issues ?? [];
    this.retryable = options.retryable ?? false;
  }
}

export function isTestenvError(error: unknown): error is TestenvError {
  return error instanceof TestenvError;
}

/** Renders issues one per line as `field (line:col): message`. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues
    .map((issue) => {
      const where = issue.line === undefined ? "" : ` (line ${issue.line}:${issue.col ?? 1})`;
      return `${issue.field}${where}: ${issue.message}`;
    })
    .join("\n");
}

/** The longest piece of a user's value an error message repeats; longer values are cut, so errors never amplify input. */
export const ECHO_MAX_CHARS = 80;

/** A user value as an error message quotes it: JSON-quoted, cut to ECHO_MAX_CHARS with its full length said. */
export function quoted(value: string, max = ECHO_MAX_CHARS): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
